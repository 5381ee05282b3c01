import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, builtin } from './kernel-util';

/**
 * Tile by block copies on the wasm heap. The builtin kernel walks every output element through
 * index arithmetic (slow on the broadcast of batch-norm's gradient, [1,1,1,16] → [128,32,32,16]);
 * here whole blocks are copied and doubled with `copyWithin`.
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

export const tileConfig: WasmKernel = { kernelName: 'Tile', kernelFunc: tileKernel };
