// Mean's gradient by a broadcast (lib/backend/mean-gradient.ts): tfjs's numbers, without the ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lib, ready, tf } from './helpers.mjs';

test("Mean's gradient equals tfjs's to the last bit: global average pooling, one axis, all axes, keepDims", async () => {
  const tfjs = tf.getGradient('Mean'); // tfjs's own, until the library registers its own
  await ready();
  assert.notEqual(tf.getGradient('Mean'), tfjs, 'the library registers its own');
  const x = tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 5);
  const cases = [
    [[1, 2], false],
    [[1, 2], true],
    [2, false],
    [undefined, false],
    [[0, 3], true],
  ];
  const grads = () =>
    cases.map(([axis, keepDims], i) => {
      const f = (v) => tf.sum(tf.mul(tf.mean(v, axis, keepDims), tf.scalar(1 + i / 3)));
      return [...tf.grad(f)(x).dataSync()];
    });
  const ours = grads();
  tf.registerGradient(tfjs);
  try {
    assert.deepEqual(ours, grads());
  } finally {
    lib.registerMeanGradient();
  }
  assert.ok(
    ours[0].every((v) => Math.abs(v - 1 / 20) < 1e-7),
    'the global average pooling of 4×5 pixels: 1/20 each',
  );
});
