import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_MOMENTS } from '../kernel-names';
import { nativeChannelSums } from '../native-conv';
import { type KernelArgs, type WasmBackendLike, type WasmKernel } from './kernel-util';
import { batchNormRows, vectorOf } from './per-channel';

/**
 * Batch norm's batch statistics (lib/model/batch-norm.ts): the mean and biased variance of x over every
 * axis but the last, in two passes of channel_sums on all threads (Σ x, then Σ (x − μ)²).
 */
function batchNormMomentsKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const [rows, c] = batchNormRows(BATCH_NORM_MOMENTS, x);
  const sums = nativeChannelSums(backend, x);
  const mean = vectorOf(backend, c, (i) => sums[i] / rows);
  const squares = nativeChannelSums(backend, x, undefined, mean);
  return [mean, vectorOf(backend, c, (i) => squares[i] / rows)];
}

export const batchNormMomentsConfig: WasmKernel = { kernelName: BATCH_NORM_MOMENTS, kernelFunc: batchNormMomentsKernel };
