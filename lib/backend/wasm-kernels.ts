/**
 * Kernels that let the `wasm` backend (XNNPACK) train a ResNet, and train it faster.
 *
 * tfjs-backend-wasm 4.x has no `Conv2DBackpropFilter` kernel (so `tf.grad` of a convolution
 * throws), and its `Conv2DBackpropInput` is a naive loop about ten times slower than a forward
 * convolution. Back-propagation through a convolution (the chain rule of §3 of He et al., 2015,
 * applied to every 3×3 and 1×1 layer) is itself a convolution. The convolutions, forward and both
 * gradients, run on the library's own WebAssembly SIMD kernels (lib/backend/native-conv.ts; 3×3
 * of stride 1 by Winograd's minimal filtering) where they apply (float32, channels out a multiple
 * of 4, no dilation); elsewhere both gradients are written as the backend's own fast kernels
 * (`Conv2D`, `Transpose`, `PadV2`, `BatchMatMul`, …) composed:
 *
 * - dW (filter gradient): a forward convolution of the input x, laid out as [Cin, H, W, N]
 *   (channels ← batch), with the output gradient dy as the filter, laid out [OH, OW, N, Cout],
 *   dilated by the stride. Output [Cin, KH, KW, Cout], transposed to [KH, KW, Cin, Cout].
 *   An unpadded 1×1 layer is one matrix product x_sᵀ·dy instead (x_s: the pixels it reads).
 * - dx (input gradient): a forward convolution of dy (zeros inserted between its pixels when the
 *   stride is above 1) with the filter rotated 180° and its channel axes swapped.
 *
 * Batch norm's training graph (tfjs-core's FusedBatchNorm gradient and `moments`) also leaned on
 * slow builtins, replaced here: `Tile` and `Slice` (block copies), `Sum`/`Mean` over leading axes (XNNPACK
 * average pooling), `Identity`/same-dtype `Cast` (shared data instead of copies), and `Multiply`,
 * `Sub` and `FusedBatchNorm` by a per-channel vector (channel_affine of conv-kernels.c, on all
 * threads; else a 1×1 depthwise convolution). The batch-norm layer's own training pass
 * (lib/batch-norm.ts) runs on two kernels registered here, `ResidualBatchNormMoments` and
 * `ResidualBatchNormGrad` (per-channel sums and the input gradient, in conv-kernels.c), and the
 * zero padding before stride-2 convolutions (`PadV2`) is row copies.
 *
 * Intermediate tensors live only on the backend: each is released with `backend.disposeData`,
 * and the kernel returns a fresh tensor that the engine then owns.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_GRAD, BATCH_NORM_MOMENTS } from '../batch-norm';
import { nativeBatchNormInputGrad, nativeChannelAffine, nativeChannelSums, nativeConv2D, nativeFilterGrad, nativeInputGrad, rowsOf } from './native-conv';

/** What these kernels need of the wasm backend object (`BackendWasm`). */
interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of the tensor's bytes on the wasm heap; invalid once the heap grows (after makeOutput). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}

const BACKEND = 'wasm';

/** Run another wasm kernel on backend-level tensors (no engine bookkeeping). */
function runKernel(backend: object, name: string, inputs: tf.NamedTensorInfoMap, attrs: object = {}): tf.TensorInfo {
  const config = tf.getKernel(name, BACKEND);
  if (config === undefined) throw new Error(`wasm training kernels: kernel '${name}' is not registered for the wasm backend`);
  const out = config.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`wasm training kernels: kernel '${name}' returned several tensors`);
  return out;
}

/** The same data seen with another shape (a free reshape: no copy, no new reference). */
function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function release(backend: object, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) (backend as WasmBackendLike).disposeData(t.dataId);
}

/**
 * A stride-1 forward convolution (XNNPACK) with explicit zero padding; a negative bottom/right
 * pad means the caller already cropped those rows/columns, so it pads 0 there.
 */
function stride1Conv(
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

/** Rows [0, h) and columns [0, w) of an NHWC tensor (a new tensor). */
function cropHW(backend: object, t: tf.TensorInfo, h: number, w: number): tf.TensorInfo {
  const [n, , , c] = t.shape;
  return runKernel(backend, 'Slice', { x: t }, { begin: [0, 0, 0, 0], size: [n, h, w, c] });
}


/** x[:, ::sh, ::sw, :] cut to [N, oh, ow, C] (rows of C contiguous floats copied on the heap). */
function subsample(backend: WasmBackendLike, x: tf.TensorInfo, sh: number, sw: number, oh: number, ow: number): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  const out = backend.makeOutput([n, oh, ow, c], 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array; // views after makeOutput (heap growth)
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      let from = ((b * h + i * sh) * w) * c;
      for (let j = 0; j < ow; j++, from += sw * c) for (let k = 0; k < c; k++) dst[o++] = src[from + k];
    }
  }
  return out;
}

