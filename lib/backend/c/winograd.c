// Winograd's minimal filtering (Lavin & Gray, 2016, "Fast Algorithms for Convolutional Neural
// Networks") for 3×3 convolutions of stride 1: the forward by F(4×4, 3×3) and the filter gradient
// by its transpose F(3×3, 4×4). A 4×4 output tile from its 6×6 input patch d is
//   Y = Aᵀ [U ⊙ V] A,  U = G g Gᵀ (g the 3×3 filter),  V = Bᵀ d B,
// 36 multiplies for 16 outputs (F(2×2, 3×3) takes 64, the direct convolution 144). Summed over
// input channels the 36 products become 36 matrix products M[ξ] = V[ξ] · U[ξ], one per entry
// ξ = 6·a + b of the 6×6 transforms. With the interpolation points 0, ±1, ±2:
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
#include "common.h"

// The 36 planes of V, M and Ũ (one per ξ) lie 16 floats further apart than their size: at a
// power-of-two distance, the streams would fall on the same cache sets.
#define PLANE(floats) ((floats) + 16)

// One register tile of a forward product M[ξ] = V[ξ] · U[ξ] (tiles × Cin by Cin × Cout):
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

#define SPLAT(c) wasm_f32x4_splat(c)
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul

// G (t0, t1, t2): the 1-D filter transform, to o0 … o5.
#define G6(t0, t1, t2, o0, o1, o2, o3, o4, o5)                                          \
  do {                                                                                  \
    const v128_t s_ = ADD(t0, t2), p_ = ADD(MUL(t0, SPLAT(1.f / 24)), MUL(t2, SPLAT(1.f / 6))); \
    const v128_t q_ = MUL(t1, SPLAT(1.f / 12));                                         \
    o0 = MUL(t0, SPLAT(0.25f)), o1 = MUL(ADD(s_, t1), SPLAT(-1.f / 6));                 \
    o2 = MUL(SUB(s_, t1), SPLAT(-1.f / 6)), o3 = ADD(p_, q_), o4 = SUB(p_, q_), o5 = t2; \
  } while (0)

// U = G g Gᵀ of every (ci, co) pair: U[ξ][ci][co], wt [3, 3, Cin, Cout].
INLINE void winograd_filter(float *u, const float *wt, int cin, int cout) {
  const int plane = cin * cout;
  for (int i = 0; i < plane; i += 4) {
#define W_AT(a, b) wasm_v128_load(wt + (3 * (a) + (b)) * plane + i)
    v128_t r0[3], r1[3], r2[3], r3[3], r4[3], r5[3]; // G g: row a, column b
    UNROLL for (int b = 0; b < 3; b++) G6(W_AT(0, b), W_AT(1, b), W_AT(2, b), r0[b], r1[b], r2[b], r3[b], r4[b], r5[b]);
#define U_ROW6(a, r)                                                                   \
  do {                                                                                 \
    v128_t o[6];                                                                       \
    G6(r[0], r[1], r[2], o[0], o[1], o[2], o[3], o[4], o[5]);                          \
    UNROLL for (int b = 0; b < 6; b++) wasm_v128_store(u + (6 * (a) + b) * plane + i, o[b]); \
  } while (0)
    U_ROW6(0, r0);
    U_ROW6(1, r1);
    U_ROW6(2, r2);
    U_ROW6(3, r3);
    U_ROW6(4, r4);
    U_ROW6(5, r5);
  }
}

// Bᵀ (d0 … d5): the 1-D input transform, to o[0] … o[5].
#define B6(d0, d1, d2, d3, d4, d5, o)                                        \
  do {                                                                       \
    v128_t a_ = d4, b_ = d3, o0_ = d4, o5_ = d5;                             \
    MAC(a_, d2, SPLAT(-4.f)), MAC(b_, d1, SPLAT(-4.f));                      \
    MAC(o0_, d2, SPLAT(-5.f)), MAC(o0_, d0, SPLAT(4.f));                     \
    MAC(o5_, d3, SPLAT(-5.f)), MAC(o5_, d1, SPLAT(4.f));                     \
    const v128_t c_ = SUB(d4, d2), e_ = MUL(SUB(d3, d1), SPLAT(2.f));        \
    o[0] = o0_, o[1] = ADD(a_, b_), o[2] = SUB(a_, b_);                      \
    o[3] = ADD(c_, e_), o[4] = SUB(c_, e_), o[5] = o5_;                      \
  } while (0)

