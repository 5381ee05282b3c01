import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { assertClose, lib, ready, tf } from './helpers.mjs';

const { ResNet, tutorialResNet, UsageError } = lib;

before(ready);

function tutorialNet() {
  // The tutorial's "Create Your Own ResNet", on 32×32 images.
  const net = new ResNet({ batch: 8 });
  let h = net.initBlock({ filter: [7, 7], channel: [3, 32], stride: 2, maxPool: { kernel: 3, stride: 2 } });
  h = net.residualBlock(h, { filter: [3, 3], channel: [32, 32] });
  h = net.residualBlock(h, { filter: [3, 3], channel: [32, 64], stride: 2 });
  h = net.avgPool(h, { kernel: 4, stride: 4 });
  net.fc(h);
  return net.model();
}

describe('ResNet builder (the original tutorial)', () => {
  test('block by block: shapes and logits', () => {
    const m = tutorialNet();
    assert.deepEqual(m.outputs[0].shape, [null, 10]);
    assert.deepEqual(m.predict(tf.zeros([2, 32, 32, 3])).shape, [2, 10]);
  });

  test('fault 1 fixed: a stride-2 block halves the map once (second conv has stride 1)', () => {
    const net = new ResNet({ batch: 4 });
    const h0 = net.initBlock({ filter: [3, 3], channel: [3, 16] });
    const h1 = net.residualBlock(h0, { filter: [3, 3], channel: [16, 32], stride: 2 });
    assert.deepEqual(h1.shape, [null, 16, 16, 32]);
    const convs = net.model(h1).layers.filter((l) => l.getClassName() === 'Conv2D' && l.name.endsWith('_conv2'));
    assert.deepEqual(
      convs.map((l) => l.getConfig().strides),
      [[1, 1]],
    );
  });

  test('fault 2 fixed: at inference, batch norm uses moving averages (a prediction does not depend on the batch)', () => {
    const m = tutorialNet();
    const images = tf.randomNormal([6, 32, 32, 3], 0, 1, 'float32', 11);
    // one training-mode pass moves the statistics away from their initial values
    tf.tidy(() => m.apply(images, { training: true }));
    const alone = m.predict(images.slice([0], [1]));
    const inBatch = m.predict(images).slice([0], [1]);
    assertClose(alone.dataSync(), inBatch.dataSync(), 1e-4, 'logits of image 0');
    const trainMode = tf.tidy(() => m.apply(images, { training: true }).slice([0], [1]).dataSync());
    const diff = Math.max(...trainMode.map((v, i) => Math.abs(v - inBatch.dataSync()[i])));
    assert.ok(diff > 1e-3, 'training mode uses batch statistics, so it differs');
  });

  test('channel[0] that does not match h is refused with a clear message', () => {
    const net = new ResNet({ batch: 4 });
    const h = net.initBlock({ filter: [3, 3], channel: [3, 16] });
    assert.throws(
      () => net.residualBlock(h, { filter: [3, 3], channel: [32, 32] }),
      (err) => err instanceof UsageError && /residualBlock: channel\[0\] is 32 but h has 16 channels/.test(err.message),
    );
    assert.throws(
      () => new ResNet({ batch: 4 }).initBlock({ filter: [7, 7], channel: [1, 16] }),
      /initBlock: channel\[0\] is 1 but h has 3 channels/,
    );
  });

  test('options are checked', () => {
    assert.throws(() => new ResNet({ batch: 0 }), /batch must be a positive integer, got 0/);
    assert.throws(() => new ResNet({ batch: 1, numLabels: 1 }), /numLabels must be an integer ≥ 2/);
    assert.throws(() => new ResNet({ batch: 1 }).model(), /call fc\(h\) first/);
  });

  test('numLabels and inputShape shape the model', () => {
    const net = new ResNet({ batch: 2, numLabels: 5, inputShape: [16, 16, 1] });
    let h = net.initBlock({ filter: [3, 3], channel: [1, 8] });
    h = net.maxPool(h, { kernel: 2, stride: 2 });
    h = net.residualBlock(h, { filter: [5, 5], channel: [8, 8] });
    const m = net.model(net.fc(h));
    assert.deepEqual(m.predict(tf.zeros([2, 16, 16, 1])).shape, [2, 5]);
  });

  test('tutorialResNet: the custom net of chapter 6 (7×7 stem, max pool, four blocks, 175 210 parameters)', () => {
    const m = tutorialResNet();
    assert.equal(m.countParams(), 175210);
    const maps = m.layers.filter((l) => l.getClassName() === 'Add').map((l) => l.outputShape.slice(1).join('×'));
    assert.deepEqual(maps, ['16×16×32', '16×16×32', '8×8×64', '8×8×64']);
    assert.deepEqual(m.outputs[0].shape, [null, 10]);
    m.dispose();
  });
});
