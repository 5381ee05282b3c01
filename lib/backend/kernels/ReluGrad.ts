import * as tf from '@tensorflow/tfjs';
import { RELU_GRAD } from '../kernel-names';
import { nativeElementwise } from '../native-conv';
import type { KernelArgs, WasmKernel } from './kernel-util';

/** ReLU's gradient from its output, dy · [y > 0] (../kernel-names.ts), by relu_grad on all threads. */
function reluGradKernel(args: KernelArgs): tf.TensorInfo {
  const { dy, y } = args.inputs as Record<string, tf.TensorInfo>;
  const dx = nativeElementwise(args.backend, 'relu_grad', dy, y);
  if (dx === undefined) throw new Error(`${RELU_GRAD} on wasm: float32 dy and y of one shape only`);
  return dx;
}

export const reluGradConfig: WasmKernel = { kernelName: RELU_GRAD, kernelFunc: reluGradKernel };
