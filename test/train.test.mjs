// Training: schedules, SGD, the loop, history, checkpoints, resume, NaN stop. Tiny data, tiny
// model, cpu backend (tfjs's cpu Conv2DBackpropFilter is too slow for the real nets in a test).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { before, describe, test } from 'node:test';
import * as lib from '../dist/index.js';
import { SAMPLE } from './helpers.mjs';

const { tf } = lib;
const DATA = SAMPLE;
let data;

before(async () => {
  await lib.useBestBackend({ prefer: 'cpu', verbose: false });
  data = await lib.loadCifar10(DATA, { limitTrain: 256, limitTest: 100 });
});

/** A small conv net with batch norm: 32×32×3 → pool to 8×8 → conv(8) → BN → ReLU → GAP → dense(10). */
function tinyModel(seed = 1) {
  const x = tf.input({ shape: [32, 32, 3] });
  let h = tf.layers.averagePooling2d({ poolSize: 4 }).apply(x);
  h = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed }) })
    .apply(h);
  h = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(h);
  h = tf.layers.reLU().apply(h);
  h = tf.layers.globalAveragePooling2d({}).apply(h);
  const y = tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h);
  return tf.model({ inputs: x, outputs: y });
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'residual-train-'));
const weightsOf = (m) => m.getWeights().map((w) => Array.from(w.dataSync()));
const quiet = { progress: false };

describe('schedules (§4.2)', () => {
  test('step: 0.1, ÷10 at 32k and 48k of 64k', () => {
    const s = lib.stepSchedule();
    assert.equal(s(0), 0.1);
    assert.equal(s(31999), 0.1);
    assert.ok(Math.abs(s(32000) - 0.01) < 1e-12);
    assert.ok(Math.abs(s(47999) - 0.01) < 1e-12);
    assert.ok(Math.abs(s(48000) - 0.001) < 1e-12);
    assert.ok(Math.abs(s(63999) - 0.001) < 1e-12);
  });
  test('step scales its milestones to a shorter run', () => {
    const s = lib.stepSchedule({ lr: 0.1, totalSteps: 400 });
    assert.equal(s(199), 0.1);
    assert.ok(Math.abs(s(200) - 0.01) < 1e-12);
    assert.ok(Math.abs(s(300) - 0.001) < 1e-12);
  });
  test('cosine equals PyTorch CosineAnnealingLR(T_max=total) per step', () => {
    const s = lib.cosineSchedule({ lr: 0.1, totalSteps: 100 });
    assert.equal(s(0), 0.1);
    assert.ok(Math.abs(s(50) - 0.05) < 1e-12);
    assert.ok(Math.abs(s(25) - 0.05 * (1 + Math.cos(Math.PI / 4))) < 1e-12);
    assert.ok(Math.abs(s(100)) < 1e-12);
  });
  test("an unknown schedule name is refused in the library's words (the option, not a CLI flag)", async () => {
    assert.throws(
      () => lib.scheduleByName('linear', 0.1, 10),
      (e) => e instanceof lib.UsageError && /^schedule 'linear' is not a schedule: use 'cosine' or 'step'$/.test(e.message),
    );
    await assert.rejects(
      lib.train(tinyModel(), data, { epochs: 1, schedule: 'bogus', ...quiet }),
      (e) => e instanceof lib.UsageError && /^schedule 'bogus'/.test(e.message) && !/--/.test(e.message),
    );
  });
});

