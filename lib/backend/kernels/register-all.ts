/**
 * Kernels that let the `wasm` backend (XNNPACK) train a ResNet, and train it faster.
 *
 * tfjs-backend-wasm 4.x has no `Conv2DBackpropFilter` kernel (so `tf.grad` of a convolution
 * throws), and its `Conv2DBackpropInput` is a naive loop about ten times slower than a forward
 * convolution. Back-propagation through a convolution (the chain rule of §3 of He et al., 2015,
 * applied to every 3×3 and 1×1 layer) is itself a convolution. The convolutions, forward and both
 * gradients, run on the library's own WebAssembly SIMD kernels (lib/backend/native-conv.ts; 3×3
 * of stride 1 by Winograd's minimal filtering) where they apply (float32, channels out a multiple
 * of 4, no dilation); elsewhere both gradients are written as the backend's own fast kernels
 * (`Conv2D`, `Transpose`, `PadV2`, `BatchMatMul`, …) composed:
 *
 * - dW (filter gradient): a forward convolution of the input x, laid out as [Cin, H, W, N]
 *   (channels ← batch), with the output gradient dy as the filter, laid out [OH, OW, N, Cout],
 *   dilated by the stride. Output [Cin, KH, KW, Cout], transposed to [KH, KW, Cin, Cout].
 *   An unpadded 1×1 layer is one matrix product x_sᵀ·dy instead (x_s: the pixels it reads).
 * - dx (input gradient): a forward convolution of dy (zeros inserted between its pixels when the
 *   stride is above 1) with the filter rotated 180° and its channel axes swapped.
 *
 * Batch norm's training graph (tfjs-core's FusedBatchNorm gradient and `moments`) also leaned on
 * slow builtins, replaced here: `Tile` and `Slice` (block copies), `Sum`/`Mean` over leading axes (XNNPACK
 * average pooling), `Identity`/same-dtype `Cast` (shared data instead of copies), and `Multiply`,
 * `Sub` and `FusedBatchNorm` by a per-channel vector (channel_affine of conv-kernels.c, on all
 * threads; else a 1×1 depthwise convolution). The batch-norm layer's own training pass
 * (lib/model/batch-norm.ts) runs on two kernels registered here (named in ../kernel-names.ts),
 * `ResidualBatchNormMoments` and `ResidualBatchNormGrad` (per-channel sums and the input gradient, in conv-kernels.c), and the
 * zero padding before stride-2 convolutions (`PadV2`) is row copies. Two elementwise passes that
 * XNNPACK runs on one thread run on all: `Relu`, `Add` of two tensors of one shape, and ReLU's gradient
 * (`ResidualReluGrad`, which lib/backend/relu-gradient.ts uses where it is registered). In a training
 * step `FusedBatchNorm` leaves its output to the `Relu` or `Add` that reads it, which computes it in
 * its own pass (../pending-affine.ts).
 *
 * Intermediate tensors live only on the backend: each is released with `backend.disposeData`,
 * and the kernel returns a fresh tensor that the engine then owns.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput';
import { conv2DConfig, fusedConv2DConfig } from './Conv2D';
import { tileConfig } from './Tile';
import { sliceConfig } from './Slice';
import { sumConfig, meanConfig } from './Sum';
import { identityConfig } from './Identity';
import { castConfig } from './Cast';
import { multiplyConfig } from './Multiply';
import { padV2Config } from './PadV2';
import { subConfig } from './Sub';
import { fusedBatchNormConfig } from './FusedBatchNorm';
import { batchNormMomentsConfig } from './BatchNormMoments';
import { batchNormGradConfig } from './BatchNormGrad';
import { addConfig } from './Add';
import { reluConfig } from './Relu';
import { reluGradConfig } from './ReluGrad';
import { sgdStepConfig } from './SgdStep';
import { movingAverageConfig } from './MovingAverage';
import { BACKEND, type KernelArgs, type WasmKernel, callKernel, keepBuiltin } from './kernel-util';

/** Marker on our kernel functions, so that registration is idempotent across module copies. */
const MARK = Symbol.for('residual-learning.wasmTrainingKernel');

/** Every kernel {@link registerWasmTrainingKernels} registers, one per file in this folder. */
const KERNELS: readonly WasmKernel[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  conv2DConfig,
  fusedConv2DConfig,
  tileConfig,
  sliceConfig,
  sumConfig,
  meanConfig,
  identityConfig,
  castConfig,
  multiplyConfig,
  padV2Config,
  subConfig,
  fusedBatchNormConfig,
  batchNormMomentsConfig,
  batchNormGradConfig,
  addConfig,
  reluConfig,
  reluGradConfig,
  sgdStepConfig,
  movingAverageConfig,
];

/** The kernels {@link registerWasmTrainingKernels} adds to, or replaces on, the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map((k) => k.kernelName);

/**
 * Register on the `wasm` backend the kernels that training a ResNet needs and tfjs-backend-wasm
 * lacks (`Conv2DBackpropFilter`), and replace slow ones (`Conv2DBackpropInput`, `Tile`, …), and
 * the forward convolution (`Conv2D`, `FusedConv2D`): WebAssembly SIMD kernels of the library's
 * own where they apply, the backend's fast XNNPACK kernels composed elsewhere. Idempotent; call
 * it before or after `tf.setBackend('wasm')`. It does not load the wasm backend itself.
 *
 * @example
 * ```ts
 * require('@tensorflow/tfjs-backend-wasm');
 * registerWasmTrainingKernels();
 * await tf.setBackend('wasm');
 * ```
 */
export function registerWasmTrainingKernels(): void {
  for (const { kernelName, kernelFunc: impl } of KERNELS) {
    const current = tf.getKernel(kernelName, BACKEND);
    if (current !== undefined && (current.kernelFunc as unknown as Record<symbol, unknown>)[MARK] === true) continue;
    if (current !== undefined) {
      keepBuiltin(kernelName, current.kernelFunc);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    const kernelFunc = ((args: KernelArgs) => callKernel(impl, args)) as unknown as tf.KernelFunc;
    (kernelFunc as unknown as Record<symbol, unknown>)[MARK] = true;
    // Keep the builtin's setup (its binding to the wasm function): it stays the fallback.
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: current?.setupFunc });
  }
}
