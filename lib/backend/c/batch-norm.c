// Batch norm's passes: the per-channel affine map, the per-channel sums (and the statistics built
// on them) and the input gradient.
#include "common.h"

// Per-channel affine map, batch norm's elementwise step (and its pieces: centring x − μ, scaling
// x · k), rows [r0, r1) of an [R, C] tensor (C a multiple of 4), with an optional tensor added
// after it (a block's F(x) + x, §3.2) and an optional ReLU:
//   y[i, c] = act((x[i, c] + a[c]) · k[c] + b[c] + s[i, c])
// a, k, b, s may be 0 (null), standing for 0, 1, 0, 0 (then no operation is done for them, so
// x · k and x + a are exact, and each float is the one of the separate passes: the affine map's,
// then the sum's, then the ReLU's); act is ReLU when relu is 1, else the identity. y may be x.
__attribute__((export_name("channel_affine")))
void channel_affine(const float *x, const float *a, const float *k, const float *b, const float *s, float *y, int r0,
                    int r1, int c, int relu) {
  const v128_t z = wasm_f32x4_splat(0.f);
  const float *xp = x + r0 * c;
  const float *sp = s ? s + r0 * c : 0;
  float *yp = y + r0 * c;
  for (int i = r0; i < r1; i++, xp += c, yp += c, sp = sp ? sp + c : 0) {
    for (int ch = 0; ch < c; ch += 4) {
      v128_t v = wasm_v128_load(xp + ch);
      if (a) v = wasm_f32x4_add(v, wasm_v128_load(a + ch));
      if (k) v = wasm_f32x4_mul(v, wasm_v128_load(k + ch));
      if (b) v = wasm_f32x4_add(v, wasm_v128_load(b + ch));
      if (sp) v = wasm_f32x4_add(v, wasm_v128_load(sp + ch));
      if (relu) v = wasm_f32x4_max(v, z);
      wasm_v128_store(yp + ch, v);
    }
  }
}

// s[0, 4) += the four lanes of a, in double precision.
INLINE void add_f64(double *s, v128_t a) {
  wasm_v128_store(s, wasm_f64x2_add(wasm_v128_load(s), wasm_f64x2_promote_low_f32x4(a)));
  wasm_v128_store(s + 2, wasm_f64x2_add(wasm_v128_load(s + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 2, 3))));
}

// The sums of channel_sums for rows [i0, i1) (at most 64) and the 4·G channels from ch (G 1 or 4),
// added to s: G independent accumulators per sum, so that the additions overlap.
#define SUMS_STEP(g, m, a0, a1)                                          \
  do {                                                                   \
    const int o = i * c + ch + 4 * (g);                                  \
    const v128_t v = wasm_f32x4_sub(wasm_v128_load(x + o), m);           \
    if (dy) {                                                            \
      const v128_t d = wasm_v128_load(dy + o);                           \
      a0 = wasm_f32x4_add(a0, d), a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(d, v)); \
    } else {                                                             \
      a0 = wasm_f32x4_add(a0, mu ? wasm_f32x4_mul(v, v) : v);            \
    }                                                                    \
  } while (0)
#define SUMS_PUT(g, a0, a1)                               \
  do {                                                    \
    add_f64(s + ch + 4 * (g), a0);                        \
    if (dy) add_f64(s + c + ch + 4 * (g), a1);            \
  } while (0)
INLINE void channel_sums_block(int G, const float *x, const float *dy, const float *mu, double *s, int i0, int i1,
                               int c, int ch) {
  const v128_t z = wasm_f32x4_splat(0.f);
#define MU_AT(g) (mu && G > (g) ? wasm_v128_load(mu + ch + 4 * (g)) : z)
  const v128_t m0 = MU_AT(0), m1 = MU_AT(1), m2 = MU_AT(2), m3 = MU_AT(3);
#undef MU_AT
  v128_t a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
  for (int i = i0; i < i1; i++) {
    SUMS_STEP(0, m0, a00, a01);
    if (G == 4) {
      SUMS_STEP(1, m1, a10, a11);
      SUMS_STEP(2, m2, a20, a21);
      SUMS_STEP(3, m3, a30, a31);
    }
  }
  SUMS_PUT(0, a00, a01);
  if (G == 4) {
    SUMS_PUT(1, a10, a11);
    SUMS_PUT(2, a20, a21);
    SUMS_PUT(3, a30, a31);
  }
}
#undef SUMS_STEP
#undef SUMS_PUT

