// initializeWeights: the paper's He initialisation and PyTorch's default, seeded; `residual train --init`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lib, ready, SAMPLE, tf } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
before(ready);

/** The 3×3 convolutions of stage 2 (fan_in 288) and the classifier of a ResNet-20. */
function parts(model) {
  const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D' && l.getWeights()[0].shape.join() === '3,3,32,32');
  const fc = model.layers.find((l) => l.getClassName() === 'Dense');
  const kernel = tf.concat(convs.map((l) => l.getWeights()[0].reshape([-1])));
  return { kernel: kernel.dataSync(), fcKernel: fc.getWeights()[0].dataSync(), fcBias: fc.getWeights()[1].dataSync() };
}
const std = (v) => {
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
};

test("'he': a normal with std √(2/fan_in), not truncated (§3.4); biases zero", () => {
  const model = lib.resnetCifar(20);
  assert.equal(lib.initializeWeights(model, { scheme: 'he', seed: 1 }), 22); // 19 convs + 2 projections + fc
  const { kernel, fcBias } = parts(model);
  const sigma = Math.sqrt(2 / 288);
  // Untruncated: the standard deviation is σ (a normal truncated at ±2σ, tfjs's heNormal, has 0.880σ),
  // and about 4.6% of the weights lie beyond 2σ (none would, truncated).
  assert.ok(Math.abs(std(kernel) / sigma - 1) < 0.03, `std ${std(kernel)} vs ${sigma}`);
  const beyond = kernel.filter((v) => Math.abs(v) > 2 * sigma).length / kernel.length;
  assert.ok(beyond > 0.03 && beyond < 0.06, `${(100 * beyond).toFixed(1)}% beyond 2σ`);
  assert.ok(fcBias.every((b) => b === 0));
  model.dispose();
});

test("'pytorch': uniform in ±1/√fan_in for kernels and the classifier's bias (kaiming_uniform_, a=√5)", () => {
  const model = lib.resnetCifar(20);
  lib.initializeWeights(model, { scheme: 'pytorch', seed: 1 });
  const { kernel, fcKernel, fcBias } = parts(model);
  const bound = 1 / Math.sqrt(288);
  assert.ok(Math.abs(std(kernel) - bound / Math.sqrt(3)) < 0.02 * bound, `std ${std(kernel)}`);
  assert.ok(Math.max(...kernel.map(Math.abs)) <= bound);
  assert.ok(Math.max(...kernel.map(Math.abs)) > 0.95 * bound);
  for (const v of [...fcKernel, ...fcBias]) assert.ok(Math.abs(v) <= 1 / 8, `fc ${v} (fan_in 64)`);
  assert.ok(fcBias.some((b) => b !== 0));
  model.dispose();
});

test('the same seed gives the same weights, another seed others; batch norm is untouched', () => {
  const [a, b, c] = [lib.resnetCifar(20), lib.resnetCifar(20), lib.resnetCifar(20)];
  lib.initializeWeights(a, { seed: 7 });
  lib.initializeWeights(b, { seed: 7 });
  lib.initializeWeights(c, { seed: 8 });
  const ka = parts(a).kernel;
  assert.deepEqual(ka, parts(b).kernel);
  assert.notDeepEqual(ka, parts(c).kernel);
  const gamma = a.layers
    .find((l) => l.getClassName() === 'BatchNormalization')
    .getWeights()[0]
    .dataSync();
  assert.ok(gamma.every((g) => g === 1));
  for (const m of [a, b, c]) m.dispose();
});

test('a bad scheme or seed is refused by name', () => {
  const model = lib.plainCifar(8);
  assert.throws(() => lib.initializeWeights(model, { scheme: 'xavier' }), /init scheme must be he or pytorch, got 'xavier'/);
  assert.throws(() => lib.initializeWeights(model, { seed: 0.5 }), /init seed must be an integer/);
  model.dispose();
});

test('residual train --init: a bad scheme is named, no stack trace', () => {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'train',
      '--model',
      'resnet20',
      '--data',
      SAMPLE,
      '--epochs',
      '1',
      '--out',
      join(tmpdir(), 'residual-never-written'),
      '--init',
      'glorot',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--init must be he or pytorch, got 'glorot'/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
