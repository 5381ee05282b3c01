import * as tf from '@tensorflow/tfjs';
import { nativeChannelAffine } from '../native-conv';
import { deferAffine } from '../pending-affine';
import { type KernelArgs, type WasmBackendLike, type WasmKernel, builtin, calledByEngine, release } from './kernel-util';
import { addPerChannel, affinePerChannel, MIN_XNNPACK_SIZE, perChannelOf, vectorOf } from './per-channel';

/**
 * Batch normalisation y = (x − μ) · γ / √(σ² + ε) + β with per-channel μ, σ², γ, β (Eq. of
 * Ioffe & Szegedy, after every convolution in §3.4), in one pass of the library's
 * channel_affine on all threads (channels a multiple of 4), else two XNNPACK passes: x − μ, then
 * · (γ / √(σ² + ε)) + β. The builtin walks every element with index arithmetic. In a training step
 * the pass is left to the kernel that reads the output (pending-affine.ts).
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
  const terms = { add: negated, scale: k, shift: b };
  // In a training step, written by the kernel that reads it (the ReLU after it, or F(x) + x).
  let out = calledByEngine() ? deferAffine(backend, X, terms) : undefined;
  out ??= nativeChannelAffine(backend, X, terms, false, calledByEngine());
  if (out === undefined) {
    const centred = addPerChannel(backend, X, negated);
    out = affinePerChannel(backend, centred, k, b);
    release(backend, centred);
  }
  release(backend, k, b, negated);
  return out;
}

export const fusedBatchNormConfig: WasmKernel = { kernelName: 'FusedBatchNorm', kernelFunc: fusedBatchNormKernel };
