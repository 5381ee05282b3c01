/** Per-channel arithmetic on NHWC tensors (batch norm's scalings and centring): the library's channel_affine on all threads, else XNNPACK's 1×1 depthwise convolutions. */
import * as tf from '@tensorflow/tfjs';
import { nativeChannelAffine } from '../native-conv';
import { type WasmBackendLike, release, runKernel, view } from './kernel-util';
import { rowsOf } from '../native-conv';

/** Below this many values the builtins' broadcasting loops are as fast as an XNNPACK call. */
export const MIN_XNNPACK_SIZE = 4096;

export function perChannelOf(big: tf.TensorInfo, small: tf.TensorInfo | undefined): number {
  if (small === undefined || big.shape.length !== 4 || big.dtype !== 'float32' || small.dtype !== 'float32') return 0;
  const c = big.shape[3];
  const s = small.shape;
  const fits = (s.length === 1 && s[0] === c) || (s.length === 4 && s[0] === 1 && s[1] === 1 && s[2] === 1 && s[3] === c);
  return c > 0 && fits ? c : 0;
}

export function vectorOf(backend: WasmBackendLike, c: number, f: (i: number) => number): tf.TensorInfo {
  const out = backend.makeOutput([c], 'float32');
  const v = backend.typedArrayFromHeap(out);
  for (let i = 0; i < c; i++) v[i] = f(i);
  return out;
}

export function affinePerChannel(backend: WasmBackendLike, x: tf.TensorInfo, scale: tf.TensorInfo, bias: tf.TensorInfo): tf.TensorInfo {
  return runKernel(
    backend,
    'FusedDepthwiseConv2D',
    { x, filter: view(scale, [1, 1, x.shape[3], 1]), bias },
    { strides: [1, 1], pad: 'valid', dilations: [1, 1], dimRoundingMode: undefined, dataFormat: 'NHWC', activation: 'linear' },
  );
}

export function addPerChannel(backend: WasmBackendLike, x: tf.TensorInfo, n: tf.TensorInfo): tf.TensorInfo {
  const native = nativeChannelAffine(backend, x, { add: n });
  if (native !== undefined) return native;
  const ones = vectorOf(backend, n.shape[0], () => 1);
  const out = affinePerChannel(backend, x, ones, n);
  release(backend, ones);
  return out;
}

export function subtractPerChannel(backend: WasmBackendLike, x: tf.TensorInfo, m: ArrayLike<number>): tf.TensorInfo {
  const negated = vectorOf(backend, m.length, (i) => -m[i]);
  const out = addPerChannel(backend, x, negated);
  release(backend, negated);
  return out;
}

export function batchNormRows(kernelName: string, x: tf.TensorInfo): [rows: number, channels: number] {
  if (x.dtype !== 'float32' || x.shape.length === 0)
    throw new Error(`${kernelName} on wasm: x must be a float32 tensor with channels last`);
  return rowsOf(x);
}
