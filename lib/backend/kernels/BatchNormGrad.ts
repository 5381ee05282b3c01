import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_GRAD } from '../kernel-names';
import { nativeBatchNormInputGrad, nativeChannelSums } from '../native-conv';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, release } from './kernel-util';
import { batchNormRows, vectorOf } from './per-channel';

/**
 * Batch norm's backward pass (lib/model/batch-norm.ts) from x, dy, μ, inv = 1/σ and γ: one pass of
 * channel_sums for ∂β = Σ dy and ∂γ = inv · Σ dy · (x − μ), one of batch_norm_input_grad for
 * ∂x = γ · inv · (dy − ∂β/m − x̂ · ∂γ/m); outputs [∂x, ∂γ, ∂β].
 */
function batchNormGradKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { x, dy, mean, invStd, gamma } = args.inputs as Record<string, tf.TensorInfo>;
  const [rows, c] = batchNormRows(BATCH_NORM_GRAD, x);
  const sums = nativeChannelSums(backend, x, dy, mean);
  const inv = Float64Array.from(backend.typedArrayFromHeap(invStd));
  const g = Float64Array.from(backend.typedArrayFromHeap(gamma));
  const dGamma = vectorOf(backend, c, (i) => inv[i] * sums[c + i]);
  const dBeta = vectorOf(backend, c, (i) => sums[i]);
  const a = vectorOf(backend, c, (i) => sums[i] / rows);
  const b = vectorOf(backend, c, (i) => (inv[i] * inv[i] * sums[c + i]) / rows);
  const k = vectorOf(backend, c, (i) => g[i] * inv[i]);
  const dx = nativeBatchNormInputGrad(backend, x, dy, { mu: mean, a, b, k });
  release(backend, a, b, k);
  return [dx, dGamma, dBeta];
}

export const batchNormGradConfig: WasmKernel = { kernelName: BATCH_NORM_GRAD, kernelFunc: batchNormGradKernel };
