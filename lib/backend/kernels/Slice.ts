import * as tf from '@tensorflow/tfjs';
import { nativeCopyRuns } from '../native-conv';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, builtin } from './kernel-util';

/**
 * Slice by contiguous runs. The builtin walks a strided slice element by element (as in the
 * [128, 34, 34, 16] → [128, 32, 32, 16] crop that is the gradient of a strided convolution's
 * symmetric zero padding, see `conv` in lib/model/layers.ts); every slice is a set of runs of
 * `size[k] · Π shape[k+1..]` contiguous values, k being the innermost axis the slice cuts,
 * each copied with one `TypedArray.set`.
 */
function sliceKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const attrs = args.attrs as { begin: number | number[]; size: number | number[] };
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') return builtin('Slice')(args) as tf.TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin, attrs.size);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin, size);
  const rank = x.shape.length;
  if (rank === 4 && x.dtype === 'float32' && begin[0] === 0 && begin[3] === 0 && size[3] === x.shape[3] && size.every((d) => d > 0)) {
    // A crop of rows and columns (NHWC): runs of size[2]·C floats, by copy_runs on all threads.
    const [, h, w, c] = x.shape;
    const native = nativeCopyRuns(backend, x, size, {
      outer: size[0],
      inner: size[1],
      run: size[2] * c,
      src: { outer: h * w * c, inner: w * c, at: (begin[1] * w + begin[2]) * c },
      dst: { outer: size[1] * size[2] * c, inner: size[2] * c, at: 0, zero: false },
    });
    if (native !== undefined) return native;
  }
  const out = backend.makeOutput(size, x.dtype);
  if (size.some((d) => d === 0)) return out;
  // Views after makeOutput: allocating may have grown (and detached) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  let k = rank - 1; // innermost axis that the slice cuts
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
  const strides = new Array<number>(rank).fill(1); // element strides of x
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * x.shape[d + 1];
  const run = size[k] * strides[k];
  const idx = new Array<number>(k).fill(0); // odometer over the axes before k
  const runs = size.slice(0, k).reduce((p, d) => p * d, 1);
  for (let r = 0, o = 0; r < runs; r++, o += run) {
    let from = begin[k] * strides[k];
    for (let d = 0; d < k; d++) from += (begin[d] + idx[d]) * strides[d];
    dst.set(src.subarray(from, from + run) as never, o);
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export const sliceConfig: WasmKernel = { kernelName: 'Slice', kernelFunc: sliceKernel };
