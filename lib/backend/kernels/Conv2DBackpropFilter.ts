import * as tf from '@tensorflow/tfjs';
import { nativeFilterGrad } from '../native-conv';
import { type ConvGradAttrs, cropHW, forwardConvInfo, stride1Conv, subsample } from './conv-util';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, checkNHWC, release, runKernel, view } from './kernel-util';

/**
 * dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·s + kh − padTop, ow·s + kw − padLeft, ci] · dy[n, oh, ow, co].
 */
function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { backend, inputs } = args;
  const attrs = (args.attrs ?? {}) as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const info = forwardConvInfo(attrs, x.shape, attrs.filterShape);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const filterShape = [kh, kw, cin, cout];
  const native = nativeFilterGrad(backend, x, dy, info);
  if (native !== undefined) return native;

  if (kh === 1 && kw === 1 && top === 0 && left === 0 && x.dtype === 'float32') {
    // A 1×1 layer is a matrix product over the pixels it reads: dW = x_sᵀ · dy, with x_s the
    // pixels (s·i, s·j) (the projection shortcut W_s of Eq. 2 has stride 2).
    const pixels = n * oh * ow;
    const xs = sh === 1 && sw === 1 && oh === h && ow === w ? x : subsample(backend as WasmBackendLike, x, sh, sw, oh, ow);
    const xT = runKernel(backend, 'Transpose', { x: view(xs, [pixels, cin]) }, { perm: [1, 0] });
    if (xs !== x) release(backend, xs);
    const prod = runKernel(backend, 'BatchMatMul', { a: xT, b: view(dy, [pixels, cout]) }, { transposeA: false, transposeB: false });
    release(backend, xT);
    return view(prod, filterShape);
  }

  // Bottom/right padding that makes the "valid" correlation of x with the dilated dy exactly KH×KW.
  const bottom = kh + (oh - 1) * sh - h - top;
  const right = kw + (ow - 1) * sw - w - left;
  const xt = runKernel(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] }); // [Cin, H, W, N]
  let input = xt;
  if (bottom < 0 || right < 0) {
    // Trailing rows/columns that no output pixel reads (valid padding, stride > 1).
    input = cropHW(backend, xt, h + Math.min(0, bottom), w + Math.min(0, right));
    release(backend, xt);
  }
  const dyt = runKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, N, Cout]
  const corr = stride1Conv(backend, input, dyt, { top, bottom, left, right }, [sh, sw]); // [Cin, KH, KW, Cout]
  release(backend, input, dyt);
  const out = runKernel(backend, 'Transpose', { x: corr }, { perm: [1, 2, 0, 3] });
  release(backend, corr);
  return out;
}

export const conv2DBackpropFilterConfig: WasmKernel = { kernelName: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter };
