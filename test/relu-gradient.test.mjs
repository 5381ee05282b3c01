// ReLU's gradient from its output (lib/backend/relu-gradient.ts): tfjs's numbers, less memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lib, ready, tf } from './helpers.mjs';

test("the gradient from ReLU's output equals tfjs's from its input, zeros included", async () => {
  const tfjs = tf.getGradient('Relu'); // tfjs's own, until the library registers its own
  await ready();
  assert.deepEqual(tf.getGradient('Relu').outputsToSave, [true], 'the library keeps the output');
  const x = tf.tensor2d([
    [-2, -0.5, 0, 0, 0.25, 3],
    [1e-30, -1e-30, 5, -5, 0, 7],
  ]);
  const dy = tf.randomNormal([2, 6], 0, 1, 'float32', 3);
  const ours = tf.grad((v) => tf.relu(v))(x, dy);
  tf.registerGradient(tfjs);
  try {
    const theirs = tf.grad((v) => tf.relu(v))(x, dy);
    assert.deepEqual([...ours.dataSync()], [...theirs.dataSync()]);
  } finally {
    lib.registerReluGradient();
  }
});

test('a training step gives the same loss to the last bit, and leaves no tensor behind', async () => {
  await ready();
  const tfjs = tf.getGradient('Relu');
  const oneStep = (register) => {
    register();
    const before = tf.memory().numTensors;
    const model = lib.resnetCifar(20);
    lib.initializeWeights(model, { scheme: 'he', seed: 0 });
    const x = tf.randomNormal([16, 32, 32, 3], 0, 1, 'float32', 1);
    const y = tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => i % 10),
      'int32',
    );
    const optimizer = new lib.SgdMomentum();
    const r = lib.trainStep(model, optimizer, x, y, 0.1);
    const loss = r.loss.dataSync()[0];
    tf.dispose([r.loss, r.correct, x, y]);
    optimizer.dispose();
    model.dispose();
    return { loss, leaked: tf.memory().numTensors - before };
  };
  const old = oneStep(() => tf.registerGradient(tfjs));
  const now = oneStep(() => lib.registerReluGradient());
  assert.equal(now.loss, old.loss, 'the same loss to the last bit');
  assert.equal(now.leaked, 0);
  assert.equal(old.leaked, 0);
});
