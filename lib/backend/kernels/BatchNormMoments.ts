import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_MOMENTS } from '../kernel-names';
import { nativeChannelMoments } from '../native-conv';
import { type KernelArgs, type WasmBackendLike, type WasmKernel } from './kernel-util';
import { batchNormRows, vectorOf } from './per-channel';

/**
 * Batch norm's batch statistics (lib/model/batch-norm.ts): the mean and biased variance of x over every
 * axis but the last, in one pass from memory on all threads (channel_moments: each chunk of rows
 * summed, then its squares about its own mean while it is in the cache; the chunks combined in
 * double precision).
 */
function batchNormMomentsKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const [, c] = batchNormRows(BATCH_NORM_MOMENTS, x);
  const { mean, variance } = nativeChannelMoments(backend, x);
  return [vectorOf(backend, c, (i) => mean[i]!), vectorOf(backend, c, (i) => variance[i]!)];
}

export const batchNormMomentsConfig: WasmKernel = { kernelName: BATCH_NORM_MOMENTS, kernelFunc: batchNormMomentsKernel };
