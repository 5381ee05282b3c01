/** Pieces of the convolution gradients: a stride-1 forward convolution with explicit padding, a crop and a subsampling of NHWC tensors. */
import * as tf from '@tensorflow/tfjs';
import { type Pad, type RoundingMode, type WasmBackendLike, runKernel } from './kernel-util';

/**
 * A stride-1 forward convolution (XNNPACK) with explicit zero padding; a negative bottom/right
 * pad means the caller already cropped those rows/columns, so it pads 0 there.
 */
export function stride1Conv(
  backend: object,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  p: { top: number; bottom: number; left: number; right: number },
  dilations: [number, number],
): tf.TensorInfo {
  return runKernel(
    backend,
    'Conv2D',
    { x, filter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [p.top, Math.max(0, p.bottom)],
        [p.left, Math.max(0, p.right)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations,
      dimRoundingMode: undefined,
    },
  );
}

export function cropHW(backend: object, t: tf.TensorInfo, h: number, w: number): tf.TensorInfo {
  const [n, , , c] = t.shape;
  return runKernel(backend, 'Slice', { x: t }, { begin: [0, 0, 0, 0], size: [n, h, w, c] });
}

export function subsample(backend: WasmBackendLike, x: tf.TensorInfo, sh: number, sw: number, oh: number, ow: number): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  const out = backend.makeOutput([n, oh, ow, c], 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array; // views after makeOutput (heap growth)
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      let from = (b * h + i * sh) * w * c;
      for (let j = 0; j < ow; j++, from += sw * c) for (let k = 0; k < c; k++) dst[o++] = src[from + k];
    }
  }
  return out;
}

/** The attributes both convolution gradients take (Conv2DBackpropFilter, Conv2DBackpropInput). */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: RoundingMode;
}

/** The forward convolution a gradient belongs to, from its input's shape and its filter's. */
export function forwardConvInfo(attrs: ConvGradAttrs, xShape: number[], filterShape: number[]): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    attrs.dataFormat === 'NCHW' ? 'channelsFirst' : 'channelsLast',
  );
}