// Entry (a, c) of a tile's 6×6 input patch, channels ci … ci + 3: xp points at the patch's first
// pixel, rows rs floats apart (in the image, or in a copy of the patch).
#define P_AT(a, c) wasm_v128_load(xp + (a) * rs + (c) * cin + ci)

// V = Bᵀ d B of one patch, channels ci … ci + 3, to vt (V[0][t] + ci; planes vs apart), in two
// passes through V itself (36 values at once would not stay in registers): each row of d times B,
// then Bᵀ times each column of that.
#define WINOGRAD_BT(D)                                                                  \
  do {                                                                                   \
    v128_t o[6];                                                                         \
    UNROLL for (int a = 0; a < 6; a++) {                                                 \
      B6(D(a, 0), D(a, 1), D(a, 2), D(a, 3), D(a, 4), D(a, 5), o);                       \
      UNROLL for (int c = 0; c < 6; c++) wasm_v128_store(vt + (6 * a + c) * vs + ci, o[c]); \
    }                                                                                    \
    UNROLL for (int c = 0; c < 6; c++) {                                                 \
      float *p = vt + c * vs + ci;                                                       \
      B6(V_AT(0), V_AT(1), V_AT(2), V_AT(3), V_AT(4), V_AT(5), o);                       \
      UNROLL for (int a = 0; a < 6; a++) wasm_v128_store(p + 6 * a * vs, o[a]);          \
    }                                                                                    \
  } while (0)
#define V_AT(a) wasm_v128_load(p + 6 * (a) * vs)

// V of one tile, the 6×6 patch at row ih0, column iw0 of an h × w image, to vt (V[0][t]; planes vs
// apart). A patch that is not all inside the image is first copied to pb (36·Cin floats), zeros
// outside.
INLINE void winograd_patch(float *vt, int vs, float *pb, const float *x_img, int h, int w, int cin, int ih0, int iw0) {
  const float *xp = x_img + (ih0 * w + iw0) * cin;
  int rs = w * cin;
  if (ih0 < 0 || ih0 + 6 > h || iw0 < 0 || iw0 + 6 > w) {
    for (int a = 0; a < 6; a++)
      for (int c = 0; c < 6; c++) {
        float *q = pb + (6 * a + c) * cin;
        if ((unsigned)(ih0 + a) < (unsigned)h && (unsigned)(iw0 + c) < (unsigned)w)
          __builtin_memcpy(q, x_img + ((ih0 + a) * w + iw0 + c) * cin, cin * sizeof(float));
        else
          __builtin_memset(q, 0, cin * sizeof(float));
      }
    xp = pb, rs = 6 * cin;
  }
  for (int ci = 0; ci < cin; ci += 4) WINOGRAD_BT(P_AT);
}

// V of the block's tiles (tile t = row·TW + column; its patch starts at row 4·(tr0 + row) − pt,
// column 4·column − pl), V[ξ][t][ci]; the rows past the last tile, up to a multiple of 4, are zero.
INLINE void winograd_input(float *v, int vs, float *pb, const float *x_img, int h, int w, int cin, int tr0, int nr,
                           int tw, int pt, int pl) {
  for (int rl = 0; rl < nr; rl++)
    for (int tc = 0; tc < tw; tc++)
      winograd_patch(v + (rl * tw + tc) * cin, vs, pb, x_img, h, w, cin, 4 * (tr0 + rl) - pt, 4 * tc - pl);
  const int nt = nr * tw, nt4 = (nt + 3) & ~3;
  if (nt4 > nt)
    for (int xi = 0; xi < 36; xi++) __builtin_memset(v + xi * vs + nt * cin, 0, (nt4 - nt) * cin * sizeof(float));
}