// Batch norm's per-channel sums (§3.4; Ioffe & Szegedy's Alg. 1 and its gradient) over rows
// [r0, r1) of x [R, C], written to s (doubles; any C):
//   dy == 0, mu == 0:  s[c] = Σ x[i, c]                      (the batch mean, times R)
//   dy == 0, mu != 0:  s[c] = Σ (x[i, c] − mu[c])²           (the batch variance, times R)
//   dy != 0:           s[c] = Σ dy[i, c], s[C + c] = Σ dy[i, c] · (x[i, c] − mu[c])   (∂β, and ∂γ / inv)
// Blocks of 64 rows are summed in single precision, the blocks' sums in double precision.
__attribute__((export_name("channel_sums")))
void channel_sums(const float *x, const float *dy, const float *mu, double *s, int r0, int r1, int c) {
  const int outs = dy ? 2 * c : c;
  for (int ch = 0; ch < outs; ch++) s[ch] = 0;
  for (int i0 = r0; i0 < r1; i0 += 64) {
    const int i1 = min_i(r1, i0 + 64);
    int ch = 0;
    for (; ch + 16 <= c; ch += 16) channel_sums_block(4, x, dy, mu, s, i0, i1, c, ch);
    for (; ch + 4 <= c; ch += 4) channel_sums_block(1, x, dy, mu, s, i0, i1, c, ch);
    for (; ch < c; ch++) {
      const float m = mu ? mu[ch] : 0.f;
      float a0 = 0.f, a1 = 0.f;
      for (int i = i0; i < i1; i++) {
        const float v = x[i * c + ch] - m;
        if (dy) {
          a0 += dy[i * c + ch];
          a1 += dy[i * c + ch] * v;
        } else {
          a0 += mu ? v * v : v;
        }
      }
      s[ch] += a0;
      if (dy) s[c + ch] += a1;
    }
  }
}

// Batch norm's statistics over rows [r0, r1) of x [R, C] in one pass from memory: Σ x per
// channel to s[0, C), then, with a[c] = that sum / (r1 − r0) rounded to float (the rows' own mean,
// kept at s + 2C as C floats), Σ (x − a)² to s[C, 2C) by a second pass over the same rows, which are
// still in the cache (a chunk is ~64 KB). The caller combines the chunks (Chan, Golub & LeVeque):
// Σ (x − μ)² = Σₖ [Σ (x − aₖ)² + 2 (aₖ − μ)(Σ x − nₖ aₖ) + nₖ (aₖ − μ)²], as exact as two passes over
// the whole batch, since each chunk's squares are taken about a mean of its own.
__attribute__((export_name("channel_moments")))
void channel_moments(const float *x, double *s, int r0, int r1, int c) {
  float *a = (float *)(s + 2 * c);
  channel_sums(x, 0, 0, s, r0, r1, c);
  for (int ch = 0; ch < c; ch++) a[ch] = (float)(s[ch] / (r1 - r0));
  channel_sums(x, 0, a, s + c, r0, r1, c);
}

// Batch norm's input gradient, rows [r0, r1) of [R, C] tensors (any C), from the per-channel
// a = ∂β / R, b = inv² · Σ dy · (x − μ) / R, k = γ · inv (inv = 1 / √(σ² + ε)):
//   dx[i, c] = (dy[i, c] − a[c] − (x[i, c] − mu[c]) · b[c]) · k[c]
__attribute__((export_name("batch_norm_input_grad")))
void batch_norm_input_grad(const float *x, const float *dy, const float *mu, const float *a, const float *b,
                           const float *k, float *dx, int r0, int r1, int c) {
  for (int i = r0; i < r1; i++) {
    int ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const int o = i * c + ch;
      const v128_t centred = wasm_f32x4_sub(wasm_v128_load(x + o), wasm_v128_load(mu + ch));
      v128_t v = wasm_f32x4_sub(wasm_v128_load(dy + o), wasm_v128_load(a + ch));
      v = wasm_f32x4_sub(v, wasm_f32x4_mul(centred, wasm_v128_load(b + ch)));
      wasm_v128_store(dx + o, wasm_f32x4_mul(v, wasm_v128_load(k + ch)));
    }
    for (; ch < c; ch++) {
      const int o = i * c + ch;
      dx[o] = (dy[o] - a[ch] - (x[o] - mu[ch]) * b[ch]) * k[ch];
    }
  }
}
