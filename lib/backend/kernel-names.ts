import * as tf from '@tensorflow/tfjs';

/**
 * Names of the kernels of our own that tfjs does not define (tfjs-core's `kernel_names.ts` holds
 * the rest). The batch-norm layer (lib/model/batch-norm.ts) runs its training pass on them when
 * the backend registers both (the wasm backend does: lib/backend/kernels/); without them it is
 * written in tfjs ops.
 *
 * Moments: inputs `{ x }`, attrs `{ varianceEpsilon }`, outputs `[mean, variance, invStd]` over
 * every axis but the last (variance biased, as `tf.moments`; invStd = 1 / √(variance + ε), each a
 * float32 operation as `tf.rsqrt(tf.add(variance, ε))`). Grad: inputs `{ x, dy, mean, invStd, gamma }`, outputs
 * `[dx, dGamma, dBeta]` of batch norm's backward pass.
 */
export const BATCH_NORM_MOMENTS = 'ResidualBatchNormMoments';
/** See {@link BATCH_NORM_MOMENTS}. */
export const BATCH_NORM_GRAD = 'ResidualBatchNormGrad';
/**
 * ReLU's gradient from its output (lib/backend/relu-gradient.ts): inputs `{ dy, y }`, output
 * dy · [y > 0], one pass instead of `step`, `cast` and `mul`.
 */
export const RELU_GRAD = 'ResidualReluGrad';
/**
 * One step of SGD with momentum and coupled weight decay (lib/train/sgd.ts) for one variable: inputs
 * `{ w, g, v }` (v absent at the first step), attrs `{ lr, momentum, weightDecay }` (0: none), outputs
 * `[w', v']` with g' = g + w · weightDecay, v' = v · momentum + g' (g' at the first step),
 * w' = w − v' · lr: each a float32 operation as tfjs's ops do it, in one pass instead of six kernels.
 */
export const SGD_STEP = 'ResidualSgdStep';
/**
 * Batch norm's running statistic (lib/model/batch-norm.ts): inputs `{ average, value }` (per
 * channel), attrs `{ momentum, scale }`, output average − (average − value · scale) · (1 − momentum),
 * each a float32 operation as tfjs's ops do it, in one kernel instead of three or four.
 */
export const MOVING_AVERAGE = 'ResidualMovingAverage';

/** Whether the current backend registers every one of these kernels (ours: the wasm backend). */
export function backendHas(...kernelNames: string[]): boolean {
  const backend = tf.getBackend();
  return kernelNames.every((name) => tf.getKernel(name, backend) !== undefined);
}
