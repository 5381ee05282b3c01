// §1's constructed solution: a deeper net = the shallow one's layers + identity layers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { lib, ready, SAMPLE, tf } from './helpers.mjs';

const { constructDeeper, plainCifar, resnetCifar, UsageError } = lib;

/** The first n test images of real CIFAR-10 as a [n,32,32,3] tensor in [0,1], and their labels. */
function cifarImages(n) {
  const raw = readFileSync(join(SAMPLE, 'test_batch.bin'));
  const x = new Float32Array(n * 3072);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const rec = raw.subarray(i * 3073, (i + 1) * 3073);
    y[i] = rec[0];
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) x[i * 3072 + p * 3 + c] = rec[1 + c * 1024 + p] / 255;
  }
  return { x: tf.tensor4d(x, [n, 32, 32, 3]), y: tf.oneHot(tf.tensor1d(y, 'int32'), 10) };
}

/** Give a fresh net weights and batch-norm statistics far from their initial values, as training would. */
function perturb(model, seed) {
  let s = seed;
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    layer.setWeights(
      ws.map((w, k) => {
        s += 1;
        if (layer.getClassName() === 'BatchNormalization' && k === 3) return tf.randomUniform(w.shape, 0.5, 2, 'float32', s);
        return tf.add(w, tf.randomNormal(w.shape, 0, 0.2, 'float32', s));
      }),
    );
  }
}

before(ready);

describe('constructDeeper (§1)', () => {
  test('plain-8 + 12 identity layers predicts exactly as plain-8 on real CIFAR-10 images', () => {
    const shallow = plainCifar(8);
    perturb(shallow, 1);
    const deep = constructDeeper(shallow, { extraLayers: 12 });
    const weighted = (m) => m.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName())).length;
    assert.equal(weighted(deep), weighted(shallow) + 12);
    const { x, y } = cifarImages(100);
    const a = shallow.predict(x);
    const b = deep.predict(x);
    const maxDiff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    const scale = tf.max(tf.abs(a)).dataSync()[0];
    assert.ok(maxDiff <= 1e-5 * Math.max(1, scale), `max |Δlogit| = ${maxDiff} (logits up to ${scale})`);
    const loss = (m) => tf.losses.softmaxCrossEntropy(y, m.predict(x)).dataSync()[0];
    // The same loss up to float32 rounding (the wasm backend's 3×3 convolutions run by Winograd's
    // transforms, where an identity filter is exact only to rounding).
    const [ls, ld] = [loss(shallow), loss(deep)];
    assert.ok(Math.abs(ls - ld) <= 1e-6 * Math.max(1, ls), `the same training loss (${ls} vs ${ld})`);
    assert.ok(Number.isFinite(loss(deep)) && loss(deep) > 0);
  });

  test('the identity layers are spread over the three stages', () => {
    const deep = constructDeeper(plainCifar(8), { extraLayers: 6, name: 'deep' });
    const identities = deep.layers.filter((l) => /_identity\d+_conv$/.test(l.name)).map((l) => l.outputShape);
    assert.deepEqual(identities, [
      [null, 32, 32, 16],
      [null, 32, 32, 16],
      [null, 16, 16, 32],
      [null, 16, 16, 32],
      [null, 8, 8, 64],
      [null, 8, 8, 64],
    ]);
  });

  test('identity: false keeps the added layers random (the deep net from scratch)', () => {
    const shallow = plainCifar(8);
    const fresh = constructDeeper(shallow, { extraLayers: 3, identity: false });
    const { x } = cifarImages(8);
    const diff = tf.max(tf.abs(tf.sub(shallow.predict(x), fresh.predict(x)))).dataSync()[0];
    assert.ok(diff > 1e-3, `random layers change the function (max |Δ| = ${diff})`);
  });

  test('the copy is independent of the shallow net', () => {
    const shallow = plainCifar(8);
    const deep = constructDeeper(shallow, { extraLayers: 3 });
    const before = shallow.layers[1].getWeights()[0].dataSync().slice();
    const copy = deep.layers[1];
    copy.setWeights(copy.getWeights().map((w) => tf.zerosLike(w)));
    assert.deepEqual(shallow.layers[1].getWeights()[0].dataSync(), before);
  });

  test('a residual net or a bad count is refused', () => {
    assert.throws(
      () => constructDeeper(resnetCifar(8), { extraLayers: 2 }),
      (e) => e instanceof UsageError && /needs a plain chain of layers/.test(e.message),
    );
    assert.throws(() => constructDeeper(plainCifar(8), { extraLayers: -1 }), /extraLayers must be a non-negative integer, got -1/);
  });
});