function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm: dataFormat '${String(dataFormat)}' is not supported, use 'NHWC' (channels last)`);
  }
}

/**
 * dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·s + kh − padTop, ow·s + kw − padLeft, ci] · dy[n, oh, ow, co].
 */
function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { backend, inputs } = args;
  const attrs = (args.attrs ?? {}) as {
    strides: number | [number, number];
    pad: Pad;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: RoundingMode;
    filterShape: [number, number, number, number];
  };
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
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

/**
 * dx = dy (zeros inserted between pixels for stride s) correlated with the filter rotated 180°,
 * in/out channels swapped: the transposed convolution, as a forward convolution.
 */
function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { backend, inputs } = args;
  const attrs = (args.attrs ?? {}) as {
    strides: number | [number, number];
    pad: Pad;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: RoundingMode;
    inputShape: [number, number, number, number];
  };
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    attrs.dataFormat === 'NCHW' ? 'channelsFirst' : 'channelsLast',
  );
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


/**
 * Tile by block copies on the wasm heap. The builtin kernel walks every output element through
 * index arithmetic (~170 ms for [1,1,1,16] → [128,32,32,16], the broadcast of batch-norm's
 * gradient); copying whole blocks and doubling them with `copyWithin` is ~100× faster.
 */
function tileKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const reps = (args.attrs as { reps: number[] }).reps;
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') return builtin('Tile')(args) as tf.TensorInfo;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  const size = outShape.reduce((a, b) => a * b, 1);
  if (size === 0) return out;
  // Views after makeOutput: allocating may have grown (and detached) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  dst.set(src as never, 0);
  // Stage d holds x tiled along dims d..rank−1, compactly, at the start of dst: shape
  // [s0, …, s(d−1), o(d), …, o(rank−1)]. Expand the blocks of dim d back to front (no overlap).
  let inner = 1; // product of o(d+1..rank−1)
  for (let d = rank - 1; d >= 0; d--) {
    const s = x.shape[d];
    const r = reps[d];
    if (r !== 1) {
      const block = s * inner;
      const bigBlock = block * r;
      let outer = 1;
      for (let i = 0; i < d; i++) outer *= x.shape[i];
      for (let k = outer - 1; k >= 0; k--) {
        const from = k * block;
        const to = k * bigBlock;
        if (from !== to) dst.copyWithin(to, from, from + block);
        let filled = block;
        while (filled < bigBlock) {
          const n = Math.min(filled, bigBlock - filled);
          dst.copyWithin(to + filled, to, to + n);
          filled += n;
        }
      }
    }
    inner *= s * r;
  }
  return out;
}


/**
 * Slice by contiguous runs. The builtin walks a strided slice element by element (~45 ms for the
 * [128, 34, 34, 16] → [128, 32, 32, 16] crop that is the gradient of a strided convolution's
 * symmetric zero padding, see `conv` in lib/layers.ts); every slice is a set of runs of
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


/**
 * Sum / Mean over the leading axes of a float32 tensor (the per-channel reductions of batch norm
 * and of its gradient over N, H, W). The builtin transposes the reduced axes innermost first
 * (~6 ms for [128,32,32,16]); XNNPACK's average pooling over a [1, R, 1, C] view with an R×1
 * window reads the data once (~0.5 ms).
 */
function leadingReduce(kind: 'Sum' | 'Mean'): (args: KernelArgs) => tf.TensorInfo {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.every((a, i) => a === i);
    const rows = axes.reduce((p, a) => p * x.shape[a], 1);
    const cols = x.shape.slice(axes.length).reduce((p, d) => p * d, 1);
    if (x.dtype !== 'float32' || !leading || rows < 2 || cols < 1) return builtin(kind)(args) as tf.TensorInfo;
    const backend = args.backend as WasmBackendLike;
    const pooled = runKernel(
      backend,
      'AvgPool',
      { x: view(x, [1, rows, 1, cols]) },
      { filterSize: [rows, 1], strides: [1, 1], pad: 'valid', dimRoundingMode: undefined },
    );
    if (kind === 'Sum') {
      const v = backend.typedArrayFromHeap(pooled);
      for (let i = 0; i < v.length; i++) v[i] *= rows;
    }
    const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    return view(pooled, outShape);
  };
}


/**
 * Identity, and Cast to the tensor's own dtype: share the data (one more reference), as the cpu
 * backend does, instead of copying it. Tensors are immutable, so sharing is safe; the builtin
 * copies every clone (~80 clones of 8 MB per ResNet-20 training step at batch 128).
 */
function share(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  (args.backend as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identityKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  return x.dtype === 'string' ? (builtin('Identity')(args) as tf.TensorInfo) : share(args);
}

function castKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const { dtype } = args.attrs as { dtype: tf.DataType };
  return x.dtype === dtype && dtype !== 'string' ? share(args) : (builtin('Cast')(args) as tf.TensorInfo);
}


/** Below this many values the builtins' broadcasting loops are as fast as an XNNPACK call. */
const MIN_XNNPACK_SIZE = 4096;

/** Channels C of a float32 per-channel vector ([C] or [1, 1, 1, C]) that fits `big` [N, H, W, C], else 0. */
function perChannelOf(big: tf.TensorInfo, small: tf.TensorInfo | undefined): number {
  if (small === undefined || big.shape.length !== 4 || big.dtype !== 'float32' || small.dtype !== 'float32') return 0;
  const c = big.shape[3];
  const s = small.shape;
  const fits = (s.length === 1 && s[0] === c) || (s.length === 4 && s[0] === 1 && s[1] === 1 && s[2] === 1 && s[3] === c);
  return c > 0 && fits ? c : 0;
}

/** A new float32 [C] tensor on the heap, filled by `f(i)`. */
function vectorOf(backend: WasmBackendLike, c: number, f: (i: number) => number): tf.TensorInfo {
  const out = backend.makeOutput([c], 'float32');
  const v = backend.typedArrayFromHeap(out);
  for (let i = 0; i < c; i++) v[i] = f(i);
  return out;
}

/**
 * x · s with x [N, H, W, C] and s per channel ([C] or [1, 1, 1, C]) — batch norm's scalings and
 * their gradients — by channel_affine on all threads, or as a 1×1 depthwise convolution with s
 * as the filter (XNNPACK), instead of the builtin broadcasting loop (about 3× slower). Same
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

/** x · scale + bias per channel as a 1×1 depthwise convolution with bias (XNNPACK, threaded). */
function affinePerChannel(backend: WasmBackendLike, x: tf.TensorInfo, scale: tf.TensorInfo, bias: tf.TensorInfo): tf.TensorInfo {
  return runKernel(
    backend,
    'FusedDepthwiseConv2D',
    { x, filter: view(scale, [1, 1, x.shape[3], 1]), bias },
    { strides: [1, 1], pad: 'valid', dilations: [1, 1], dimRoundingMode: undefined, dataFormat: 'NHWC', activation: 'linear' },
  );
}

/** x + n for a per-channel vector n (the negated means): natively, or x·1 + n on XNNPACK; exact. */
function addPerChannel(backend: WasmBackendLike, x: tf.TensorInfo, n: tf.TensorInfo): tf.TensorInfo {
  const native = nativeChannelAffine(backend, x, { add: n });
  if (native !== undefined) return native;
  const ones = vectorOf(backend, n.shape[0], () => 1);
  const out = affinePerChannel(backend, x, ones, n);
  release(backend, ones);
  return out;
}

/** x − m for per-channel values m: x + (−m), exactly x − m. */
function subtractPerChannel(backend: WasmBackendLike, x: tf.TensorInfo, m: ArrayLike<number>): tf.TensorInfo {
  const negated = vectorOf(backend, m.length, (i) => -m[i]);
  const out = addPerChannel(backend, x, negated);
  release(backend, negated);
  return out;
}

/**
 * Zero padding of the rows and columns of an NHWC float32 tensor (before the stride-2
 * convolutions, §4.2's 3×3 with padding 1 on both sides): the output zeroed, then each input
 * row copied into place; the builtin walks it element by element (~3× slower).
 */
function padKernel(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
  const spatial =
    x.dtype === 'float32' && x.shape.length === 4 && constantValue === 0 && paddings.length === 4 &&
    paddings[0][0] === 0 && paddings[0][1] === 0 && paddings[3][0] === 0 && paddings[3][1] === 0 &&
    paddings.every(([a, b]) => a >= 0 && b >= 0);
  if (!spatial) return builtin('PadV2')(args) as tf.TensorInfo;
  const backend = args.backend as WasmBackendLike;
  const [n, h, w, c] = x.shape;
  const [[top, bottom], [left, right]] = [paddings[1], paddings[2]];
  const [ph, pw] = [h + top + bottom, w + left + right];
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

/**
 * x − m with m per channel (batch norm's centring, in `moments` and in its gradient): x + (−m)
 * by channel_affine on all threads, or x·1 + (−m) as a depthwise convolution with bias; both are
 * exactly x − m, and about 3× faster than the builtin broadcasting loop.
 */
function subKernel(args: KernelArgs): tf.TensorInfo {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const c = perChannelOf(a, b);
  if (c === 0 || tf.util.sizeFromShape(a.shape) < MIN_XNNPACK_SIZE) return builtin('Sub')(args) as tf.TensorInfo;
  const backend = args.backend as WasmBackendLike;
  return subtractPerChannel(backend, a, backend.typedArrayFromHeap(b).slice()); // a copy: the heap may grow
}

/**
 * Batch normalisation y = (x − μ) · γ / √(σ² + ε) + β with per-channel μ, σ², γ, β (Eq. of
 * Ioffe & Szegedy, after every convolution in §3.4), in one pass of the library's
 * channel_affine on all threads (channels a multiple of 4), else two XNNPACK passes: x − μ, then
 * · (γ / √(σ² + ε)) + β. The builtin walks every element with index arithmetic (~9 ms for
 * [128, 32, 32, 16], ~4× slower than the two passes).
 */
function fusedBatchNormKernel(args: KernelArgs): tf.TensorInfo {
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const eps = (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
  const X = x as tf.TensorInfo;
  const c = perChannelOf(X, mean);
  const ok =
    c > 0 &&
    perChannelOf(X, variance) === c &&
    (offset === undefined || perChannelOf(X, offset) === c) &&
    (scale === undefined || perChannelOf(X, scale) === c) &&
    tf.util.sizeFromShape(X.shape) >= MIN_XNNPACK_SIZE;
  if (!ok) return builtin('FusedBatchNorm')(args) as tf.TensorInfo;
  const backend = args.backend as WasmBackendLike;
  const read = (t: tf.TensorInfo | undefined, fallback: number): Float64Array =>
    t === undefined ? new Float64Array(c).fill(fallback) : Float64Array.from(backend.typedArrayFromHeap(t));
  const [mu, v, beta, gamma] = [read(mean, 0), read(variance, 1), read(offset, 0), read(scale, 1)];
  const k = vectorOf(backend, c, (i) => gamma[i] / Math.sqrt(v[i] + eps));
  const b = vectorOf(backend, c, (i) => beta[i]);
  const negated = vectorOf(backend, c, (i) => -mu[i]);
  let out = nativeChannelAffine(backend, X, { add: negated, scale: k, shift: b });
  if (out === undefined) {
    const centred = addPerChannel(backend, X, negated);
    out = affinePerChannel(backend, centred, k, b);
    release(backend, centred);
  }
  release(backend, k, b, negated);
  return out;
}

/** rowsOf(x) for batch norm's kernels, which take float32 tensors with the channels last. */
function batchNormRows(kernelName: string, x: tf.TensorInfo): [rows: number, channels: number] {
  if (x.dtype !== 'float32' || x.shape.length === 0) throw new Error(`${kernelName} on wasm: x must be a float32 tensor with channels last`);
  return rowsOf(x);
}

/**
 * Batch norm's batch statistics (lib/batch-norm.ts): the mean and biased variance of x over every
 * axis but the last, in two passes of channel_sums on all threads (Σ x, then Σ (x − μ)²).
 */
function batchNormMomentsKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const [rows, c] = batchNormRows(BATCH_NORM_MOMENTS, x);
  const sums = nativeChannelSums(backend, x);
  const mean = vectorOf(backend, c, (i) => sums[i] / rows);
  const squares = nativeChannelSums(backend, x, undefined, mean);
  return [mean, vectorOf(backend, c, (i) => squares[i] / rows)];
}

/**
 * Batch norm's backward pass (lib/batch-norm.ts) from x, dy, μ, inv = 1/σ and γ: one pass of
 * channel_sums for ∂β = Σ dy and ∂γ = inv · Σ dy · (x − μ), one of batch_norm_input_grad for
 * ∂x = γ · inv · (dy − ∂β/m − x̂ · ∂γ/m); outputs [∂x, ∂γ, ∂β].
 */
function batchNormGradKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { x, dy, mean, invStd, gamma } = args.inputs as Record<string, tf.TensorInfo>;
  const [rows, c] = batchNormRows(BATCH_NORM_GRAD, x);
  const sums = nativeChannelSums(backend, x, dy, mean);
  const inv = Float64Array.from(backend.typedArrayFromHeap(invStd));
  const g = Float64Array.from(backend.typedArrayFromHeap(gamma));
  const dGamma = vectorOf(backend, c, (i) => inv[i] * sums[c + i]);
  const dBeta = vectorOf(backend, c, (i) => sums[i]);
  const a = vectorOf(backend, c, (i) => sums[i] / rows);
  const b = vectorOf(backend, c, (i) => (inv[i] * inv[i] * sums[c + i]) / rows);
  const k = vectorOf(backend, c, (i) => g[i] * inv[i]);
  const dx = nativeBatchNormInputGrad(backend, x, dy, { mu: mean, a, b, k });
  release(backend, a, b, k);
  return [dx, dGamma, dBeta];
}

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
    if ((attrs.dataFormat ?? 'NHWC') === 'NHWC' && preluActivationWeights === undefined && (activation === 'linear' || activation === 'relu')) {
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
      const out = nativeConv2D(args.backend, X, F, info, bias, activation === 'relu');
      if (out !== undefined) return out;
    }
    return builtin(kernelName)(args) as tf.TensorInfo;
  };
}

/** The backend's own kernels that ours replaced, kept as fallbacks for cases ours do not cover. */
const builtins = new Map<string, tf.KernelFunc>();

function builtin(kernelName: string): tf.KernelFunc {
  const f = builtins.get(kernelName);
  if (f === undefined) throw new Error(`${kernelName} on wasm: these inputs/attributes are not supported`);
  return f;
}

/** Marker on our kernel functions, so that registration is idempotent across module copies. */
const MARK = Symbol.for('residual-learning.wasmTrainingKernel');

const OURS: Record<string, (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  Conv2D: forwardConv('Conv2D'),
  FusedConv2D: forwardConv('FusedConv2D'),
  Tile: tileKernel,
  Slice: sliceKernel,
  Sum: leadingReduce('Sum'),
  Mean: leadingReduce('Mean'),
  Identity: identityKernel,
  Cast: castKernel,
  Multiply: multiplyKernel,
  PadV2: padKernel,
  Sub: subKernel,
  FusedBatchNorm: fusedBatchNormKernel,
  [BATCH_NORM_MOMENTS]: batchNormMomentsKernel,
  [BATCH_NORM_GRAD]: batchNormGradKernel,
};

/** The kernels {@link registerWasmTrainingKernels} adds to, or replaces on, the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.keys(OURS);

/**
 * Register on the `wasm` backend the kernels that training a ResNet needs and tfjs-backend-wasm
 * lacks (`Conv2DBackpropFilter`), and replace slow ones (`Conv2DBackpropInput`, `Tile`, …), and
 * the forward convolution (`Conv2D`, `FusedConv2D`): WebAssembly SIMD kernels of the library's
 * own where they apply, the backend's fast XNNPACK kernels composed elsewhere. Idempotent; call
 * it before or after `tf.setBackend('wasm')`. It does not load the wasm backend itself.
 *
 * @example
 * ```ts
 * require('@tensorflow/tfjs-backend-wasm');
 * registerWasmTrainingKernels();
 * await tf.setBackend('wasm');
 * ```
 */
export function registerWasmTrainingKernels(): void {
  for (const [kernelName, impl] of Object.entries(OURS)) {
    const current = tf.getKernel(kernelName, BACKEND);
    if (current !== undefined && (current.kernelFunc as unknown as Record<symbol, unknown>)[MARK] === true) continue;
    if (current !== undefined) {
      builtins.set(kernelName, current.kernelFunc);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    const kernelFunc = ((args: KernelArgs) => impl(args)) as unknown as tf.KernelFunc;
    (kernelFunc as unknown as Record<symbol, unknown>)[MARK] = true;
    // Keep the builtin's setup (its binding to the wasm function): it stays the fallback.
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: current?.setupFunc });
  }
}
