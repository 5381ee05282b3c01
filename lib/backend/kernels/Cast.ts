import * as tf from '@tensorflow/tfjs';
import { share } from './Identity';
import { type KernelArgs, type WasmKernel, builtin } from './kernel-util';

/** Cast to the tensor's own dtype shares the data (see Identity.ts); any other cast is the builtin's. */
function castKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const { dtype } = args.attrs as { dtype: tf.DataType };
  return x.dtype === dtype && dtype !== 'string' ? share(args) : (builtin('Cast')(args) as tf.TensorInfo);
}

export const castConfig: WasmKernel = { kernelName: 'Cast', kernelFunc: castKernel };
