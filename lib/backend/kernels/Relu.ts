import * as tf from '@tensorflow/tfjs';
import { nativeElementwise } from '../native-conv';
import { reluOfPending } from '../pending-affine';
import { type KernelArgs, type WasmKernel, builtin, calledByEngine } from './kernel-util';
import { MIN_XNNPACK_SIZE } from './per-channel';

/**
 * max(x, 0) of a float32 tensor by relu on all threads, or, where x is a batch norm's output not yet
 * written, together with it in one pass (pending-affine.ts); XNNPACK's (one thread) for small or
 * other tensors.
 */
function reluKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const fused = reluOfPending(args.backend, x, calledByEngine());
  if (fused !== undefined) return fused;
  const native =
    tf.util.sizeFromShape(x.shape) >= MIN_XNNPACK_SIZE ? nativeElementwise(args.backend, 'relu', x, x, calledByEngine()) : undefined;
  return native ?? (builtin('Relu')(args) as tf.TensorInfo);
}

export const reluConfig: WasmKernel = { kernelName: 'Relu', kernelFunc: reluKernel };
