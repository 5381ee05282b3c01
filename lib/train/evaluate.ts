/**
 * Evaluation in inference mode (batch norm uses its moving averages): mean softmax cross-entropy
 * and accuracy over a split.
 */
import * as tf from '@tensorflow/tfjs';
import { batches } from '../data/batches';
import type { ChannelStats, Cifar10Split } from '../data/cifar10';

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
