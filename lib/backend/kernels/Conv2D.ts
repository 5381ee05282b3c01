import * as tf from '@tensorflow/tfjs';
import { nativeConv2D } from '../native-conv';
import { type KernelArgs, type Pad, type RoundingMode, type WasmKernel, builtin, calledByEngine } from './kernel-util';

/**
 * Forward convolution (`Conv2D`, and `FusedConv2D` with no bias or a per-channel one, and no
 * activation or ReLU) by conv-kernels.c, faster than XNNPACK here (lib/backend/native-conv.ts);
 * the builtin for the rest.
 */
function forwardConv(kernelName: 'Conv2D' | 'FusedConv2D') {
  return (args: KernelArgs): tf.TensorInfo => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = (args.attrs ?? {}) as {
      strides: number | [number, number];
      pad: Pad;
      dataFormat?: 'NHWC' | 'NCHW';
      dilations?: number | [number, number];
      dimRoundingMode?: RoundingMode;
      activation?: string;
    };
    const activation = attrs.activation ?? 'linear';
    if (
      (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
      preluActivationWeights === undefined &&
      (activation === 'linear' || activation === 'relu')
    ) {
      const X = x as tf.TensorInfo;
      const F = filter as tf.TensorInfo;
      const info = tf.backend_util.computeConv2DInfo(
        X.shape as [number, number, number, number],
        F.shape as [number, number, number, number],
        attrs.strides,
        attrs.dilations ?? 1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        'channelsLast',
      );
      const out = nativeConv2D(args.backend, X, F, info, bias, activation === 'relu', calledByEngine());
      if (out !== undefined) return out;
    }
    return builtin(kernelName)(args) as tf.TensorInfo;
  };
}

export const conv2DConfig: WasmKernel = { kernelName: 'Conv2D', kernelFunc: forwardConv('Conv2D') };
export const fusedConv2DConfig: WasmKernel = { kernelName: 'FusedConv2D', kernelFunc: forwardConv('FusedConv2D') };
