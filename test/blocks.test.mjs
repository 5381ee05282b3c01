import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { assertClose, blockModel, lib, ready, tf } from './helpers.mjs';

const { residualBlock, plainBlock, bottleneckBlock, UsageError } = lib;

before(ready);

function zeroResidualBranch(model) {
  // Zero every convolution of F: F(x) = BN(0) = β = 0 at initialisation, so y = ReLU(0 + x).
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Conv2D') layer.setWeights(layer.getWeights().map((w) => tf.zerosLike(w)));
  }
}

describe('residualBlock (Eq. 1–2)', () => {
  test('identity block keeps the shape', () => {
    const m = blockModel(residualBlock, [8, 8, 16], { filters: 16 });
    assert.deepEqual(m.outputs[0].shape, [null, 8, 8, 16]);
  });

  test('identity block whose residual branch is zeroed returns ReLU(x)', () => {
    const m = blockModel(residualBlock, [6, 6, 4], { filters: 4, shortcut: 'identity' });
    zeroResidualBranch(m);
    const x = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 7);
    const y = m.predict(x);
    assertClose(y.dataSync(), tf.relu(x).dataSync(), 1e-5, 'y');
    assert.ok(tf.min(x).dataSync()[0] < 0, 'the input has negative values, so ReLU matters');
  });

  test('projection shortcut (option B) halves the map and widens channels', () => {
    const m = blockModel(residualBlock, [8, 8, 16], { filters: 32, strides: 2, shortcut: 'projection' });
    assert.deepEqual(m.outputs[0].shape, [null, 4, 4, 32]);
    const proj = m.layers.filter((l) => l.name.endsWith('_proj'));
    assert.equal(proj.length, 1, 'one 1×1 projection convolution W_s');
    assert.deepEqual(proj[0].getWeights()[0].shape, [1, 1, 16, 32]);
  });

  test("'projection' projects even where shapes match (option C)", () => {
    const m = blockModel(residualBlock, [8, 8, 16], { filters: 16, shortcut: 'projection' });
    assert.equal(m.layers.filter((l) => l.name.endsWith('_proj')).length, 1);
  });

  test("'auto' is identity when shapes match and projection otherwise", () => {
    const same = blockModel(residualBlock, [8, 8, 16], { filters: 16 });
    assert.equal(same.layers.filter((l) => l.name.endsWith('_proj')).length, 0);
    const down = blockModel(residualBlock, [8, 8, 16], { filters: 32, strides: 2 });
    assert.equal(down.layers.filter((l) => l.name.endsWith('_proj')).length, 1);
  });

  test('zero-pad shortcut (option A) subsamples and pads channels with zeros, no parameters', () => {
    const x = tf.input({ shape: [4, 4, 2] });
    const s = lib.shortcutBranch(x, { filters: 4, strides: 2, shortcut: 'zero-pad', name: 'zp_test' });
    const m = tf.model({ inputs: x, outputs: s });
    assert.equal(m.countParams(), 0);
    const input = tf.range(0, 32).reshape([1, 4, 4, 2]);
    const out = m.predict(input);
    assert.deepEqual(out.shape, [1, 2, 2, 4]);
    // pixel (i, j) of the output is pixel (2i, 2j) of the input, channels [0, x0, x1, 0]
    const expected = [];
    for (const [i, j] of [
      [0, 0],
      [0, 2],
      [2, 0],
      [2, 2],
    ]) {
      const base = (i * 4 + j) * 2;
      expected.push(0, base, base + 1, 0);
    }
    assert.deepEqual(Array.from(out.dataSync()), expected);
  });

  test('zero-pad shortcut handles odd sizes like a stride-2 same convolution', () => {
    const m = blockModel(residualBlock, [7, 7, 8], { filters: 16, strides: 2, shortcut: 'zero-pad' });
    assert.deepEqual(m.outputs[0].shape, [null, 4, 4, 16]);
    const y = m.predict(tf.ones([1, 7, 7, 8]));
    assert.deepEqual(y.shape, [1, 4, 4, 16]);
  });

  for (const size of [8, 7]) {
    test(`a downsampling block's F(x) lines up with its shortcut x, ${size}×${size} input (pads like Caffe/PyTorch)`, () => {
      // Centred-delta 3×3 kernels and a unit 1×1 projection: F(x)[i, j] and x[i, j] must both read
      // input pixel (2i, 2j). TensorFlow's 'same' padding would make F read (2i + 1, 2j + 1).
      const m = blockModel(residualBlock, [size, size, 1], { filters: 1, strides: 2, shortcut: 'projection' });
      for (const layer of m.layers) {
        if (layer.getClassName() !== 'Conv2D') continue;
        const [k] = layer.getWeights();
        const w = tf.buffer(k.shape);
        w.set(1, (k.shape[0] - 1) / 2, (k.shape[1] - 1) / 2, 0, 0);
        layer.setWeights([w.toTensor()]);
      }
      const x = tf.add(tf.reshape(tf.range(0, size * size), [1, size, size, 1]), 1);
      const y = m.predict(x).dataSync();
      const half = Math.ceil(size / 2);
      const bn = 1 / Math.sqrt(1 + 1e-5); // inference-mode batch norm at initialisation
      const expected = [];
      for (let i = 0; i < half; i++) for (let j = 0; j < half; j++) expected.push(2 * bn * (2 * i * size + 2 * j + 1));
      assert.equal(y.length, half * half);
      assertClose(y, expected, 1e-5, 'ReLU(F(x) + x)');
    });
  }

  test('identity shortcut refuses a change of shape with a clear message', () => {
    assert.throws(
      () => blockModel(residualBlock, [8, 8, 16], { filters: 32, strides: 2, shortcut: 'identity' }),
      (err) =>
        err instanceof UsageError &&
        /identity shortcut needs F\(x\) and x of the same shape/.test(err.message) &&
        /16 channels to 32/.test(err.message),
    );
  });

  test('unknown shortcut, bad strides and bad filters are refused', () => {
    assert.throws(
      () => blockModel(residualBlock, [8, 8, 4], { filters: 4, shortcut: 'skip' }),
      /shortcut must be one of 'identity', 'zero-pad', 'projection', 'auto', got 'skip'/,
    );
    assert.throws(() => blockModel(residualBlock, [8, 8, 4], { filters: 4, strides: 3 }), /strides must be 1 or 2, got 3/);
    assert.throws(() => blockModel(residualBlock, [8, 8, 4], { filters: 0 }), /filters must be a positive integer, got 0/);
  });

  test('zero-pad cannot reduce channels', () => {
    assert.throws(() => blockModel(residualBlock, [8, 8, 16], { filters: 8, shortcut: 'zero-pad' }), /cannot reduce channels \(16 → 8\)/);
  });

  test('ReLU comes after the addition: outputs are never negative', () => {
    const m = blockModel(residualBlock, [8, 8, 4], { filters: 4 });
    const y = m.predict(tf.randomNormal([2, 8, 8, 4], 0, 3, 'float32', 3));
    assert.ok(tf.min(y).dataSync()[0] >= 0);
    assert.equal(m.layers.at(-1).getClassName(), 'ReLU');
    assert.equal(m.layers.at(-2).getClassName(), 'Add');
  });
});

