/**
 * Batch normalisation (Ioffe & Szegedy 2015, used "right after each convolution and before
 * activation", §3.4) with a closed-form backward pass.
 *
 * tfjs's own layer differentiates through `tf.moments` op by op: the tape then keeps about ten
 * full-size intermediates per batch-norm layer and the backward pass runs as many elementwise
 * kernels. Here the training-mode forward pass is one `tf.customGrad` whose backward is the
 * textbook formula, keeping only the layer's input and two per-channel vectors:
 *
 *   x̂ = (x − μ) / σ,  y = γ x̂ + β
 *   ∂β = Σ ∂y,  ∂γ = Σ ∂y · x̂,  ∂x = γ / (σ m) · (m ∂y − ∂β − x̂ ∂γ)
 *
 * with the sums over the m = N·H·W positions of each channel and σ = √(var + ε). The layer has the
 * class name, configuration and weights of tfjs's `BatchNormalization`, so a saved model loads
 * anywhere as a standard Keras batch-norm layer. Inference is unchanged.
 *
 * The moving variance is updated with the unbiased batch variance (× m / (m − 1)), as PyTorch does.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_GRAD, BATCH_NORM_MOMENTS, MOVING_AVERAGE, backendHas } from '../backend/kernel-names';

type BatchNormArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type TfBatchNormalization = ReturnType<typeof tf.layers.batchNormalization>;
type Kwargs = { training?: boolean } & Record<string, unknown>;

/** The private members of tfjs's layer that the training pass reads (set in its `build`). */
interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

// tfjs exports the layer only through its factory; its class is the prototype's constructor.
const TfBatchNormalizationClass = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as {
  new (args?: BatchNormArgs): TfBatchNormalization;
  fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T;
};

const AXES = [0, 1, 2];

// The training pass runs on kernels of our own when the backend has them (see kernel-names.ts).
export { BATCH_NORM_GRAD, BATCH_NORM_MOMENTS, MOVING_AVERAGE } from '../backend/kernel-names';

/**
 * The training-mode transform of an NHWC batch, returning y and the batch mean and (biased)
 * variance, which the caller owns. Exported for tests.
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const m = x.shape[0] * x.shape[1] * x.shape[2];
  const f = tf.customGrad((xIn, gammaIn, betaIn, saveFn) => {
    const save = saveFn as tf.GradSaveFunc;
    const xs = xIn as tf.Tensor4D;
    const g = gammaIn as tf.Tensor1D;
    const b = betaIn as tf.Tensor1D;
    const fused = backendHas(BATCH_NORM_MOMENTS, BATCH_NORM_GRAD);
    let mu: tf.Tensor1D;
    let v: tf.Tensor1D;
    let invStd: tf.Tensor1D;
    let y: tf.Tensor4D;
    if (fused) {
      // Our kernels: the statistics and 1/σ in one call, then batch norm's kernel without its op's wrapping.
      const attrs = { varianceEpsilon: epsilon };
      [mu, v, invStd] = tf.engine().runKernel(BATCH_NORM_MOMENTS, { x: xs }, attrs) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      y = tf.engine().runKernel(tf.FusedBatchNorm, { x: xs, mean: mu, variance: v, offset: b, scale: g }, attrs) as tf.Tensor4D;
    } else {
      ({ mean: mu, variance: v } = tf.moments(xs, AXES) as { mean: tf.Tensor1D; variance: tf.Tensor1D });
      invStd = tf.rsqrt(tf.add(v, epsilon)) as tf.Tensor1D;
      y = tf.batchNorm4d(xs, mu, v, b, g, epsilon);
    }
    mean = tf.keep(mu);
    variance = tf.keep(v);
    save([xs, mu, invStd]);
    return {
      value: y,
      // In a tidy: tfjs runs a custom gradient outside one, and would keep its temporaries to the
      // end of the whole backward pass.
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const dY = dy as tf.Tensor4D;
          const [xSaved, mu, inv] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
          if (fused) return tf.engine().runKernel(BATCH_NORM_GRAD, { x: xSaved, dy: dY, mean: mu, invStd: inv, gamma: g }) as tf.Tensor[];
          const xhat = tf.mul(tf.sub(xSaved, mu), inv);
          const dBeta = tf.sum(dY, AXES);
          const dGamma = tf.sum(tf.mul(dY, xhat), AXES);
          // ∂x = γσ⁻¹ · (∂y − ∂β/m − x̂ ∂γ/m)
          const scale = tf.mul(g, inv);
          const centred = tf.sub(tf.sub(dY, tf.div(dBeta, m)), tf.mul(xhat, tf.div(dGamma, m)));
          return [tf.mul(centred, scale), dGamma, dBeta];
        }),
    };
  });
  const y = f(x, gamma, beta) as tf.Tensor4D;
  return { y, mean: mean!, variance: variance! };
}

/**
 * tfjs's `BatchNormalization` layer with the fused training pass of this file (same class name,
 * configuration and weights). Falls back to tfjs's pass where the fused one does not apply
 * (inputs other than NHWC with the channels last, or no γ/β).
 */
export class BatchNormalization extends TfBatchNormalizationClass {
  /** The Keras class name, so saved models stay standard. */
  static readonly className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    const self = this as unknown as BatchNormState;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    if (!kwargs.training || x.rank !== 4 || !lastAxis || !self.center || !self.scale) return super.call(inputs, kwargs);
    const x4 = x as tf.Tensor4D;
    const m = x4.shape[0] * x4.shape[1] * x4.shape[2];
    const { y, mean, variance } = batchNormTraining(x4, self.gamma.read() as tf.Tensor1D, self.beta.read() as tf.Tensor1D, self.epsilon);
    // Running statistics (outside the tape): v ← v − (v − batch value) · (1 − momentum), in one
    // kernel where the backend has it.
    const oneKernel = backendHas(MOVING_AVERAGE);
    tf.tidy(() => {
      for (const [v, value, scale] of [
        [self.movingMean, mean, 1],
        [self.movingVariance, variance, m > 1 ? m / (m - 1) : 1],
      ] as const) {
        const old = v.read();
        const attrs = { momentum: self.momentum, scale };
        if (oneKernel) v.write(tf.engine().runKernel(MOVING_AVERAGE, { average: old, value }, attrs) as tf.Tensor);
        else {
          const target = scale === 1 ? value : tf.mul(value, scale);
          v.write(tf.sub(old, tf.mul(tf.sub(old, target), 1 - self.momentum)));
        }
      }
    });
    tf.dispose([mean, variance]);
    return y;
  }
}
tf.serialization.registerClass(BatchNormalization);

/** A batch-norm layer with the fused training pass; the arguments of `tf.layers.batchNormalization`. */
export function batchNormalization(args: BatchNormArgs): BatchNormalization {
  return new BatchNormalization(args);
}