// Aᵀ (m0 … m5): the 1-D output transform, to o[0] … o[3].
#define A6(m0, m1, m2, m3, m4, m5, o)                                \
  do {                                                               \
    v128_t a_ = ADD(m1, m2), b_ = SUB(m1, m2);                       \
    const v128_t c_ = ADD(m3, m4), d_ = SUB(m3, m4);                 \
    o[0] = ADD(ADD(m0, a_), c_), o[1] = b_, o[3] = ADD(b_, m5);      \
    MAC(o[1], d_, SPLAT(2.f)), MAC(a_, c_, SPLAT(4.f)), o[2] = a_;   \
    MAC(o[3], d_, SPLAT(8.f));                                       \
  } while (0)

// Y = Aᵀ M A of the block's tiles, plus bias and activation, into the output rows 4·tr0 … of
// y_img (the pixels inside it). `step`: floats of one ξ of M.
INLINE void winograd_output(float *y_img, float *m, int step, const float *bias, int tr0, int nr, int tw,
                            int oh_, int ow_, int cout, int relu) {
  const v128_t z = wasm_f32x4_splat(0.f);
  for (int rl = 0; rl < nr; rl++) {
    const int oh = 4 * (tr0 + rl), rows = min_i(4, oh_ - oh);
    for (int tc = 0; tc < tw; tc++) {
      const int ow = 4 * tc, cols = min_i(4, ow_ - ow);
      float *mt = m + (rl * tw + tc) * cout;
      float *yp = y_img + (oh * ow_ + ow) * cout;
      for (int co = 0; co < cout; co += 4) {
        // Aᵀ M column by column c, written over rows 0 … 3 of M's column c, then each of those rows
        // times A, plus the bias (two passes through M: 24 values at once would not stay in registers).
        float *mc = mt + co;
        v128_t o[4];
        UNROLL for (int c = 0; c < 6; c++) {
          float *p = mc + c * step;
#define M_AT(a) wasm_v128_load(p + 6 * (a) * step)
          A6(M_AT(0), M_AT(1), M_AT(2), M_AT(3), M_AT(4), M_AT(5), o);
#undef M_AT
          UNROLL for (int a = 0; a < 4; a++) wasm_v128_store(p + 6 * a * step, o[a]);
        }
        const v128_t b = bias ? wasm_v128_load(bias + co) : z;
        UNROLL for (int a = 0; a < 4; a++) if (a < rows) {
          const float *p = mc + 6 * a * step;
#define T_AT(c) wasm_v128_load(p + (c) * step)
          A6(T_AT(0), T_AT(1), T_AT(2), T_AT(3), T_AT(4), T_AT(5), o);
#undef T_AT
          float *out = yp + a * ow_ * cout + co;
          UNROLL for (int c = 0; c < 4; c++) if (c < cols) OUT(out + c * cout, ADD(o[c], b));
        }
      }
    }
  }
}

// Forward 3×3 convolution of stride 1 by F(4×4, 3×3), images [n0, n1) (claimed one at a time from
// *next, see claim in common.h): the same result as conv2d
// with KH = KW = 3, sh = sw = 1 (up to rounding). Tile rows are taken rb at a time. scratch: this
// thread's room, in floats,
//   36·Cin·Cout (U) + 36·(T·Cin + 16) (V) + 36·(T·Cout + 16) (M) + 36·Cin (a border tile's patch),
// T = rb·⌈OW / 4⌉ rounded up to a multiple of 4. cin and cout must be multiples of 4.
__attribute__((export_name("conv2d_winograd")))
void conv2d_winograd(const float *x, const float *wt, const float *bias, float *y, float *scratch, int *next, int n0,
                     int n1, int h, int w, int cin, int oh_, int ow_, int cout, int pt, int pl, int rb, int relu) {
  const int th = (oh_ + 3) / 4, tw = (ow_ + 3) / 4, t4 = (rb * tw + 3) & ~3;
  const int vs = PLANE(t4 * cin), ms = PLANE(t4 * cout); // floats of one ξ of V, of M
  float *u = scratch, *v = u + 36 * cin * cout, *m = v + 36 * vs, *pb = m + 36 * ms;
  winograd_filter(u, wt, cin, cout);
  for (int n; (n = n0 + claim(next)) < n1;) {
    const float *x_img = x + n * h * w * cin;
    float *y_img = y + n * oh_ * ow_ * cout;
    for (int tr0 = 0; tr0 < th; tr0 += rb) {
      const int nr = min_i(rb, th - tr0), nt = nr * tw;
      winograd_input(v, vs, pb, x_img, h, w, cin, tr0, nr, tw, pt, pl);
      for (int xi = 0; xi < 36; xi++) {
        const float *uk = u + xi * cin * cout, *vk = v + xi * vs;
        float *mk = m + xi * ms;
        for (int co = 0; co < cout; co += 8)
          for (int t = 0; t < nt; t += 4) {
            if (co + 8 <= cout)
              winograd_tile(2, mk + t * cout + co, vk + t * cin, uk + co, cin, cout);
            else
              winograd_tile(1, mk + t * cout + co, vk + t * cin, uk + co, cin, cout);
          }
      }
      winograd_output(y_img, m, ms, bias, tr0, nr, tw, oh_, ow_, cout, relu);
    }
  }
}

