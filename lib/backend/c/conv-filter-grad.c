// Direct kernels: the filter gradient of a convolution of any shape.
//
// conv_filter_grad: the filter gradient of a convolution (back-propagation, §3 of He et al., 2015):
//   dW[kh, kw, ci, co] += Σ_{n ∈ [n0, n1), oh, ow} x[n, oh·sh + kh − pt, ow·sw + kw − pl, ci] · dy[n, oh, ow, co]
// (pixels outside x are the zero padding). cout must be a multiple of 4.
#include "common.h"

// One register tile of dW: CB (1 or 4) input channels × 4·NV (NV 1 or 2) output channels, over
// output rows [oh0, oh1) and columns [ow0, ow1) of one image (x_img, dy_img point at that image).
// Accumulators are named variables (an array would be spilled to the stack).
INLINE void filter_tile(int CB, int NV, float *d, const float *x_img, const float *dy_img,
                        int oh0, int oh1, int ow0, int ow1, int w, int cin, int ow_, int cout,
                        int kh, int kw, int sh, int sw, int pt, int pl) {
  const v128_t z = wasm_f32x4_splat(0.f);
  v128_t a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
  const int xstep = sw * cin;
  for (int oh = oh0; oh < oh1; oh++) {
    const float *xr = x_img + ((oh * sh + kh - pt) * w + (ow0 * sw + kw - pl)) * cin;
    const float *dr = dy_img + (oh * ow_ + ow0) * cout;
    for (int ow = ow0; ow < ow1; ow++, xr += xstep, dr += cout) {
      const v128_t g0 = wasm_v128_load(dr);
      const v128_t g1 = NV == 2 ? wasm_v128_load(dr + 4) : z;
#define X_CHANNEL(j) wasm_v128_load32_splat(xr + (j))
      MAC_ROWS(CB, X_CHANNEL);
    }
  }
  STORE_ROWS(CB, ADD_TO, d, cout);
}

// Pointers are byte offsets in the memory; shapes are x [N, H, W, Cin], dy [N, OH, OW, Cout],
// dw [KH, KW, Cin, Cout] (accumulated into: zero it first).
// Only input channels [ci0, ci1) of dW are computed (threads split dW by input channel).
__attribute__((export_name("conv_filter_grad")))
void conv_filter_grad(const float *x, const float *dy, float *dw, int n0, int n1, int ci0, int ci1,
                      int h, int w, int cin, int oh_, int ow_, int cout,
                      int kh_, int kw_, int sh, int sw, int pt, int pl) {
  // Output rows per block: about 128 output pixels, so that the block's dy and x rows stay in L1.
  const int rows = max_i(1, 128 / ow_);
  for (int n = n0; n < n1; n++) {
    const float *x_img = x + n * h * w * cin;
    const float *dy_img = dy + n * oh_ * ow_ * cout;
    for (int ob = 0; ob < oh_; ob += rows) {
      const int oe = min_i(oh_, ob + rows);
      for (int kh = 0; kh < kh_; kh++) {
        // Rows whose input row oh·sh + kh − pt lies inside x.
        const int oh0 = max_i(ob, ceil_div(pt - kh, sh));
        const int oh1 = min_i(oe, floor_div(h - 1 + pt - kh, sh) + 1);
        if (oh0 >= oh1) continue;
        for (int kw = 0; kw < kw_; kw++) {
          const int ow0 = max_i(0, ceil_div(pl - kw, sw));
          const int ow1 = min_i(ow_, floor_div(w - 1 + pl - kw, sw) + 1);
          if (ow0 >= ow1) continue;
          float *dk = dw + (kh * kw_ + kw) * cin * cout;
          int ci = ci0;
          for (; ci + 4 <= ci1; ci += 4) {
            int co = 0;
            for (; co + 8 <= cout; co += 8)
              filter_tile(4, 2, dk + ci * cout + co, x_img + ci, dy_img + co, oh0, oh1, ow0, ow1, w, cin, ow_, cout, kh, kw, sh, sw, pt, pl);
            if (co < cout)
              filter_tile(4, 1, dk + ci * cout + co, x_img + ci, dy_img + co, oh0, oh1, ow0, ow1, w, cin, ow_, cout, kh, kw, sh, sw, pt, pl);
          }
          for (; ci < ci1; ci++) {
            int co = 0;
            for (; co + 8 <= cout; co += 8)
              filter_tile(1, 2, dk + ci * cout + co, x_img + ci, dy_img + co, oh0, oh1, ow0, ow1, w, cin, ow_, cout, kh, kw, sh, sw, pt, pl);
            if (co < cout)
              filter_tile(1, 1, dk + ci * cout + co, x_img + ci, dy_img + co, oh0, oh1, ow0, ow1, w, cin, ow_, cout, kh, kw, sh, sw, pt, pl);
          }
        }
      }
    }
  }
}
