// Elementwise passes over whole tensors that XNNPACK runs on one thread: ReLU, the sum of two
// tensors of one shape (a block's F(x) + x, a gradient reaching a layer by two paths), ReLU's
// gradient, and the optimiser's step.
// Each runs on floats [i0, i1) (multiples of 4, but for the end of the tensor), so threads split one
// tensor; every float is the one tfjs computes (one IEEE operation, the same one), but that ReLU
// gives +0 for −0 (WebAssembly's max).
#include "common.h"

// y = max(x, 0) (b unused).
__attribute__((export_name("relu")))
void relu(const float *x, const float *b, float *y, int i0, int i1) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  int i = i0;
  for (; i + 4 <= i1; i += 4) wasm_v128_store(y + i, wasm_f32x4_max(wasm_v128_load(x + i), zero));
  for (; i < i1; i++) y[i] = __builtin_wasm_max_f32(x[i], 0.f); // as the lanes above (NaN stays NaN)
}

// y = a + b.
__attribute__((export_name("add_same")))
void add_same(const float *a, const float *b, float *y, int i0, int i1) {
  int i = i0;
  for (; i + 4 <= i1; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < i1; i++) y[i] = a[i] + b[i];
}

// ReLU's gradient from its output: dx = dy · [y > 0], as tfjs's dy · step(y) (so a negative dy
// where y = 0 gives −0, as there).
__attribute__((export_name("relu_grad")))
void relu_grad(const float *dy, const float *y, float *dx, int i0, int i1) {
  const v128_t zero = wasm_f32x4_splat(0.f), one = wasm_f32x4_splat(1.f);
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v128_t step = wasm_v128_and(wasm_f32x4_gt(wasm_v128_load(y + i), zero), one);
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < i1; i++) dx[i] = dy[i] * (y[i] > 0.f ? 1.f : 0.f);
}

// One step of SGD with momentum (lib/train/sgd.ts) on floats [i0, i1) of a variable, each operation
// a float32 one, in tfjs's order (no fused multiply-add): g' = g + w · decay (where decay != 0),
// v' = v · momentum + g' (v' = g' where v is 0: the first step), w' = w − v' · lr. p: [lr, momentum,
// decay].
__attribute__((export_name("sgd_step")))
void sgd_step(const float *w, const float *g, const float *v, const float *p, float *w_out, float *v_out, int i0,
              int i1) {
  const float lr = p[0], momentum = p[1], decay = p[2];
  const v128_t lr4 = wasm_f32x4_splat(lr), m4 = wasm_f32x4_splat(momentum), d4 = wasm_f32x4_splat(decay);
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v128_t w4 = wasm_v128_load(w + i);
    v128_t g4 = wasm_v128_load(g + i);
    if (decay != 0.f) g4 = wasm_f32x4_add(g4, wasm_f32x4_mul(w4, d4));
    const v128_t nv = v ? wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), m4), g4) : g4;
    wasm_v128_store(v_out + i, nv);
    wasm_v128_store(w_out + i, wasm_f32x4_sub(w4, wasm_f32x4_mul(nv, lr4)));
  }
  for (; i < i1; i++) {
    const float gi = decay != 0.f ? g[i] + w[i] * decay : g[i];
    const float nv = v ? v[i] * momentum + gi : gi;
    v_out[i] = nv;
    w_out[i] = w[i] - nv * lr;
  }
}
