import * as tf from '@tensorflow/tfjs';
import { nativeChannelAffine } from '../native-conv';
import { type KernelArgs, type WasmKernel, builtin, runKernel, view } from './kernel-util';
import { MIN_XNNPACK_SIZE, perChannelOf } from './per-channel';

/**
 * x · s with x [N, H, W, C] and s per channel ([C] or [1, 1, 1, C]) — batch norm's scalings and
 * their gradients — by channel_affine on all threads, or as a 1×1 depthwise convolution with s
 * as the filter (XNNPACK), instead of the builtin broadcasting loop. Same
 * products, same values.
 */
function multiplyKernel(args: KernelArgs): tf.TensorInfo {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const [big, small] = perChannelOf(a, b) > 0 ? [a, b] : perChannelOf(b, a) > 0 ? [b, a] : [undefined, undefined];
  if (big === undefined || small === undefined || tf.util.sizeFromShape(big.shape) < MIN_XNNPACK_SIZE) {
    return builtin('Multiply')(args) as tf.TensorInfo;
  }
  const native = nativeChannelAffine(args.backend, big, { scale: small });
  if (native !== undefined) return native;
  return runKernel(
    args.backend,
    'DepthwiseConv2dNative',
    { x: big, filter: view(small, [1, 1, big.shape[3], 1]) },
    { strides: [1, 1], pad: 'valid', dilations: [1, 1], dimRoundingMode: undefined },
  );
}

export const multiplyConfig: WasmKernel = { kernelName: 'Multiply', kernelFunc: multiplyKernel };
