/**
 * Names of the kernels of our own that tfjs does not define (tfjs-core's `kernel_names.ts` holds
 * the rest). The batch-norm layer (lib/model/batch-norm.ts) runs its training pass on them when
 * the backend registers both (the wasm backend does: lib/backend/kernels/); without them it is
 * written in tfjs ops.
 *
 * Moments: inputs `{ x }`, outputs `[mean, variance]` over every axis but the last (variance
 * biased, as `tf.moments`). Grad: inputs `{ x, dy, mean, invStd, gamma }`, outputs
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
