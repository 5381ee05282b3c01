import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { lib, ready, tf } from './helpers.mjs';

const { resnetCifar, plainCifar, cifarNetByName, cifarBlocksPerStage, UsageError } = lib;

before(ready);

// §4.2 / Table 6: parameters of the CIFAR ResNets.
const PAPER_PARAMS = { 20: 0.27e6, 32: 0.46e6, 44: 0.66e6, 56: 0.85e6, 110: 1.7e6 };

describe('CIFAR nets of depth 6n+2 (§4.2)', () => {
  for (const [depth, paper] of Object.entries(PAPER_PARAMS)) {
    test(`ResNet-${depth} has ${paper / 1e6}M parameters within 5% (options A and B)`, () => {
      for (const shortcut of ['zero-pad', 'auto']) {
        const m = resnetCifar(Number(depth), { shortcut });
        const trainable = m.trainableWeights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
        const rel = Math.abs(trainable - paper) / paper;
        assert.ok(rel < 0.05, `${shortcut}: ${trainable} vs ${paper} (${(rel * 100).toFixed(1)}%)`);
        m.dispose();
      }
    });
  }

  test('ResNet-20 maps [N,32,32,3] to 10 logits and has 6n+2 weighted layers', () => {
    const m = resnetCifar(20);
    const y = m.predict(tf.zeros([3, 32, 32, 3]));
    assert.deepEqual(y.shape, [3, 10]);
    const weighted = m.layers.filter((l) => (l.getClassName() === 'Conv2D' && !l.name.endsWith('_proj')) || l.getClassName() === 'Dense');
    assert.equal(weighted.length, 20);
  });

  test('feature maps are 32, 16 and 8 with 16, 32 and 64 filters', () => {
    const m = resnetCifar(20);
    const outs = ['resnet20_stage1_block3_out', 'resnet20_stage2_block3_out', 'resnet20_stage3_block3_out'].map(
      (n) => m.getLayer(n).outputShape,
    );
    assert.deepEqual(outs, [
      [null, 32, 32, 16],
      [null, 16, 16, 32],
      [null, 8, 8, 64],
    ]);
  });

  test('plain twin has the same layers without additions', () => {
    const p = plainCifar(20);
    const r = resnetCifar(20, { shortcut: 'zero-pad' });
    assert.equal(p.layers.filter((l) => l.getClassName() === 'Add').length, 0);
    assert.equal(r.layers.filter((l) => l.getClassName() === 'Add').length, 9);
    assert.equal(p.countParams(), r.countParams(), 'option A adds no parameters');
    assert.deepEqual(p.predict(tf.zeros([1, 32, 32, 3])).shape, [1, 10]);
  });

  test('a depth not of the form 6n+2 is refused with the reason', () => {
    for (const bad of [21, 19, 2, 0, 20.5]) {
      assert.throws(
        () => resnetCifar(bad),
        (err) => err instanceof UsageError && new RegExp(`depth ${bad} is not of the form 6n\\+2`).test(err.message),
      );
    }
    assert.throws(() => plainCifar(21), /nearest: 20 or 26/);
    assert.equal(cifarBlocksPerStage(110), 18);
  });

  test('nets by name, and bad names refused', () => {
    assert.equal(cifarNetByName('plain56').name, 'plain56');
    assert.equal(cifarNetByName('resnet32').name, 'resnet32');
    assert.throws(() => cifarNetByName('vgg16'), /model 'vgg16' is not a CIFAR net name/);
    assert.throws(() => resnetCifar(20, { numClasses: 1 }), /numClasses must be an integer ≥ 2/);
  });

  test("shortcut 'projection' projects in every block (option C), 'auto' only where the shape changes (B)", () => {
    const projections = (m) => m.layers.filter((l) => l.name.endsWith('_proj')).length;
    assert.equal(projections(resnetCifar(20, { shortcut: 'projection' })), 9);
    assert.equal(projections(resnetCifar(20)), 2);
    assert.equal(projections(resnetCifar(20, { shortcut: 'zero-pad' })), 0);
  });

  test('numClasses changes the last layer', () => {
    const m = resnetCifar(8, { numClasses: 100 });
    assert.deepEqual(m.outputs[0].shape, [null, 100]);
  });
});
