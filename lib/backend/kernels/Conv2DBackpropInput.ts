import * as tf from '@tensorflow/tfjs';
import { nativeInputGrad } from '../native-conv';
import { type ConvGradAttrs, cropHW, forwardConvInfo, stride1Conv } from './conv-util';
import { type KernelArgs, type WasmKernel, builtin, release, runKernel, view } from './kernel-util';

/**
 * dx = dy (zeros inserted between pixels for stride s) correlated with the filter rotated 180°,
 * in/out channels swapped: the transposed convolution, as a forward convolution.
 */
function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { backend, inputs } = args;
  const attrs = (args.attrs ?? {}) as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const info = forwardConvInfo(attrs, attrs.inputShape, filter.shape);
  const { batchSize: n, inHeight: h, inWidth: w, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (attrs.dataFormat !== 'NCHW') {
    const native = nativeInputGrad(backend, dy, filter, info);
    if (native !== undefined) return native;
  }
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  if (attrs.dataFormat === 'NCHW' || top < 0 || left < 0) {
    // Layouts and paddings this composition does not cover: the backend's own (slow) kernel.
    return builtin('Conv2DBackpropInput')(args) as tf.TensorInfo;
  }

  // Filter [KH, KW, Cin, Cout] → rotated 180° and transposed: [KH, KW, Cout, Cin].
  let rotated = filter;
  if (kh > 1 || kw > 1) rotated = runKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const wT = runKernel(backend, 'Transpose', { x: rotated }, { perm: [0, 1, 3, 2] });
  if (rotated !== filter) release(backend, rotated);

  let src = dy;
  let hs = oh;
  let ws = ow;
  if (sh > 1 || sw > 1) {
    // Insert s−1 zeros after every row and column of dy: [N·OH, 1, OW, 1, C] padded to [N·OH, sh, OW, sw, C].
    const up = runKernel(
      backend,
      'PadV2',
      { x: view(dy, [n * oh, 1, ow, 1, cout]) },
      {
        paddings: [
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    hs = oh * sh;
    ws = ow * sw;
    src = view(up, [n, hs, ws, cout]);
  }
  const bottom = h - hs - top + kh - 1;
  const right = w - ws - left + kw - 1;
  if (bottom < 0 || right < 0) {
    // Rows/columns of dy past the input's edge (zeros, or pixels that only saw padding).
    const cropped = cropHW(backend, src, hs + Math.min(0, bottom), ws + Math.min(0, right));
    if (src !== dy) release(backend, src);
    src = cropped;
  }
  const dx = stride1Conv(backend, src, wT, { top, bottom, left, right }, [1, 1]);
  if (src !== dy) release(backend, src);
  release(backend, wT);
  return dx;
}

export const conv2DBackpropInputConfig: WasmKernel = { kernelName: 'Conv2DBackpropInput', kernelFunc: conv2DBackpropInput };
