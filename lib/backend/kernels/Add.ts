import * as tf from '@tensorflow/tfjs';
import { nativeElementwise } from '../native-conv';
import { type KernelArgs, type WasmKernel, builtin, calledByEngine } from './kernel-util';
import { MIN_XNNPACK_SIZE } from './per-channel';

/**
 * a + b for two float32 tensors of one shape (a block's F(x) + x, and in the backward pass a
 * gradient that reached a tensor by two paths) by add_same on all threads; XNNPACK's (one thread)
 * for anything else. The same sums.
 */
function addKernel(args: KernelArgs): tf.TensorInfo {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const native =
    tf.util.sizeFromShape(a.shape) >= MIN_XNNPACK_SIZE ? nativeElementwise(args.backend, 'add_same', a, b, calledByEngine()) : undefined;
  return native ?? (builtin('Add')(args) as tf.TensorInfo);
}

export const addConfig: WasmKernel = { kernelName: 'Add', kernelFunc: addKernel };