describe('plainBlock and bottleneckBlock', () => {
  test('plain block: same layers, no addition', () => {
    const m = blockModel(plainBlock, [8, 8, 16], { filters: 32, strides: 2 });
    assert.deepEqual(m.outputs[0].shape, [null, 4, 4, 32]);
    assert.equal(m.layers.filter((l) => l.getClassName() === 'Add').length, 0);
    const r = blockModel(residualBlock, [8, 8, 16], { filters: 16 });
    const p = blockModel(plainBlock, [8, 8, 16], { filters: 16 });
    assert.equal(r.countParams(), p.countParams(), 'an identity shortcut adds no parameter (§3.2)');
  });

  test('bottleneck: 1×1–3×3–1×1 with 4× expansion', () => {
    const m = blockModel(bottleneckBlock, [8, 8, 256], { filters: 64 });
    assert.deepEqual(m.outputs[0].shape, [null, 8, 8, 256]);
    const kernels = m.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.getWeights()[0].shape);
    assert.deepEqual(kernels, [
      [1, 1, 256, 64],
      [3, 3, 64, 64],
      [1, 1, 64, 256],
    ]);
  });

  test('bottleneck with stride 2 projects the shortcut', () => {
    const m = blockModel(bottleneckBlock, [8, 8, 64], { filters: 32, strides: 2 });
    assert.deepEqual(m.outputs[0].shape, [null, 4, 4, 128]);
    assert.equal(m.layers.filter((l) => l.name.endsWith('_proj')).length, 1);
  });
});
