// predict() and confusionMatrix(): the per-image view of evaluate().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lib, ready, SAMPLE, tf } from './helpers.mjs';

const { predict, evaluate, confusionMatrix, loadCifar10, channelStats, plainCifar, UsageError } = lib;

test('predict: logits and arg-max of every image, agreeing with evaluate()', async () => {
  await ready();
  const cifar = await loadCifar10(SAMPLE, { limitTrain: 300, limitTest: 150 });
  const stats = channelStats(cifar.train);
  const model = plainCifar(8);
  const before = tf.memory().numTensors;
  const p = await predict(model, cifar.test, { stats, batchSize: 60 });
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.deepEqual([p.n, p.classes, p.logits.length, p.predicted.length], [150, 10, 1500, 150]);
  const ev = await evaluate(model, cifar.test, { stats });
  const correct = p.predicted.reduce((s, k, i) => s + (k === cifar.test.labels[i] ? 1 : 0), 0);
  assert.ok(Math.abs(correct / 150 - ev.accuracy) < 1e-6, `${correct}/150 vs evaluate() ${ev.accuracy}`); // evaluate() counts in float32
  // The last image (third, partial batch) as a single forward pass.
  const last = tf.tidy(() =>
    model
      .predict(
        tf.tensor4d(
          Float32Array.from(cifar.test.images.subarray(149 * 3072), (v, i) => (v / 255 - stats.mean[i % 3]) / stats.std[i % 3]),
          [1, 32, 32, 3],
        ),
      )
      .dataSync(),
  );
  for (let k = 0; k < 10; k++) assert.ok(Math.abs(last[k] - p.logits[149 * 10 + k]) < 1e-4, `logit ${k}`);
  model.dispose();
});

test('confusionMatrix counts true × predicted, and refuses mismatched or out-of-range input', () => {
  const m = confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3);
  assert.deepEqual(m, [
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 2],
  ]);
  assert.throws(
    () => confusionMatrix([0, 1], [0], 3),
    (e) => e instanceof UsageError && /2 labels but 1 predictions/.test(e.message),
  );
  assert.throws(
    () => confusionMatrix([0, 3], [0, 1], 3),
    (e) => e instanceof UsageError && /label 3/.test(e.message),
  );
});
