import * as tf from '@tensorflow/tfjs';
import { SGD_STEP } from '../kernel-names';
import { nativeSgdStep } from '../native-conv';
import type { KernelArgs, WasmKernel } from './kernel-util';

/** One step of SGD with momentum for one variable (../kernel-names.ts), by sgd_step on all threads. */
function sgdStepKernel(args: KernelArgs): tf.TensorInfo[] {
  const { w, g, v } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const attrs = args.attrs as unknown as { lr: number; momentum: number; weightDecay: number };
  const out = nativeSgdStep(args.backend, { w: w as tf.TensorInfo, g: g as tf.TensorInfo, v }, attrs);
  if (out === undefined) throw new Error(`${SGD_STEP} on wasm: float32 w, g and v of one shape only`);
  return out;
}

export const sgdStepConfig: WasmKernel = { kernelName: SGD_STEP, kernelFunc: sgdStepKernel };
