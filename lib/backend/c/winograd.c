// Winograd kernels for 3×3 convolutions of stride 1: the filter gradient by F(3×3, 2×2), and the
// register tile of the matrix products that the forward (winograd4.c) runs on.
#include "common.h"

// Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, 2016, "Fast Algorithms for Convolutional
// Neural Networks") for 3×3 convolutions of stride 1: a 2×2 output tile is
//   Y = Aᵀ [U ⊙ V] A,  U = G g Gᵀ (g the 3×3 filter),  V = Bᵀ d B (d the tile's 4×4 input patch)
// for each pair of channels, 16 multiplies instead of 36. Summed over channels, the 16 elementwise
// products become 16 matrix products, one per entry ξ of the 4×4 transforms. The filter gradient
// below is its transpose; the forward takes F(4×4, 3×3) (winograd4.c).
//
// The planes of V and of M (one per ξ) lie 16 floats further apart than their size: at a
// power-of-two distance, 16 streams would fall on the same cache sets.
#define PLANE(floats) ((floats) + 16)

// V = Bᵀ d B of a 4×4 patch d (Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]): D(a, c) gives entry
// (a, c) of d, PUT_V(ξ, value) takes entry ξ = 4·a + c of V. First Bᵀ d column by column (rows
// d0 − d2, d1 + d2, d2 − d1, d1 − d3), then each row of it times B (the same on its columns).
#define BT_COLUMN(D, c, e0, e1, e2, e3)                                  \
  do {                                                                   \
    const v128_t d0 = D(0, c), d1 = D(1, c), d2 = D(2, c), d3 = D(3, c); \
    e0 = wasm_f32x4_sub(d0, d2), e1 = wasm_f32x4_add(d1, d2);            \
    e2 = wasm_f32x4_sub(d2, d1), e3 = wasm_f32x4_sub(d1, d3);            \
  } while (0)
#define BT_ROW(PUT_V, a, t0, t1, t2, t3)         \
  do {                                           \
    PUT_V(4 * (a), wasm_f32x4_sub(t0, t2));     \
    PUT_V(4 * (a) + 1, wasm_f32x4_add(t1, t2)); \
    PUT_V(4 * (a) + 2, wasm_f32x4_sub(t2, t1)); \
    PUT_V(4 * (a) + 3, wasm_f32x4_sub(t1, t3)); \
  } while (0)
#define WINOGRAD_BT(D, PUT_V)                                                                         \
  do {                                                                                                \
    v128_t e00, e10, e20, e30, e01, e11, e21, e31, e02, e12, e22, e32, e03, e13, e23, e33;            \
    BT_COLUMN(D, 0, e00, e10, e20, e30);                                                              \
    BT_COLUMN(D, 1, e01, e11, e21, e31);                                                              \
    BT_COLUMN(D, 2, e02, e12, e22, e32);                                                              \
    BT_COLUMN(D, 3, e03, e13, e23, e33);                                                              \
    BT_ROW(PUT_V, 0, e00, e01, e02, e03);                                                             \
    BT_ROW(PUT_V, 1, e10, e11, e12, e13);                                                             \
    BT_ROW(PUT_V, 2, e20, e21, e22, e23);                                                             \
    BT_ROW(PUT_V, 3, e30, e31, e32, e33);                                                             \
  } while (0)

// Entry (a, c) of a tile's 4×4 input patch, channels ci … ci + 3: xp points at the patch's first
// pixel, row ih0 and column iw0 of an h × w image. X_IN for a patch inside the image, X_AT anywhere
// (0 outside it).
#define X_IN(a, c) wasm_v128_load(xp + ((a) * w + (c)) * cin + ci)
#define X_AT(a, c) ((unsigned)(ih0 + (a)) < (unsigned)h && (unsigned)(iw0 + (c)) < (unsigned)w ? X_IN(a, c) : z)
// Whether the 4×4 patch at row ih0, column iw0 lies inside an h × w image (X_IN may read it).
INLINE int patch_inside(int ih0, int iw0, int h, int w) { return ih0 >= 0 && ih0 + 4 <= h && iw0 >= 0 && iw0 + 4 <= w; }

// One register tile of a forward product M[ξ] = V[ξ] · U[ξ] (tiles × Cin by Cin × Cout, winograd4.c):
// 4 tiles (vp: V[ξ][t]) × 4·NV output channels (up: U[ξ] at the tile's first channel), stored to mp
// (M[ξ][t][co]).
INLINE void winograd_tile(int NV, float *mp, const float *vp, const float *up, int cin, int cout) {
  const v128_t z = wasm_f32x4_splat(0.f);
  v128_t a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
  const float *p = vp, *g = up;
  for (int ci = 0; ci < cin; ci++, g += cout, p++) {
    const v128_t g0 = wasm_v128_load(g);
    const v128_t g1 = NV == 2 ? wasm_v128_load(g + 4) : z;
#define V_TILE(j) wasm_v128_load32_splat(p + (j) * cin)
    MAC_ROWS(4, V_TILE);
  }
#define PUT(p, a) wasm_v128_store(p, a)
  STORE_ROWS(4, PUT, mp, cout);
}

