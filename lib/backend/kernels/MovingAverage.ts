import * as tf from '@tensorflow/tfjs';
import { MOVING_AVERAGE } from '../kernel-names';
import type { KernelArgs, WasmBackendLike, WasmKernel } from './kernel-util';

/**
 * Batch norm's running statistic (../kernel-names.ts), a few floats per channel: on this thread,
 * rounding each step to float32 as tfjs's `mul`, `sub` and `mul` would.
 */
function movingAverageKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { average, value } = args.inputs as Record<string, tf.TensorInfo>;
  const { momentum, scale } = args.attrs as unknown as { momentum: number; scale: number };
  if (average.dtype !== 'float32' || value.dtype !== 'float32' || !tf.util.arraysEqual(average.shape, value.shape))
    throw new Error(`${MOVING_AVERAGE} on wasm: float32 average and value of one shape only`);
  const out = backend.makeOutput(average.shape, 'float32');
  // Views after makeOutput: allocating may have grown (and detached) the heap.
  const [a, v, y] = [average, value, out].map((t) => backend.typedArrayFromHeap(t));
  const [s, k] = [Math.fround(scale), Math.fround(1 - momentum)];
  for (let i = 0; i < y!.length; i++) {
    const scaled = s === 1 ? v![i]! : Math.fround(v![i]! * s);
    y![i] = a![i]! - Math.fround(Math.fround(a![i]! - scaled) * k);
  }
  return out;
}

export const movingAverageConfig: WasmKernel = { kernelName: MOVING_AVERAGE, kernelFunc: movingAverageKernel };
