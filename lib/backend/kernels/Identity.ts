import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, builtin } from './kernel-util';

/**
 * Identity, and Cast to the tensor's own dtype: share the data (one more reference), as the cpu
 * backend does, instead of copying it. Tensors are immutable, so sharing is safe; the builtin
 * copies every clone (~80 clones of 8 MB per ResNet-20 training step at batch 128).
 */
export function share(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  (args.backend as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identityKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  return x.dtype === 'string' ? (builtin('Identity')(args) as tf.TensorInfo) : share(args);
}

export const identityConfig: WasmKernel = { kernelName: 'Identity', kernelFunc: identityKernel };
