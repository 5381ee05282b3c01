// Direct kernels: the input gradient of a strided convolution.
#include "common.h"

// One register tile of a strided convolution's input gradient, in scatter form: P (1 or 4)
// neighbouring pixels of dy row oh from column ow, × 4·NV (NV 1 or 2) input channels. For each
// tap it sums Σ_co dy · wt over the output channels, then adds the P results to the dx pixels the
// tap reaches (those inside dx). wk points at the transposed filter's first input channel of the tile.
INLINE void scatter_tile(int P, int NV, float *dx_img, const float *dy_px, const float *wk, int oh, int ow,
                         int h, int w, int cin, int cout, int kh_, int kw_, int sh, int sw, int pt, int pl) {
  const v128_t z = wasm_f32x4_splat(0.f);
  for (int kh = 0; kh < kh_; kh++) {
    const int ih = oh * sh + kh - pt;
    if (ih < 0 || ih >= h) continue;
    float *dx_row = dx_img + ih * w * cin;
    for (int kw = 0; kw < kw_; kw++) {
      v128_t a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
      const float *wp = wk + (kh * kw_ + kw) * cout * cin;
      for (int co = 0; co < cout; co++, wp += cin) {
        const v128_t g0 = wasm_v128_load(wp);
        const v128_t g1 = NV == 2 ? wasm_v128_load(wp + 4) : z;
#define DY_PIXEL(j) wasm_v128_load32_splat(dy_px + (j) * cout + co)
        MAC_ROWS(P, DY_PIXEL);
      }
      const int iw = ow * sw + kw - pl; // column of pixel 0; pixel j is sw·j further
#define SCATTER(j, a0, a1)                                   \
  if (iw + (j) * sw >= 0 && iw + (j) * sw < w) {             \
    float *d = dx_row + (iw + (j) * sw) * cin;              \
    ADD_TO(d, a0);                                          \
    if (NV == 2) ADD_TO(d + 4, a1);                         \
  }
      SCATTER(0, a00, a01)
      if (P == 4) {
        SCATTER(1, a10, a11)
        SCATTER(2, a20, a21)
        SCATTER(3, a30, a31)
      }
    }
  }
}

// Input gradient of a convolution, images [n0, n1) claimed one at a time from *next (used for
// strides above 1; a stride-1 gradient is the forward conv2d with the filter rotated):
//   dx[n, oh·sh + kh − pt, ow·sw + kw − pl, ci] += Σ_co dy[n, oh, ow, co] · wt[kh, kw, co, ci]
// dy [N, OH, OW, Cout], wt [KH, KW, Cout, Cin] (the filter, channel axes swapped: swap_filter),
// dx [N, H, W, Cin] (each image zeroed, then accumulated into). cin must be a multiple of 4.
__attribute__((export_name("conv_input_grad")))
void conv_input_grad(const float *dy, const float *wt, float *dx, int *next, int n0, int n1,
                     int h, int w, int cin, int oh_, int ow_, int cout, int kh_, int kw_, int sh, int sw, int pt, int pl) {
  for (int n; (n = n0 + claim(next)) < n1;) {
    float *dx_img = dx + n * h * w * cin;
    __builtin_memset(dx_img, 0, h * w * cin * sizeof(float));
    const float *dy_img = dy + n * oh_ * ow_ * cout;
    for (int ci = 0; ci < cin; ci += 8) {
      for (int oh = 0; oh < oh_; oh++) {
        const float *dy_row = dy_img + oh * ow_ * cout;
        int ow = 0;
        if (ci + 8 <= cin) {
          for (; ow + 4 <= ow_; ow += 4)
            scatter_tile(4, 2, dx_img + ci, dy_row + ow * cout, wt + ci, oh, ow, h, w, cin, cout, kh_, kw_, sh, sw, pt, pl);
          for (; ow < ow_; ow++)
            scatter_tile(1, 2, dx_img + ci, dy_row + ow * cout, wt + ci, oh, ow, h, w, cin, cout, kh_, kw_, sh, sw, pt, pl);
        } else {
          for (; ow + 4 <= ow_; ow += 4)
            scatter_tile(4, 1, dx_img + ci, dy_row + ow * cout, wt + ci, oh, ow, h, w, cin, cout, kh_, kw_, sh, sw, pt, pl);
          for (; ow < ow_; ow++)
            scatter_tile(1, 1, dx_img + ci, dy_row + ow * cout, wt + ci, oh, ow, h, w, cin, cout, kh_, kw_, sh, sw, pt, pl);
        }
      }
    }
  }
}

// The filter of an input gradient: wt [KH, KW, Cin, Cout] to out [KH, KW, Cout, C4], its channel
// axes swapped (for conv_input_grad) and, where rotate is 1, rotated 180° (the stride-1 gradient
// as a forward convolution); the channels Cin … C4 (C4 ≥ Cin) zero.
__attribute__((export_name("swap_filter")))
void swap_filter(const float *wt, float *out, int kh_, int kw_, int cin, int cout, int c4, int rotate) {
  for (int i = 0; i < kh_; i++)
    for (int j = 0; j < kw_; j++) {
      const float *src = wt + ((rotate ? (kh_ - 1 - i) * kw_ + kw_ - 1 - j : i * kw_ + j)) * cin * cout;
      float *dst = out + (i * kw_ + j) * cout * c4;
      for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < c4; ci++) dst[co * c4 + ci] = ci < cin ? src[ci * cout + co] : 0.f;
    }
}

// The first c channels of each of the rows of x [rows, C4], to y [rows, c].
__attribute__((export_name("take_channels")))
void take_channels(const float *x, float *y, int rows, int c4, int c) {
  for (int r = 0; r < rows; r++)
    for (int ch = 0; ch < c; ch++) y[r * c + ch] = x[r * c4 + ch];
}