describe('SGD with momentum, PyTorch formulation', () => {
  test('v = μv + (g + λw); w −= lr·v over two steps', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = new lib.SgdMomentum({ momentum: 0.9, weightDecay: 0.1 });
    const g = tf.tensor1d([0.5, 0.5]);
    opt.applyGradients([w], { [w.name]: g }, 0.1);
    // g' = [0.6, 0.3]; v = g'; w = [0.94, -2.03]
    let got = Array.from(w.dataSync());
    assert.ok(Math.abs(got[0] - 0.94) < 1e-6 && Math.abs(got[1] + 2.03) < 1e-6, String(got));
    opt.applyGradients([w], { [w.name]: g }, 0.1);
    // g' = [0.594, 0.297]; v = 0.9·[0.6,0.3] + g' = [1.134, 0.567]; w = [0.8266, -2.0867]
    got = Array.from(w.dataSync());
    assert.ok(Math.abs(got[0] - 0.8266) < 1e-6 && Math.abs(got[1] + 2.0867) < 1e-6, String(got));
    opt.dispose();
    tf.dispose([w, g]);
  });
  test("scope 'kernels' decays kernels only", () => {
    assert.equal(lib.decays('conv2d_1/kernel', 'kernels'), true);
    assert.equal(lib.decays('dense_3/kernel_1', 'kernels'), true);
    assert.equal(lib.decays('batch_normalization_1/gamma', 'kernels'), false);
    assert.equal(lib.decays('dense_3/bias', 'kernels'), false);
    assert.equal(lib.decays('dense_3/bias', 'all'), true);
  });
});

