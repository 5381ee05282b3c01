import * as tf from '@tensorflow/tfjs';
import { nativeCopyRuns } from '../native-conv';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, builtin } from './kernel-util';

/**
 * Zero padding of the rows and columns of an NHWC float32 tensor (before the stride-2
 * convolutions, §4.2's 3×3 with padding 1 on both sides): each output image zeroed, then each input
 * row copied into place, by copy_runs on all threads (4k channels) or row by row here; the builtin
 * walks it element by element.
 */
function padKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
  const spatial =
    x.dtype === 'float32' &&
    x.shape.length === 4 &&
    constantValue === 0 &&
    paddings.length === 4 &&
    paddings[0][0] === 0 &&
    paddings[0][1] === 0 &&
    paddings[3][0] === 0 &&
    paddings[3][1] === 0 &&
    paddings.every(([a, b]) => a >= 0 && b >= 0);
  if (!spatial) return builtin('PadV2')(args) as tf.TensorInfo;
  const [n, h, w, c] = x.shape;
  const [[top, bottom], [left, right]] = [paddings[1], paddings[2]];
  const [ph, pw] = [h + top + bottom, w + left + right];
  const native = nativeCopyRuns(args.backend, x, [n, ph, pw, c], {
    outer: n,
    inner: h,
    run: w * c,
    src: { outer: h * w * c, inner: w * c, at: 0 },
    dst: { outer: ph * pw * c, inner: pw * c, at: (top * pw + left) * c, zero: true },
  });
  if (native !== undefined) return native;
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput([n, ph, pw, c], 'float32');
  const dst = backend.typedArrayFromHeap(out) as Float32Array; // views after makeOutput (heap growth)
  dst.fill(0);
  const heap = new Float32Array(dst.buffer); // one view: rows move with copyWithin, no subarrays
  const [from, to] = [backend.typedArrayFromHeap(x).byteOffset / 4, dst.byteOffset / 4];
  const row = w * c;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++) {
      const at = from + (b * h + i) * row;
      heap.copyWithin(to + ((b * ph + i + top) * pw + left) * c, at, at + row);
    }
  return out;
}

export const padV2Config: WasmKernel = { kernelName: 'PadV2', kernelFunc: padKernel };
