// Block copies for zero padding and crops (PadV2, Slice): runs of floats at two levels of stride.
#include "common.h"

// For o in [o0, o1) and i < inner: the `run` floats at src + o·so + i·si to dst + o·d_o + off + i·di
// (in floats; run, strides and offset multiples of 4: those of the NHWC pads and crops with 4k
// channels). With zero = 1 each outer block of dst (d_o floats from dst + o·d_o) is zeroed first.
__attribute__((export_name("copy_runs")))
void copy_runs(const float *src, float *dst, int off, int o0, int o1, int inner, int run, int so, int si, int d_o,
               int di, int zero) {
  for (int o = o0; o < o1; o++) {
    if (zero)
      for (int k = 0; k < d_o; k += 4) wasm_v128_store(dst + o * d_o + k, wasm_f32x4_splat(0.f));
    for (int i = 0; i < inner; i++) {
      const float *s = src + o * so + i * si;
      float *d = dst + o * d_o + off + i * di;
      for (int k = 0; k < run; k += 4) wasm_v128_store(d + k, wasm_v128_load(s + k));
    }
  }
}
