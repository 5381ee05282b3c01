// The trainer on a paper net (ResNet-8, depth 6n+2 with n = 1) on the wasm backend with the
// library's training kernels: learning, flat tensor count, and resume after a kill.
import assert from 'node:assert/strict';
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
