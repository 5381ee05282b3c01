// `npm run experiments` (`residual experiments`) end to end on a tiny copy of the subset: it trains a
// net of the depth experiments in a child process into the run folder trainDepthNet uses, and a second
// call loads the finished run instead of training again.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lib, SAMPLE, sampleSubset } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const SCRIPT = [CLI, 'experiments'];
test('experiments: trains each seed into depthRunDir, then loads the finished runs', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'residual-experiments-'));
  const data = path.join(dir, 'data');
  sampleSubset(data, { train: 32, test: 50 });
  const runs = path.join(dir, 'runs');
  const env = { ...process.env, RESIDUAL_DATA: data, RESIDUAL_QUICK: '', RESIDUAL_WASM_THREADS: '1' };
  const epochs = 2;
  const results = path.join(dir, 'sweep.csv');
  const args = [
    ...SCRIPT,
    '--models',
    'plain8',
    '--seeds',
    '0,1',
    '--width',
    '4',
    '--epochs',
    String(epochs),
    '--runs',
    runs,
    '--results',
    results,
  ];
  const first = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr + first.stdout);
  const location = { dir: data, kind: 'subset', description: '' };
  const histories = [0, 1].map((seed) => {
    const runDir = lib.depthRunDir('plain8', location, epochs, { runs, seed, width: 4 });
    assert.equal(runDir, path.join(runs, `depth-subset-${epochs}`, 'plain8_w4', `seed-${seed}`));
    assert.ok(existsSync(path.join(runDir, 'LATEST')), 'a checkpoint');
    const history = readFileSync(path.join(runDir, 'history.csv'), 'utf8').trim().split('\n');
    assert.equal(history.length, 1 + epochs);
    return history;
  });
  assert.notDeepEqual(histories[0], histories[1], 'another seed, another run');
  const csv = readFileSync(results, 'utf8').trim().split('\n');
  assert.equal(csv[0], 'model,width,seed,budget,epoch,train_err,test_err');
  assert.deepEqual(
    csv.slice(1).map((l) => l.split(',').slice(0, 5).join(',')),
    ['plain8,4,0,2,1', 'plain8,4,0,2,2', 'plain8,4,1,2,1', 'plain8,4,1,2,2'],
  );
  assert.match(first.stdout, /\[plain8_w4\/1\/2\] plain8_w4 seed 1: training from scratch/);
  assert.match(first.stdout, /\[plain8_w4\/0\/2\] done: 2 epochs, training error \d+\.\d% \(running\)/);

  // --collect trains nothing and merges what is on disk again (the same rows).
  const collected = spawnSync(process.execPath, [...args, '--collect'], { env, encoding: 'utf8' });
  assert.equal(collected.status, 0, collected.stderr);
  assert.doesNotMatch(collected.stdout, /training from scratch|is loaded/);
  assert.deepEqual(readFileSync(results, 'utf8').trim().split('\n'), csv);

  const second = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /plain8_w4 seed 0: the finished run in .* is loaded \(2 epochs/);
});

test(
  "a depth run never continues on another architecture (an option-A ResNet refuses its plain twin's run) nor on the recipe without its warm-up",
  { timeout: 600_000 },
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'residual-topology-'));
    const course = {
      quick: false,
      location: { dir, kind: 'subset', description: '' },
      cifar: await lib.loadCifar10(SAMPLE, { limitTrain: 64, limitTest: 20 }),
    };
    course.stats = lib.channelStats(course.cifar.train);
    const opts = { runs: dir, width: 2 };
    const plain = await lib.trainDepthNet('plain20', course, 1, opts);
    plain.model.dispose();
    // Fig. 7 on the finished run: one std per 3×3 layer (19 in plain-20), from the saved checkpoint.
    const responses = await lib.depthLayerResponses(course, 1, {
      models: ['plain20', 'plain56'],
      seeds: [0, 1],
      width: 2,
      runs: dir,
      images: 20,
    });
    assert.deepEqual(
      responses.map((r) => r.layer),
      Array.from({ length: 19 }, (_, i) => i + 1),
      'only the run that exists',
    );
    assert.ok(responses.every((r) => r.model === 'plain20' && r.seed === 0 && r.width === 2 && Number.isFinite(r.std) && r.std > 0));
    // The same weights, counts and shapes (option A adds no parameter), another topology.
    const twin = lib.depthNet('resnet20', 2);
    assert.equal(twin.countParams(), lib.depthNet('plain20', 2).countParams());
    const runDir = lib.depthRunDir('plain20', course.location, 1, opts);
    const ckpt = await lib.loadCheckpoint(runDir);
    assert.match(ckpt.state.topology, /^[0-9a-f]{16}$/);
    const optimizer = new lib.SgdMomentum();
    await assert.rejects(lib.restoreCheckpoint(ckpt, twin, optimizer), (e) => {
      assert.ok(e instanceof lib.UsageError, String(e));
      assert.ok(e.message.startsWith(`${runDir} was trained on another architecture`), e.message);
      assert.match(e.message, /\(62 layers saved, the model has 73; layer 9 was #9 ReLU .* the model's is #9 Add \{\} ← #8, #3\)/);
      return true;
    });
    await assert.rejects(
      lib.train(twin, course.cifar, { epochs: 1, outDir: runDir, resume: true, progress: false }),
      (e) => e instanceof lib.UsageError && /was trained on another architecture/.test(e.message),
    );
    // The run is untouched.
    assert.equal((await lib.loadCheckpoint(runDir)).state.epoch, 1);
    optimizer.dispose();
    twin.dispose();

    // The recipe records its warm-up (§4.2, every net alike); a run saved before it did is refused.
    assert.equal(ckpt.state.config.warmup, '0.01 until 0.8 or 400 steps');
    const old = lib.depthRunDir('plain20', course.location, 1, { ...opts, seed: 7 });
    cpSync(runDir, old, { recursive: true });
    const state = path.join(old, readFileSync(path.join(old, 'LATEST'), 'utf8').trim(), 'state.json');
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    delete saved.config.warmup;
    writeFileSync(state, JSON.stringify(saved));
    await assert.rejects(lib.trainDepthNet('plain20', course, 1, { ...opts, seed: 7 }), (e) => {
      assert.ok(e instanceof lib.UsageError, String(e));
      assert.match(e.message, /seed-7 holds a depth run saved before the course's recipe warmed up \(§4\.2\): move it away/);
      return true;
    });
    assert.equal(readFileSync(state, 'utf8'), JSON.stringify(saved), 'the old run is left as it was');
  },
);

test('experiments: a bad model or --jobs is named in a one-line error, exit 2', () => {
  for (const [args, msg] of [
    [['--models', 'plain8,resnet21'], /^residual experiments: --models resnet21: depth 21 is not of the form 6n\+2/],
    [['--models', 'vgg16'], /^residual experiments: --models: 'vgg16' is not a CIFAR net name/],
    [['--jobs', '0'], /^residual experiments: --jobs must be a whole number ≥ 1, got '0'/],
  ]) {
    const r = spawnSync(process.execPath, [...SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, RESIDUAL_QUICK: '' } });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
