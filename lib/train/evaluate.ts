/**
 * Evaluation in inference mode (batch norm uses its moving averages): mean softmax cross-entropy
 * and accuracy over a split.
 */
import * as tf from '@tensorflow/tfjs';
import { batches } from '../data/batches';
import type { ChannelStats, Cifar10Split } from '../data/cifar10';
import { UsageError } from '../util/errors';

/** Result of {@link evaluate}. */
export interface EvalResult {
  /** Fraction of images classified correctly. */
  accuracy: number;
  /** Mean softmax cross-entropy. */
  loss: number;
  /** Images evaluated. */
  n: number;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Normalisation statistics of the training split (as used in training). */
  stats: ChannelStats;
  /** Images per forward pass, default 250. */
  batchSize?: number;
}

/** Mean cross-entropy (from logits) and number of correct predictions of one batch, summed. */
export function batchLossAndCorrect(logits: tf.Tensor, labels: tf.Tensor1D): { loss: tf.Scalar; correct: tf.Scalar } {
  return tf.tidy(() => {
    const numClasses = logits.shape[logits.shape.length - 1] ?? 0;
    const onehot = tf.oneHot(labels, numClasses);
    const loss = tf.losses.softmaxCrossEntropy(onehot, logits as tf.Tensor2D) as tf.Scalar;
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar;
    return { loss, correct };
  });
}

/** Evaluate `model` on `split` in inference mode. */
export async function evaluate(model: tf.LayersModel, split: Cifar10Split, options: EvaluateOptions): Promise<EvalResult> {
  let lossSum = 0;
  let correct = 0;
  for (const b of batches(split, { batchSize: options.batchSize ?? 250, stats: options.stats, shuffle: false, augment: false })) {
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, 32, 32, 3]);
      const y = tf.tensor1d(b.y, 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor;
      const r = batchLossAndCorrect(logits, y);
      return [r.loss, r.correct];
    });
    const [lv, cv] = await Promise.all([l.data(), c.data()]);
    tf.dispose([l, c]);
    lossSum += lv[0]! * b.size;
    correct += cv[0]!;
  }
  const n = split.n;
  return { accuracy: n > 0 ? correct / n : NaN, loss: n > 0 ? lossSum / n : NaN, n };
}

/** What {@link predict} returns. */
export interface Predictions {
  /** Logits, row-major [n, classes]. */
  logits: Float32Array;
  /** The arg-max class of each image. */
  predicted: Int32Array;
  classes: number;
  n: number;
}

/** Logits and predicted classes of every image of a split, in inference mode (no augmentation). */
export async function predict(model: tf.LayersModel, split: Cifar10Split, options: EvaluateOptions): Promise<Predictions> {
  const chunks: Float32Array[] = [];
  let classes = 0;
  for (const b of batches(split, { batchSize: options.batchSize ?? 250, stats: options.stats, shuffle: false, augment: false })) {
    const logits = tf.tidy(() => model.apply(tf.tensor4d(b.x, [b.size, 32, 32, 3]), { training: false }) as tf.Tensor2D);
    classes = logits.shape[1];
    chunks.push((await logits.data()) as Float32Array);
    logits.dispose();
  }
  const logits = new Float32Array(split.n * classes);
  let at = 0;
  for (const c of chunks) {
    logits.set(c, at);
    at += c.length;
  }
  const predicted = new Int32Array(split.n);
  for (let i = 0; i < split.n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[i * classes + k]! > logits[i * classes + best]!) best = k;
    predicted[i] = best;
  }
  return { logits, predicted, classes, n: split.n };
}

/** Confusion matrix: `m[t][p]` counts images of true class t predicted as p. */
export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, classes = 10): number[][] {
  if (labels.length !== predicted.length)
    throw new UsageError(`confusionMatrix: ${labels.length} labels but ${predicted.length} predictions`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = predicted[i]!;
    if (!(t >= 0 && t < classes && p >= 0 && p < classes))
      throw new UsageError(`confusionMatrix: class out of range at ${i} (label ${t}, prediction ${p}, ${classes} classes)`);
    m[t]![p]! += 1;
  }
  return m;
}
