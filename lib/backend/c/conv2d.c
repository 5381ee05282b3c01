// Direct kernels: the forward convolution of any shape.
#include "common.h"

// The input of a forward convolution as the register tiles read it: for each input row r of the
// zero-padded image (r ∈ [0, hp), hp = (OH − 1)·sh + KH), each group q of 4 output columns
// (q ∈ [0, G), G = ⌈OW / 4⌉) and each filter column kw, the taps of the group's 4 pixels,
// interleaved:
//   xq[r][q][kw][ci][j] = x[r − pt, (4q + j)·sw + kw − pl, ci]   (0 outside x: the padding)
// so that a tile steps through one filter row's KW·Cin taps with one pointer, 4 floats per tap.
// Built per image, with 4×4 transposes (cin a multiple of 4; else one float at a time).
INLINE void interleave_image(float *xq, int rs, const float *x_img, int h, int w, int cin, int hp, int g_, int kw_,
                             int sw, int pt, int pl) {
  const v128_t z = wasm_f32x4_splat(0.f);
  const int group = kw_ * cin * 4; // floats of one (r, q)
  for (int r = 0; r < hp; r++) {
    float *d = xq + r * rs;
    const int ih = r - pt;
    if (ih < 0 || ih >= h) {
      __builtin_memset(d, 0, g_ * group * sizeof(float));
      continue;
    }
    const float *x_row = x_img + ih * w * cin;
    for (int q = 0; q < g_; q++) {
      for (int kw = 0; kw < kw_; kw++, d += cin * 4) {
        const float *src[4];
        for (int j = 0; j < 4; j++) {
          const int iw = (4 * q + j) * sw + kw - pl;
          src[j] = iw >= 0 && iw < w ? x_row + iw * cin : 0;
        }
        int ci = 0;
        for (; ci + 4 <= cin; ci += 4) {
          const v128_t v0 = src[0] ? wasm_v128_load(src[0] + ci) : z;
          const v128_t v1 = src[1] ? wasm_v128_load(src[1] + ci) : z;
          const v128_t v2 = src[2] ? wasm_v128_load(src[2] + ci) : z;
          const v128_t v3 = src[3] ? wasm_v128_load(src[3] + ci) : z;
          const v128_t t0 = wasm_i32x4_shuffle(v0, v1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(v2, v3, 0, 4, 1, 5);
          const v128_t t2 = wasm_i32x4_shuffle(v0, v1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(v2, v3, 2, 6, 3, 7);
          wasm_v128_store(d + 4 * ci, wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5));
          wasm_v128_store(d + 4 * ci + 4, wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));
          wasm_v128_store(d + 4 * ci + 8, wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5));
          wasm_v128_store(d + 4 * ci + 12, wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7));
        }
        for (; ci < cin; ci++)
          for (int j = 0; j < 4; j++) d[4 * ci + j] = src[j] ? src[j][ci] : 0.f;
      }
    }
  }
}

// One register tile of a forward convolution: the 4 output pixels of group q of row oh (the
// first `valid` of them are stored) × 4·NV (NV 1 or 2) output channels, from the interleaved
// input xq (see interleave_image). wk points at the filter's first output channel of the tile,
// bias at its bias (or is 0).
INLINE void conv_tile(int NV, float *yp, int valid, const float *xq, const float *wk, const float *bias,
                      int oh, int q, int g_, int cin, int cout, int kh_, int kw_, int sh, int relu) {
  const v128_t z = wasm_f32x4_splat(0.f);
  const v128_t b0 = bias ? wasm_v128_load(bias) : z;
  const v128_t b1 = bias && NV == 2 ? wasm_v128_load(bias + 4) : z;
  v128_t a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
  const int len = kw_ * cin;
  for (int kh = 0; kh < kh_; kh++) {
    const float *p = xq + ((oh * sh + kh) * g_ + q) * len * 4;
    const float *g = wk + kh * len * cout;
    for (int t = 0; t < len; t++, g += cout, p += 4) {
      const v128_t g0 = wasm_v128_load(g);
      const v128_t g1 = NV == 2 ? wasm_v128_load(g + 4) : z;
#define X_PIXEL(j) wasm_v128_load32_splat(p + (j))
      MAC_ROWS(4, X_PIXEL);
    }
  }
#define OUT(p, a) wasm_v128_store(p, relu ? wasm_f32x4_max(a, z) : a)
  STORE_ROWS(valid, OUT, yp, cout);
}

// Forward convolution, images [n0, n1) (claimed one at a time from *next, see claim in common.h):
//   y[n, oh, ow, co] = act(bias[co] + Σ_{kh, kw, ci} x[n, oh·sh + kh − pt, ow·sw + kw − pl, ci] · wt[kh, kw, ci, co])
// x [N, H, W, Cin], wt [KH, KW, Cin, Cout], bias [Cout] or 0, y [N, OH, OW, Cout]; act is ReLU when
// relu is 1, else the identity. xq: this thread's room for one interleaved image (see
// interleave_image), hp·G·KW·Cin·4 floats. cout must be a multiple of 4.
__attribute__((export_name("conv2d")))
void conv2d(const float *x, const float *wt, const float *bias, float *y, float *xq, int *next, int n0, int n1,
            int h, int w, int cin, int oh_, int ow_, int cout, int kh_, int kw_, int sh, int sw, int pt, int pl,
            int relu) {
  const int hp = (oh_ - 1) * sh + kh_, g_ = (ow_ + 3) / 4;
  for (int n; (n = n0 + claim(next)) < n1;) {
    interleave_image(xq, g_ * kw_ * cin * 4, x + n * h * w * cin, h, w, cin, hp, g_, kw_, sw, pt, pl);
    float *y_img = y + n * oh_ * ow_ * cout;
    for (int co = 0; co < cout; co += 8) {
      const float *wk = wt + co;
      const float *bk = bias ? bias + co : 0;
      for (int oh = 0; oh < oh_; oh++) {
        float *y_row = y_img + oh * ow_ * cout + co;
        for (int q = 0; q < g_; q++) {
          const int valid = min_i(4, ow_ - 4 * q);
          if (co + 8 <= cout)
            conv_tile(2, y_row + 4 * q * cout, valid, xq, wk, bk, oh, q, g_, cin, cout, kh_, kw_, sh, relu);
          else
            conv_tile(1, y_row + 4 * q * cout, valid, xq, wk, bk, oh, q, g_, cin, cout, kh_, kw_, sh, relu);
        }
      }
    }
  }
}
