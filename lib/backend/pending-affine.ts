/**
 * Batch norm's output, computed in the pass that reads it. In a training step, y = (x − μ) · γ/σ + β
 * is left pending until read (deferred.ts); the ReLU after it (batch norm comes "right after each
 * convolution and before activation", §3.4), or the sum F(x) + x at a block's end (§3.2) and the
 * ReLU after that, take its affine map into their own pass instead: relu(BN(x)) is one pass over
 * memory instead of two, relu(BN(x) + s) one instead of three, and batch norm's output is never
 * written (the backward pass does not keep it: batch norm's gradient reads x, ReLU's its output).
 * Anything else that reads it gets it computed then. The floats are those of the separate passes
 * (the same float32 operations in the same order: see channel_affine in c/batch-norm.c).
 */
import * as tf from '@tensorflow/tfjs';
import { deferUntilRead, mayDefer, settle } from './deferred';
import { type AffineTerms, channelAffineCovers, hold, nativeChannelAffine, termsOf } from './native-conv';

/** Kernels that take a pending affine map as it is: Identity shares its data (a clone), Relu and Add compute it into their own pass. */
const TAKEN_BY: ReadonlySet<string> = new Set(['Identity', 'Relu', 'Add']);

/** A pending affine map: act is the identity, x and terms as in {@link AffineTerms}. */
interface PendingAffine {
  x: tf.TensorInfo;
  terms: AffineTerms;
}

/** Pending affine maps by their output's dataId. */
const pendingAffines = new Map<object, PendingAffine>();

interface Backend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  refCount(dataId: object): number;
}

/**
 * y = (x + add) · scale + shift + plus (see {@link AffineTerms}), pending until read, in a
 * training step; undefined outside one or where the native kernels do not cover it.
 */
export function deferAffine(b: object, x: tf.TensorInfo, terms: AffineTerms): tf.TensorInfo | undefined {
  if (!mayDefer() || !channelAffineCovers(b, x, terms)) return undefined;
  const backend = b as Backend;
  const out = backend.makeOutput(x.shape, 'float32');
  const release = hold(backend, [out, x, ...termsOf(terms)]);
  const forget = (): void => {
    pendingAffines.delete(out.dataId);
    release();
  };
  const compute = (): void => {
    try {
      nativeChannelAffine(backend, x, terms, false, false, out);
    } finally {
      forget();
    }
  };
  pendingAffines.set(out.dataId, { x, terms });
  deferUntilRead(out.dataId, compute, () => backend.refCount(out.dataId) === 1, forget, TAKEN_BY);
  return out;
}

/** The pending affine map on t's data, if t is one. */
function pendingAffineOf(t: tf.TensorInfo): PendingAffine | undefined {
  return pendingAffines.get(t.dataId);
}

/**
 * max(t, 0) where t is a pending affine map: in one pass from its x, in the background where
 * `background`. Undefined otherwise, with t settled (Relu takes it unsettled).
 */
export function reluOfPending(backend: object, t: tf.TensorInfo, background: boolean): tf.TensorInfo | undefined {
  const p = pendingAffineOf(t);
  const y = p === undefined ? undefined : nativeChannelAffine(backend, p.x, p.terms, true, background);
  if (y === undefined) settle(t.dataId);
  return y;
}

/**
 * a + b where one of them is a pending affine map without a sum and the other a tensor of its
 * shape: itself a pending affine map, that one's with the other added. Undefined otherwise, with
 * both settled (Add takes them unsettled).
 */
export function addOfPending(backend: object, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | undefined {
  const same = tf.util.arraysEqual(a.shape, b.shape);
  for (const [map, other] of [
    [a, b],
    [b, a],
  ]) {
    const p = pendingAffineOf(map);
    if (!same || p === undefined || p.terms.plus !== undefined || other.dataId === map.dataId) continue;
    settle(other.dataId); // (a + b = b + a in floating point too)
    const sum = deferAffine(backend, p.x, { ...p.terms, plus: other });
    if (sum !== undefined) return sum;
  }
  settle(a.dataId);
  settle(b.dataId);
  return undefined;
}
