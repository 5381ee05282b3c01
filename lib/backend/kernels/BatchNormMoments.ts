import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_MOMENTS } from '../kernel-names';
import { nativeChannelMoments } from '../native-conv';
import { type KernelArgs, type WasmBackendLike, type WasmKernel } from './kernel-util';
import { batchNormRows, vectorOf } from './per-channel';

/**
 * Batch norm's batch statistics (lib/model/batch-norm.ts): the mean and biased variance of x over every
 * axis but the last, in one pass from memory on all threads (channel_moments: each chunk of rows
 * summed, then its squares about its own mean while it is in the cache; the chunks combined in
 * double precision), and 1 / √(variance + ε) as tfjs's float32 ops compute it (the sum rounded, the
 * square root rounded, the quotient rounded: what `tf.rsqrt(tf.add(variance, ε))` gives, in no
 * kernel call of its own).
 */
function batchNormMomentsKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const eps = Math.fround((args.attrs as { varianceEpsilon?: number } | undefined)?.varianceEpsilon ?? 0);
  const [, c] = batchNormRows(BATCH_NORM_MOMENTS, x);
  const { mean, variance } = nativeChannelMoments(backend, x);
  // From the variance as stored (rounded to float32), not read back: a view of the heap made before
  // the next allocation would be detached if that allocation grew the (unshared) memory.
  const invStd = vectorOf(backend, c, (i) => 1 / Math.fround(Math.sqrt(Math.fround(Math.fround(variance[i]!) + eps))));
  return [vectorOf(backend, c, (i) => mean[i]!), vectorOf(backend, c, (i) => variance[i]!), invStd];
}

export const batchNormMomentsConfig: WasmKernel = { kernelName: BATCH_NORM_MOMENTS, kernelFunc: batchNormMomentsKernel };
