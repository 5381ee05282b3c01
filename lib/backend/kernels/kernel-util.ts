/** What every kernel here uses: the wasm backend as the kernels see it, running its other kernels on backend-level tensors, and the builtin kernels kept as fallbacks. */
import * as tf from '@tensorflow/tfjs';

export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of the tensor's bytes on the wasm heap; invalid once the heap grows (after makeOutput). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
export type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}

/** How deep in calls of our kernels this thread is (1: a kernel the engine called). */
let depth = 0;

/** Run our kernel `impl` (as registered), counting how deep in kernel calls it runs. */
export function callKernel<T>(impl: (args: KernelArgs) => T, args: KernelArgs): T {
  depth++;
  try {
    return impl(args);
  } finally {
    depth--;
  }
}

/**
 * Whether the kernel running now was called by the engine, not by another of our kernels: its
 * output goes to the engine, which finishes a pending tensor before anything reads it
 * (deferred.ts), where another kernel would read it at once.
 */
export function calledByEngine(): boolean {
  return depth === 1;
}

/** The backend these kernels run on. */
export const BACKEND = 'wasm';

export function runKernel(backend: object, name: string, inputs: tf.NamedTensorInfoMap, attrs: object = {}): tf.TensorInfo {
  const config = tf.getKernel(name, BACKEND);
  if (config === undefined) throw new Error(`wasm training kernels: kernel '${name}' is not registered for the wasm backend`);
  const out = config.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`wasm training kernels: kernel '${name}' returned several tensors`);
  return out;
}

export function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Free backend-level tensors made by a kernel (intermediates, never its output). */
export function release(backend: object, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) (backend as WasmBackendLike).disposeData(t.dataId);
}

/** The backend's own kernels that ours replaced, kept as fallbacks for cases ours do not cover. */
const builtins = new Map<string, tf.KernelFunc>();

export function builtin(kernelName: string): tf.KernelFunc {
  const f = builtins.get(kernelName);
  if (f === undefined) throw new Error(`${kernelName} on wasm: these inputs/attributes are not supported`);
  return f;
}

export function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm: dataFormat '${String(dataFormat)}' is not supported, use 'NHWC' (channels last)`);
  }
}

/** Keep the backend's own kernel `kernelName` as the fallback of ours (see {@link builtin}). */
export function keepBuiltin(kernelName: string, kernelFunc: tf.KernelFunc): void {
  builtins.set(kernelName, kernelFunc);
}

/** One of our kernels: its name, as tfjs registers it, and its function (tfjs-backend-wasm's `KernelConfig`). */
export interface WasmKernel {
  kernelName: string;
  kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
}