// The filter gradient of a 3×3 convolution of stride 1 by F(3×3, 2×2), the transpose of F(2×2, 3×3)
// (as Lavin & Gray, 2016, do for the weight gradient): for a 2×2 tile of dy and its 4×4 input
// patch d,
//   dW += Gᵀ [(A dy Aᵀ) ⊙ (Bᵀ d B)] G   (A 4×2, G 4×3: the forward's matrices, roles swapped)
// since Σ dy · y = Σ g · dW for y = Aᵀ[(G g) ⊙ (Bᵀ d B)]A. Summed over every tile t of every image,
// the bracket becomes 16 matrix products S[ξ] = Σ_t V[ξ][t]ᵀ Ũ[ξ][t] (Cin × tiles by tiles × Cout),
// V[ξ][t][ci] = (Bᵀ d B)[ξ], Ũ[ξ][t][co] = (A dy Aᵀ)[ξ]; then dW = Gᵀ S G once
// (winograd_filter_grad_finish), after the threads' S are summed.
//
// Ũ = A dy Aᵀ of a 2×2 tile (A = [1 0; 1 1; 1 −1; 0 −1]): Y(a, b) gives entry (a, b) of dy,
// PUT_U(ξ, value) takes entry ξ of Ũ. Columns first (y0, y0 + y1, y0 − y1, −y1), then each row.
#define A_COLUMN(Y, b, r0, r1, r2, r3)                                                                 \
  do {                                                                                                 \
    const v128_t y0 = Y(0, b), y1 = Y(1, b);                                                           \
    r0 = y0, r1 = wasm_f32x4_add(y0, y1), r2 = wasm_f32x4_sub(y0, y1), r3 = wasm_f32x4_neg(y1);        \
  } while (0)
#define A_ROW(PUT_U, a, t0, t1)                   \
  do {                                            \
    PUT_U(4 * (a), t0);                           \
    PUT_U(4 * (a) + 1, wasm_f32x4_add(t0, t1));  \
    PUT_U(4 * (a) + 2, wasm_f32x4_sub(t0, t1));  \
    PUT_U(4 * (a) + 3, wasm_f32x4_neg(t1));      \
  } while (0)

// One register tile of S[ξ] += V[ξ]ᵀ Ũ[ξ] over nt tiles: 4 input channels (vp: V[ξ][0][ci]) × 4·NV
// output channels (up: Ũ[ξ][0][co]), added to sp (S[ξ][ci][co]).
INLINE void winograd_grad_tile(int NV, float *sp, const float *vp, const float *up, int nt, int cin, int cout) {
  const v128_t z = wasm_f32x4_splat(0.f);
  v128_t a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
  const float *p = vp, *g = up;
  for (int t = 0; t < nt; t++, p += cin, g += cout) {
    const v128_t g0 = wasm_v128_load(g);
    const v128_t g1 = NV == 2 ? wasm_v128_load(g + 4) : z;
    MAC_ROWS(4, X_PIXEL); // X_PIXEL(j): V[ξ][t][ci + j]
  }
  STORE_ROWS(4, ADD_TO, sp, cout);
}

