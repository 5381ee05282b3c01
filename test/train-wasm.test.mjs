// The trainer on a paper net (ResNet-8, depth 6n+2 with n = 1) on the wasm backend with the
// library's training kernels: learning, flat tensor count, and resume after a kill.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import * as lib from '../dist/index.js';
import { SAMPLE } from './helpers.mjs';

const { tf } = lib;
let data;

before(async () => {
  await lib.useBestBackend({ prefer: 'wasm', verbose: false });
  data = await lib.loadCifar10(SAMPLE, { limitTrain: 128, limitTest: 50 });
});

test('ResNet-8 on wasm: loss falls, tensors flat, a killed run resumes to the same weights', async () => {
  const init = lib
    .resnetCifar(8)
    .getWeights()
    .map((w) => w.clone());
  const fresh = () => {
    const m = lib.resnetCifar(8);
    m.setWeights(init);
    return m;
  };
  const opts = { epochs: 3, batchSize: 64, seed: 2, progress: false };
  const counts = [];
  const full = fresh();
  const h = await lib.train(
    full,
    data,
    { ...opts, outDir: mkdtempSync(path.join(tmpdir(), 'residual-wasm-')) },
    {
      onEpochEnd: () => counts.push(tf.memory().numTensors),
    },
  );
  const loss = h.getColumn('train_loss').toArray();
  assert.ok(loss[2] < loss[0], `loss ${loss}`);
  assert.ok(
    counts.every((c) => c === counts[0]),
    `tensors per epoch ${counts}`,
  );

  const dir = mkdtempSync(path.join(tmpdir(), 'residual-wasm-'));
  await assert.rejects(
    lib.train(
      fresh(),
      data,
      { ...opts, outDir: dir },
      {
        onStep: ({ step }) => {
          if (step === 5) throw new Error('kill');
        },
      },
    ),
    /kill/,
  );
  assert.equal((await lib.loadCheckpoint(dir)).state.epoch, 2);
  const resumed = fresh();
  await lib.train(resumed, data, { ...opts, outDir: dir, resume: true });
  const a = full.getWeights();
  const b = resumed.getWeights();
  for (let i = 0; i < a.length; i++) {
    const d = tf.max(tf.abs(tf.sub(a[i], b[i]))).dataSync()[0];
    assert.ok(d < 1e-4, `weight ${full.weights[i].originalName} differs by ${d}`);
  }
});

/**
 * The weights after two training steps of a seeded ResNet-8 at batch 32 on the wasm backend with
 * `threads` threads (one process: a process holds one wasm build), as a hex digest.
 */
function weightsAfterSteps(threads) {
  const code = `
    const lib = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    const { tf } = lib;
    await lib.useBestBackend({ prefer: 'wasm', threads: ${threads}, verbose: false });
    const model = lib.resnetCifar(8);
    lib.initializeWeights(model, { scheme: 'he', seed: 3 });
    const opt = new lib.SgdMomentum({ momentum: 0.9, weightDecay: 1e-4 });
    const x = tf.randomNormal([32, 32, 32, 3], 0, 1, 'float32', 4);
    const y = tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 10), 'int32');
    for (let i = 0; i < 2; i++) tf.dispose(Object.values(lib.trainStep(model, opt, x, y, 0.1)));
    const hash = (await import('node:crypto')).createHash('sha256');
    for (const w of model.getWeights()) hash.update(Buffer.from(w.dataSync().buffer));
    console.log(lib.wasmThreadsCount(), hash.digest('hex'));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').at(-1).split(' ');
}

test('training gives the same weights, to the last bit, on one thread and on two (filter gradients in fixed parts)', () => {
  const [one, two] = [weightsAfterSteps(1), weightsAfterSteps(2)];
  assert.equal(one[0], '1');
  assert.equal(two[0], '2', 'the threaded build, with a helper thread');
  assert.equal(two[1], one[1]);
});