describe('training loop', () => {
  test('loss decreases, BN moving averages update, tensors stay flat, history has the columns', async () => {
    const m = tinyModel();
    const bn = m.layers.find((l) => l.getClassName() === 'BatchNormalization');
    const meanBefore = Array.from(bn.getWeights()[2].dataSync());
    const counts = [];
    const dir = tmp();
    const h = await lib.train(
      m,
      data,
      { epochs: 4, batchSize: 32, lr: 0.1, outDir: dir, ...quiet },
      {
        onEpochEnd: () => counts.push(tf.memory().numTensors),
      },
    );
    assert.deepEqual(h.columns, ['epoch', 'step', 'lr', 'train_loss', 'train_err', 'test_loss', 'test_err', 'img_per_s', 'seconds']);
    assert.equal(h.height, 4);
    const loss = h.getColumn('train_loss').toArray();
    assert.ok(loss[3] < loss[0], `train loss ${loss}`);
    assert.deepEqual(h.getColumn('step').toArray().map(Number), [8, 16, 24, 32]);
    const meanAfter = Array.from(bn.getWeights()[2].dataSync());
    assert.ok(
      meanAfter.some((v, i) => Math.abs(v - meanBefore[i]) > 1e-4),
      'moving mean updated',
    );
    assert.ok(
      counts.every((c) => c === counts[0]),
      `tensor counts per epoch ${counts}`,
    );
    const csv = readFileSync(path.join(dir, 'history.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'epoch,step,lr,train_loss,train_err,test_loss,test_err,img_per_s,seconds');
    assert.equal(csv.length, 5);
    const back = lib.readHistoryCsv(path.join(dir, 'history.csv'));
    assert.equal(back.height, 4);
    // The lr column follows the cosine schedule at each epoch's last step (step−1).
    const lr = h.getColumn('lr').toArray();
    assert.ok(Math.abs(lr[1] - lib.cosineSchedule({ lr: 0.1, totalSteps: 32 })(15)) < 1e-12);
  });

  test('evaluation uses the moving averages (inference mode) and agrees with predict()', async () => {
    const m = tinyModel(3);
    await lib.train(m, { train: data.train }, { epochs: 1, batchSize: 64, ...quiet });
    const stats = lib.channelStats(data.train);
    const r = await lib.evaluate(m, data.test, { stats, batchSize: 50 });
    assert.equal(r.n, 100);
    const b = lib.batches(data.test, { batchSize: 100, stats }).next().value;
    const pred = tf.tidy(() =>
      m
        .predict(tf.tensor4d(b.x, [100, 32, 32, 3]))
        .argMax(1)
        .dataSync(),
    );
    const acc = pred.reduce((s, p, i) => s + (p === b.y[i] ? 1 : 0), 0) / 100;
    assert.equal(r.accuracy, acc);
  });

  test('a folder holding a run is refused without resume', async () => {
    const dir = tmp();
    await lib.train(tinyModel(), data, { epochs: 1, batchSize: 128, outDir: dir, ...quiet });
    await assert.rejects(
      lib.train(tinyModel(), data, { epochs: 2, batchSize: 128, outDir: dir, ...quiet }),
      /already holds a run \(epoch 1\): continue it \(resume: true\)/,
    );
    await assert.rejects(
      lib.train(tinyModel(), data, { epochs: 2, batchSize: 128, outDir: dir, resume: true, ...quiet }),
      /cannot continue .*: it was trained with epochs=1, not 2 \(the learning-rate schedule spans the planned epochs\)/,
    );
    await assert.rejects(
      lib.train(tinyModel(), data, { epochs: 1, batchSize: 64, outDir: dir, resume: true, ...quiet }),
      /batchSize=128, not 64/,
    );
  });
});

describe('checkpoints', () => {
  test('model round trip: same weights and identical predictions, via our handler and over HTTP', async () => {
    const m = tinyModel(5);
    await lib.train(m, { train: data.train }, { epochs: 1, batchSize: 64, ...quiet });
    const dir = tmp();
    await lib.saveModel(m, dir);
    assert.ok(existsSync(path.join(dir, 'model.json')) && existsSync(path.join(dir, 'weights.bin')));
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.deepEqual(json.weightsManifest[0].paths, ['./weights.bin']);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 7);
    const expect = m.predict(x).dataSync();
    const a = await tf.loadLayersModel(lib.fileModelHandler(dir));
    assert.deepEqual(weightsOf(a), weightsOf(m));
    assert.deepEqual(Array.from(a.predict(x).dataSync()), Array.from(expect));
    // A standard reader: tf.io.http over a real server.
    const server = http.createServer((req, res) => {
      const f = path.join(dir, path.basename(req.url));
      if (!existsSync(f)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': f.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(readFileSync(f));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const b = await tf.loadLayersModel(`http://127.0.0.1:${server.address().port}/model.json`);
      assert.deepEqual(Array.from(b.predict(x).dataSync()), Array.from(expect));
    } finally {
      server.close();
    }
    assert.deepEqual(Array.from((await lib.loadModel(dir)).predict(x).dataSync()), Array.from(expect));
  });

  test('resume after a kill mid-epoch continues at the right epoch/step with the same results', async () => {
    const init = tinyModel(9)
      .getWeights()
      .map((w) => w.clone());
    const fresh = () => {
      const m = tinyModel(9);
      m.setWeights(init);
      return m;
    };
    const opts = { epochs: 3, batchSize: 64, lr: 0.05, seed: 4, ...quiet };
    const full = fresh();
    const h1 = await lib.train(full, data, { ...opts, outDir: tmp() });

    const dir = tmp();
    const killed = fresh();
    await assert.rejects(
      lib.train(
        killed,
        data,
        { ...opts, outDir: dir },
        {
          onStep: ({ epoch, step }) => {
            if (epoch === 2 && step === 6) throw new Error('simulated kill');
          },
        },
      ),
      /simulated kill/,
    );
    assert.equal(readFileSync(path.join(dir, 'LATEST'), 'utf8').trim(), 'checkpoints/epoch-0001');
    const ck = await lib.loadCheckpoint(dir);
    assert.equal(ck.state.epoch, 1);
    assert.equal(ck.state.step, 4);
    assert.ok(ck.optimizer.buffers.length > 0, 'momentum buffers saved');

    const steps = [];
    const resumed = fresh(); // another model object: everything must come from the checkpoint
    const h2 = await lib.train(resumed, data, { ...opts, outDir: dir, resume: true }, { onStep: ({ step }) => steps.push(step) });
    assert.equal(steps[0], 5, 'continues at step 5 (epoch 2)');
    assert.deepEqual(h2.getColumn('epoch').toArray().map(Number), [1, 2, 3]);
    const w1 = weightsOf(full);
    const w2 = weightsOf(resumed);
    for (let i = 0; i < w1.length; i++) {
      for (let j = 0; j < w1[i].length; j++)
        assert.ok(Math.abs(w1[i][j] - w2[i][j]) < 1e-5, `weight ${i}[${j}] ${w1[i][j]} vs ${w2[i][j]}`);
    }
    const l1 = h1.getColumn('train_loss').toArray();
    const l2 = h2.getColumn('train_loss').toArray();
    l1.forEach((v, i) => assert.ok(Math.abs(v - l2[i]) < 1e-5, `epoch ${i + 1} loss ${v} vs ${l2[i]}`));
  });

  test('a half-written checkpoint (killed save) is ignored: the previous one stays current', async () => {
    const dir = tmp();
    await lib
      .train(
        tinyModel(),
        data,
        { epochs: 2, batchSize: 128, outDir: dir, ...quiet },
        {
          onEpochEnd: ({ epoch }) => {
            if (epoch === 1) throw new Error('stop after epoch 1');
          },
        },
      )
      .catch(() => {});
    // What a kill during the next save leaves: a temp folder and a renamed but unreferenced one.
    const root = path.join(dir, 'checkpoints');
    for (const d of ['.epoch-0002.tmp-99999', 'epoch-0002']) {
      const p = path.join(root, d);
      require_mkdir(p);
      writeFileSync(path.join(p, 'model.json'), '{"trunc');
    }
    const ck = await lib.loadCheckpoint(dir);
    assert.equal(ck.state.epoch, 1);
    await lib.train(tinyModel(), data, { epochs: 2, batchSize: 128, outDir: dir, resume: true, ...quiet });
    assert.deepEqual(readdirSync(root), ['epoch-0002']);
    assert.equal((await lib.loadCheckpoint(dir)).state.epoch, 2);
  });

  test('a NaN loss stops the run with a clear message and keeps the last good checkpoint', async () => {
    const dir = tmp();
    const steps = Math.ceil(256 / 64);
    const schedule = (s) => (s < steps ? 0.05 : 1e30);
    await assert.rejects(
      lib.train(tinyModel(), data, { epochs: 3, batchSize: 64, schedule, outDir: dir, ...quiet }),
      (e) =>
        e instanceof lib.TrainingDivergedError &&
        /loss is (NaN|Infinity|-Infinity) at epoch 2/.test(e.message) &&
        /last good checkpoint \(epoch 1\) is kept/.test(e.message),
    );
    const ck = await lib.loadCheckpoint(dir);
    assert.equal(ck.state.epoch, 1);
    const m = await lib.loadModel(dir);
    assert.ok(
      m.getWeights().every((w) => w.dataSync().every(Number.isFinite)),
      'checkpoint weights are finite',
    );
  });
});

import { mkdirSync } from 'node:fs';
function require_mkdir(p) {
  mkdirSync(p, { recursive: true });
}

describe('checkpoints of the paper nets', () => {
  test('ResNet-8 with option-A shortcuts (a custom layer) and projections round-trips through the file handler', async () => {
    for (const shortcut of ['zero-pad', 'projection']) {
      const m = lib.resnetCifar(8, { shortcut });
      const dir = tmp();
      await lib.saveModel(m, dir);
      const back = await lib.loadModel(dir);
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 11);
      assert.deepEqual(Array.from(back.predict(x).dataSync()), Array.from(m.predict(x).dataSync()), shortcut);
      assert.equal(back.weights.length, m.weights.length);
    }
  });

  test('restoring into a model of another architecture is refused with the reason', async () => {
    const dir = tmp();
    await lib.train(tinyModel(), data, { epochs: 2, batchSize: 128, outDir: dir, ...quiet });
    await assert.rejects(
      lib.train(lib.resnetCifar(8), data, { epochs: 2, batchSize: 128, outDir: dir, resume: true, ...quiet }),
      (e) =>
        e instanceof lib.UsageError &&
        /was trained on another architecture than this model's \(7 layers saved, the model has 33; layer 1 was #1 AveragePooling2D/.test(
          e.message,
        ),
    );
  });
});

describe('warm-up (§4.2)', () => {
  test('lr 0.01 until the error drops below the threshold or maxSteps, then the schedule', async () => {
    const lrs = [];
    await lib.train(
      tinyModel(),
      { train: data.train },
      { epochs: 2, batchSize: 32, lr: 0.1, schedule: 'step', warmup: { maxSteps: 3, untilTrainErr: 0 }, ...quiet },
      {
        onStep: ({ lr }) => lrs.push(lr),
      },
    );
    assert.deepEqual(lrs.slice(0, 4), [0.01, 0.01, 0.01, 0.1]);
    // step schedule over 16 steps: ÷10 at 8 and 12
    assert.ok(Math.abs(lrs[8] - 0.01) < 1e-12 && Math.abs(lrs[12] - 0.001) < 1e-12, String(lrs));
  });
});