// This thread's part of S for the images [n0, n1), written to s (16·Cin·Cout floats, S[ξ][ci][co]).
// Tile rows of all its images are taken rb at a time; scratch: 16·(rb·⌈OW/2⌉·Cin + 16) floats for V,
// then 16·(rb·⌈OW/2⌉·Cout + 16) for Ũ. cin and cout must be multiples of 4.
__attribute__((export_name("conv_filter_grad_winograd")))
void conv_filter_grad_winograd(const float *x, const float *dy, float *s, float *scratch, int n0, int n1,
                               int h, int w, int cin, int oh_, int ow_, int cout, int pt, int pl, int rb) {
  const v128_t z = wasm_f32x4_splat(0.f);
  const int th = (oh_ + 1) / 2, tw = (ow_ + 1) / 2;
  float *v = scratch, *u = v + 16 * PLANE(rb * tw * cin);
  __builtin_memset(s, 0, 16 * cin * cout * sizeof(float));
  for (int r0 = n0 * th; r0 < n1 * th; r0 += rb) {
    const int nr = min_i(rb, n1 * th - r0), nt = nr * tw;
    const int vs = PLANE(nt * cin), us = PLANE(nt * cout); // floats of one ξ
    for (int rl = 0; rl < nr; rl++) {
      const int n = (r0 + rl) / th, tr = (r0 + rl) % th;
      const float *x_img = x + n * h * w * cin, *dy_img = dy + n * oh_ * ow_ * cout;
      const int ih0 = 2 * tr - pt, oh = 2 * tr;
      for (int tc = 0; tc < tw; tc++) {
        const int t = rl * tw + tc, iw0 = 2 * tc - pl, ow = 2 * tc;
        const int inside = patch_inside(ih0, iw0, h, w);
        const float *xp = x_img + (ih0 * w + iw0) * cin;
        for (int ci = 0; ci < cin; ci += 4) {
#define X_GRAD(a, c) (inside ? X_IN(a, c) : X_AT(a, c))
#define PUT_V(xi, value) wasm_v128_store(v + (xi) * vs + t * cin + ci, value)
          WINOGRAD_BT(X_GRAD, PUT_V);
        }
        const float *yp = dy_img + (oh * ow_ + ow) * cout;
        const int down = oh + 1 < oh_, right = ow + 1 < ow_; // the tile's second row, column
        for (int co = 0; co < cout; co += 4) {
#define DY_AT(a, b) (((a) && !down) || ((b) && !right) ? z : wasm_v128_load(yp + ((a) * ow_ + (b)) * cout + co))
#define PUT_U(xi, value) wasm_v128_store(u + (xi) * us + t * cout + co, value)
          v128_t r00, r10, r20, r30, r01, r11, r21, r31;
          A_COLUMN(DY_AT, 0, r00, r10, r20, r30);
          A_COLUMN(DY_AT, 1, r01, r11, r21, r31);
          A_ROW(PUT_U, 0, r00, r01);
          A_ROW(PUT_U, 1, r10, r11);
          A_ROW(PUT_U, 2, r20, r21);
          A_ROW(PUT_U, 3, r30, r31);
        }
      }
    }
    for (int xi = 0; xi < 16; xi++) {
      const float *vk = v + xi * vs, *uk = u + xi * us;
      float *sk = s + xi * cin * cout;
      for (int ci = 0; ci < cin; ci += 4) {
        int co = 0;
        for (; co + 8 <= cout; co += 8) winograd_grad_tile(2, sk + ci * cout + co, vk + ci, uk + co, nt, cin, cout);
        if (co < cout) winograd_grad_tile(1, sk + ci * cout + co, vk + ci, uk + co, nt, cin, cout);
      }
    }
  }
}

// dW = Gᵀ (Σ_p S_p) G from the parts' S (s + p·stride floats, p < parts), written to dw [3, 3, Cin, Cout]
// (Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]: rows first, then each row's columns).
__attribute__((export_name("winograd_filter_grad_finish")))
void winograd_filter_grad_finish(const float *s, int parts, int stride, float *dw, int cin, int cout) {
  const v128_t half = wasm_f32x4_splat(0.5f);
  const int plane = cin * cout;
  for (int i = 0; i < plane; i += 4) {
#define S_AT(a, b) part_sum(s + (4 * (a) + (b)) * plane + i, parts, stride)
// (t0, t1, t2, t3) → t0 + (t1 + t2)/2, (t1 − t2)/2, (t1 + t2)/2 + t3
#define GT4(t0, t1, t2, t3, o0, o1, o2)                                                         \
  do {                                                                                          \
    const v128_t s_ = wasm_f32x4_mul(wasm_f32x4_add(t1, t2), half);                             \
    o0 = wasm_f32x4_add(t0, s_), o1 = wasm_f32x4_mul(wasm_f32x4_sub(t1, t2), half), o2 = wasm_f32x4_add(s_, t3); \
  } while (0)
    v128_t q00, q10, q20, q01, q11, q21, q02, q12, q22, q03, q13, q23;
    GT4(S_AT(0, 0), S_AT(1, 0), S_AT(2, 0), S_AT(3, 0), q00, q10, q20);
    GT4(S_AT(0, 1), S_AT(1, 1), S_AT(2, 1), S_AT(3, 1), q01, q11, q21);
    GT4(S_AT(0, 2), S_AT(1, 2), S_AT(2, 2), S_AT(3, 2), q02, q12, q22);
    GT4(S_AT(0, 3), S_AT(1, 3), S_AT(2, 3), S_AT(3, 3), q03, q13, q23);
#define DW_ROW(k, t0, t1, t2, t3)                                   \
  do {                                                              \
    v128_t o0, o1, o2;                                              \
    GT4(t0, t1, t2, t3, o0, o1, o2);                                \
    wasm_v128_store(dw + (3 * (k)) * plane + i, o0);                \
    wasm_v128_store(dw + (3 * (k) + 1) * plane + i, o1);            \
    wasm_v128_store(dw + (3 * (k) + 2) * plane + i, o2);            \
  } while (0)
    DW_ROW(0, q00, q01, q02, q03);
    DW_ROW(1, q10, q11, q12, q13);
    DW_ROW(2, q20, q21, q22, q23);
  }
}
