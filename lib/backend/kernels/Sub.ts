import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, builtin } from './kernel-util';
import { MIN_XNNPACK_SIZE, perChannelOf, subtractPerChannel } from './per-channel';

/**
 * x − m with m per channel (batch norm's centring, in `moments` and in its gradient): x + (−m)
 * by channel_affine on all threads, or x·1 + (−m) as a depthwise convolution with bias; both are
 * exactly x − m, and faster than the builtin broadcasting loop.
 */
function subKernel(args: KernelArgs): tf.TensorInfo {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const c = perChannelOf(a, b);
  if (c === 0 || tf.util.sizeFromShape(a.shape) < MIN_XNNPACK_SIZE) return builtin('Sub')(args) as tf.TensorInfo;
  const backend = args.backend as WasmBackendLike;
  return subtractPerChannel(backend, a, backend.typedArrayFromHeap(b).slice()); // a copy: the heap may grow
}

export const subConfig: WasmKernel = { kernelName: 'Sub', kernelFunc: subKernel };
