import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, builtin, runKernel, view } from './kernel-util';

/**
 * Sum / Mean over the leading axes of a float32 tensor (the per-channel reductions of batch norm
 * and of its gradient over N, H, W). The builtin transposes the reduced axes innermost first;
 * XNNPACK's average pooling over a [1, R, 1, C] view with an R×1 window reads the data once.
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

export const sumConfig: WasmKernel = { kernelName: 'Sum', kernelFunc: leadingReduce('Sum') };
export const meanConfig: WasmKernel = { kernelName: 'Mean', kernelFunc: leadingReduce('Mean') };
