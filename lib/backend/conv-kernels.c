// Convolutions, their gradients and batch norm's passes for the wasm backend, in WebAssembly SIMD
// (128-bit), NHWC layout.
//
// Built by `node scripts/dev/build-wasm.mjs` (clang --target=wasm32) into conv-kernels-wasm.ts, which
// the library loads; lib/backend/native-conv.ts calls these functions. The functions use no stack
// and no static data: every buffer is a byte offset into the imported (shared) memory, so several
// threads can run them on one memory at once, each on its own range of images or rows (and, for
// the convolutions, with its own scratch room: an interleaved image, Winograd's transforms).
//
// 3×3 convolutions of stride 1 (16 of ResNet-20's 21 convolutions) run by Winograd's F(4×4, 3×3)
// (conv2d_winograd; the stride-1 input gradient is the same forward convolution) and their filter
// gradient by its transpose F(3×3, 4×4) (conv_filter_grad_winograd): 4× fewer multiplies than the
// direct kernels (conv2d, conv_filter_grad), which take every other shape.
//
// The kernels live in c/ by family (direct, Winograd, gradient, batch norm) and build as this one
// translation unit, in this order. (And two elementwise passes that XNNPACK runs on one thread.)
#include "c/conv-filter-grad.c"
#include "c/conv2d.c"
#include "c/winograd.c"
#include "c/conv-input-grad.c"
#include "c/batch-norm.c"
#include "c/elementwise.c"
#include "c/copy.c"