// The filter gradient of a 3×3 convolution of stride 1 by F(3×3, 4×4), the transpose of F(4×4, 3×3)
// (as Lavin & Gray do for the weight gradient): for a 4×4 tile of dy and its 6×6 input patch d,
//   dW += Gᵀ [(A dy Aᵀ) ⊙ (Bᵀ d B)] G,
// summed over every tile of every image as 36 matrix products S[ξ] = Σ_t V[ξ][t]ᵀ Ũ[ξ][t] (Cin ×
// tiles by tiles × Cout, winograd_grad_tile), Ũ = A dy Aᵀ; then dW = Gᵀ S G once
// (winograd_filter_grad_finish), after the threads' S are summed.

// A (y0 … y3): the 1-D transform of a column or row of a dy tile, to o[0] … o[5].
#define AY6(y0, y1, y2, y3, o)                                                              \
  do {                                                                                      \
    const v128_t e_ = ADD(y0, y2), f_ = ADD(y1, y3);                                        \
    v128_t g_ = y0, h_ = y1;                                                                \
    MAC(g_, y2, SPLAT(4.f)), MAC(h_, y3, SPLAT(4.f));                                       \
    o[0] = y0, o[1] = ADD(e_, f_), o[2] = SUB(e_, f_), o[5] = y3;                           \
    o[3] = g_, o[4] = g_, MAC(o[3], h_, SPLAT(2.f)), MAC(o[4], h_, SPLAT(-2.f));            \
  } while (0)

// Ũ = A dy Aᵀ of the dy tile at row oh, column ow (rows × cols of it inside the output, zeros
// beyond), output channels co … co + 3, to ut (Ũ[0][t] + co; planes us apart), in two passes
// through Ũ: A times each column of the tile, then each row of that times Aᵀ.
INLINE void winograd_dy(float *ut, int us, const float *yp, int ow_, int cout, int rows, int cols) {
  const v128_t z = wasm_f32x4_splat(0.f);
  const int full = rows == 4 && cols == 4;
  v128_t o[6];
#define DY4(a, b) (full || ((a) < rows && (b) < cols) ? wasm_v128_load(yp + ((a) * ow_ + (b)) * cout) : z)
  UNROLL for (int b = 0; b < 4; b++) {
    AY6(DY4(0, b), DY4(1, b), DY4(2, b), DY4(3, b), o);
    UNROLL for (int a = 0; a < 6; a++) wasm_v128_store(ut + (6 * a + b) * us, o[a]);
  }
#undef DY4
  UNROLL for (int a = 0; a < 6; a++) {
    float *p = ut + 6 * a * us;
#define U_AT(b) wasm_v128_load(p + (b) * us)
    AY6(U_AT(0), U_AT(1), U_AT(2), U_AT(3), o);
#undef U_AT
    UNROLL for (int b = 0; b < 6; b++) wasm_v128_store(p + b * us, o[b]);
  }
}

