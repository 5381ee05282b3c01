// What every kernel file includes: SIMD intrinsics, integer helpers, and the register-tile macros
// (multiply-accumulate, store) that the direct and Winograd kernels share.
#pragma once
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))
// Small loops (over a tile's rows, over a few vectors) run unrolled: their arrays then live in registers.
#define UNROLL _Pragma("clang loop unroll(full)")

static int min_i(int a, int b) { return a < b ? a : b; }
static int max_i(int a, int b) { return a > b ? a : b; }
// ⌈a / b⌉ for b > 0 and any a.
static int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
// ⌊a / b⌋ for b > 0 and any a.
static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
// The sum of the 4 floats at p + k·stride over k < parts.
INLINE v128_t part_sum(const float *p, int parts, int stride) {
  v128_t t = wasm_v128_load(p);
  for (int k = 1; k < parts; k++) t = wasm_f32x4_add(t, wasm_v128_load(p + k * stride));
  return t;
}

// Work shared by the threads of one job is handed out a unit at a time: each thread claims the next
// unit from a counter they share (start it at 0), so that a thread that runs slower takes fewer
// (the shared build's counter is atomic).
INLINE int claim(int *next) { return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED); }

// a += s · g, four lanes: one fused multiply-add with relaxed SIMD, else a multiply and an add.
#ifdef RELAXED_FMA
#define MAC(a, s, g) a = (v128_t)__builtin_wasm_fma_f32x4((__f32x4)(s), (__f32x4)(g), (__f32x4)(a))
#else
#define MAC(a, s, g) a = wasm_f32x4_add(a, wasm_f32x4_mul(s, g))
#endif

// The step of every register tile below: accumulators a<j><v> (row j < ROWS, ROWS 1 or 4; vector
// v < NV) += SRC(j), a value splatted to 4 lanes, times g0 (and g1).
#define MAC_ROWS(ROWS, SRC)                  \
  do {                                       \
    v128_t s = SRC(0);                       \
    MAC(a00, s, g0);                         \
    if (NV == 2) MAC(a01, s, g1);            \
    if ((ROWS) == 4) {                       \
      s = SRC(1);                            \
      MAC(a10, s, g0);                       \
      if (NV == 2) MAC(a11, s, g1);          \
      s = SRC(2);                            \
      MAC(a20, s, g0);                       \
      if (NV == 2) MAC(a21, s, g1);          \
      s = SRC(3);                            \
      MAC(a30, s, g0);                       \
      if (NV == 2) MAC(a31, s, g1);          \
    }                                        \
  } while (0)

// Write the tile back: STORE(address, accumulator) for rows j < ROWS (1 to 4) at p + j·step.
#define STORE_ROWS(ROWS, STORE, p, step)                  \
  do {                                                    \
    STORE(p, a00);                                        \
    if (NV == 2) STORE(p + 4, a01);                       \
    if ((ROWS) > 1) {                                     \
      STORE(p + (step), a10);                             \
      if (NV == 2) STORE(p + (step) + 4, a11);            \
    }                                                     \
    if ((ROWS) > 2) {                                     \
      STORE(p + 2 * (step), a20);                         \
      if (NV == 2) STORE(p + 2 * (step) + 4, a21);        \
    }                                                     \
    if ((ROWS) > 3) {                                     \
      STORE(p + 3 * (step), a30);                         \
      if (NV == 2) STORE(p + 3 * (step) + 4, a31);        \
    }                                                     \
  } while (0)
#define ADD_TO(p, a) wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), a))
