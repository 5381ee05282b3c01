import * as tf from '@tensorflow/tfjs';
import { nativeElementwise } from '../native-conv';
import { addOfPending } from '../pending-affine';
import { type KernelArgs, type WasmKernel, builtin, calledByEngine } from './kernel-util';
import { MIN_XNNPACK_SIZE } from './per-channel';

/**
 * a + b for two float32 tensors of one shape (a block's F(x) + x, and in the backward pass a
 * gradient that reached a tensor by two paths) by add_same on all threads, or, where one is a batch
 * norm's output not yet written, left pending as its affine map with the other added
 * (pending-affine.ts: the ReLU after it computes both in one pass); XNNPACK's (one thread) for
 * anything else. The same sums.
 */
function addKernel(args: KernelArgs): tf.TensorInfo {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const fused = addOfPending(args.backend, a, b);
  if (fused !== undefined) return fused;
  const native =
    tf.util.sizeFromShape(a.shape) >= MIN_XNNPACK_SIZE ? nativeElementwise(args.backend, 'add_same', a, b, calledByEngine()) : undefined;
  return native ?? (builtin('Add')(args) as tf.TensorInfo);
}

export const addConfig: WasmKernel = { kernelName: 'Add', kernelFunc: addKernel };