// This thread's part of S for the images [n0, n1), written to s (36·Cin·Cout floats, S[ξ][ci][co]).
// The tile rows of those images are taken rb at a time, in order (not claimed: the sums, and so a
// seeded training run, must not depend on which thread was faster); scratch: 36·(rb·⌈OW/4⌉·Cin + 16) floats for V,
// then 36·(rb·⌈OW/4⌉·Cout + 16) for Ũ, then 36·Cin for a border tile's patch. cin and cout must be
// multiples of 4.
__attribute__((export_name("conv_filter_grad_winograd")))
void conv_filter_grad_winograd(const float *x, const float *dy, float *s, float *scratch, int n0, int n1,
                               int h, int w, int cin, int oh_, int ow_, int cout, int pt, int pl, int rb) {
  const int th = (oh_ + 3) / 4, tw = (ow_ + 3) / 4;
  float *v = scratch, *u = v + 36 * PLANE(rb * tw * cin), *pb = u + 36 * PLANE(rb * tw * cout);
  __builtin_memset(s, 0, 36 * cin * cout * sizeof(float));
  for (int r0 = n0 * th; r0 < n1 * th; r0 += rb) {
    const int nr = min_i(rb, n1 * th - r0), nt = nr * tw;
    const int vs = PLANE(nt * cin), us = PLANE(nt * cout); // floats of one ξ
    for (int rl = 0; rl < nr; rl++) {
      const int n = (r0 + rl) / th, oh = 4 * ((r0 + rl) % th);
      const float *x_img = x + n * h * w * cin, *dy_img = dy + n * oh_ * ow_ * cout;
      for (int tc = 0; tc < tw; tc++) {
        const int t = rl * tw + tc, ow = 4 * tc;
        winograd_patch(v + t * cin, vs, pb, x_img, h, w, cin, oh - pt, ow - pl);
        const float *yp = dy_img + (oh * ow_ + ow) * cout;
        const int rows = min_i(4, oh_ - oh), cols = min_i(4, ow_ - ow);
        for (int co = 0; co < cout; co += 4) winograd_dy(u + t * cout + co, us, yp + co, ow_, cout, rows, cols);
      }
    }
    for (int xi = 0; xi < 36; xi++) {
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

// Gᵀ (t0 … t5): the 1-D transform back to a filter's row or column, to o[0] … o[2].
#define GT6(t0, t1, t2, t3, t4, t5, o)                                                   \
  do {                                                                                   \
    const v128_t p_ = ADD(t1, t2), q_ = SUB(t1, t2), r_ = ADD(t3, t4), s_ = SUB(t3, t4); \
    o[0] = MUL(t0, SPLAT(0.25f)), o[1] = MUL(s_, SPLAT(1.f / 12)), o[2] = t5;            \
    MAC(o[0], p_, SPLAT(-1.f / 6)), MAC(o[0], r_, SPLAT(1.f / 24));                      \
    MAC(o[1], q_, SPLAT(-1.f / 6));                                                      \
    MAC(o[2], p_, SPLAT(-1.f / 6)), MAC(o[2], r_, SPLAT(1.f / 6));                       \
  } while (0)

// dW = Gᵀ (Σ_p S_p) G from the parts' S (s + p·stride floats, p < parts), written to dw [3, 3, Cin, Cout]:
// Gᵀ times each column of ΣS, then each row of that times G.
__attribute__((export_name("winograd_filter_grad_finish")))
void winograd_filter_grad_finish(const float *s, int parts, int stride, float *dw, int cin, int cout) {
  const int plane = cin * cout;
  for (int i = 0; i < plane; i += 4) {
    v128_t q0[6], q1[6], q2[6], o[3];
    UNROLL for (int b = 0; b < 6; b++) {
#define S6(a) part_sum(s + (6 * (a) + b) * plane + i, parts, stride)
      GT6(S6(0), S6(1), S6(2), S6(3), S6(4), S6(5), o);
#undef S6
      q0[b] = o[0], q1[b] = o[1], q2[b] = o[2];
    }
#define DW_ROW6(k, q)                                                                   \
  do {                                                                                  \
    GT6(q[0], q[1], q[2], q[3], q[4], q[5], o);                                         \
    UNROLL for (int j = 0; j < 3; j++) wasm_v128_store(dw + (3 * (k) + j) * plane + i, o[j]); \
  } while (0)
    DW_ROW6(0, q0);
    DW_ROW6(1, q1);
    DW_ROW6(2, q2);
#undef DW_ROW6
  }
}
