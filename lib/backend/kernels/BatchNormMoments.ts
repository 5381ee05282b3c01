import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_MOMENTS } from '../kernel-names';
import { nativeChannelMoments } from '../native-conv';
import { type KernelArgs, type WasmBackendLike, type WasmKernel } from './kernel-util';
import { batchNormRows, vectorOf } from './per-channel';

/**
 * Batch norm's batch statistics (lib/model/batch-norm.ts): the mean and biased variance of x over every
 * axis but the last, in one pass of channel_moments on all threads (Σ (x − x₀) and Σ (x − x₀)², x₀
 * the first row): μ = x₀ + Σ (x − x₀) / m, σ² = Σ (x − x₀)² / m − (μ − x₀)².
 */
function batchNormMomentsKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const [rows, c] = batchNormRows(BATCH_NORM_MOMENTS, x);
  const sums = nativeChannelMoments(backend, x);
  const x0 = Float64Array.from((backend.typedArrayFromHeap(x) as Float32Array).subarray(0, c));
  const shift = Float64Array.from({ length: c }, (_, i) => sums[i] / rows); // μ − x₀
  const mean = vectorOf(backend, c, (i) => x0[i] + shift[i]);
  return [mean, vectorOf(backend, c, (i) => Math.max(0, sums[c + i] / rows - shift[i] * shift[i]))];
}

export const batchNormMomentsConfig: WasmKernel = { kernelName: BATCH_NORM_MOMENTS, kernelFunc: batchNormMomentsKernel };
