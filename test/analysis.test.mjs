import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { lib, ready, tf } from './helpers.mjs';

const { gradientNormsPerLayer, layerResponseStd, plainCifar, resnetCifar } = lib;

before(ready);

describe('looking inside a net', () => {
  const x = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', 5);

  test('gradient norm per 3×3 layer: one finite positive value per layer, in depth order, no leak', () => {
    const m = plainCifar(8, { inputShape: [16, 16, 3] });
    const before = tf.memory().numTensors;
    const stats = gradientNormsPerLayer(m, x, [0, 1, 2, 3]);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(stats.length, 7, '6n+1 = 7 convolutions of 3×3 in plain-8');
    assert.deepEqual(
      stats.map((s) => s.index),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(stats[0].layer, 'plain8_conv1');
    for (const s of stats) assert.ok(Number.isFinite(s.value) && s.value > 0, `${s.layer}: ${s.value}`);
  });

  test('layer responses (Fig. 7): the BN after each 3×3 conv, projections excluded', () => {
    const m = resnetCifar(8, { inputShape: [16, 16, 3] });
    const stats = layerResponseStd(m, x);
    assert.equal(stats.length, 7);
    assert.ok(stats.every((s) => s.layer.endsWith('_bn') && !s.layer.includes('proj')));
    // In training mode each response is normalised by its own batch statistics: std ≈ γ = 1.
    const train = layerResponseStd(m, x, { training: true });
    for (const s of train) assert.ok(Math.abs(s.value - 1) < 1e-2, `${s.layer}: ${s.value}`);
  });
});
