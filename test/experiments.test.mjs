// `npm run experiments` (scripts/experiments.mjs) end to end on a tiny copy of the subset: it trains a
// net of the depth experiments in a child process into the run folder trainDepthNet uses, and a second
// call loads the finished run instead of training again.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lib } from './helpers.mjs';

const SCRIPT = fileURLToPath(new URL('../scripts/experiments.mjs', import.meta.url));
const DATA = '/work/shared/datasets/cifar10-subset';
const RECORD = 3073;

function tinyCopy(dir) {
  mkdirSync(dir);
  for (let k = 1; k <= 5; k++) writeFileSync(path.join(dir, `data_batch_${k}.bin`), readFileSync(path.join(DATA, `data_batch_${k}.bin`)).subarray(0, 32 * RECORD));
  writeFileSync(path.join(dir, 'test_batch.bin'), readFileSync(path.join(DATA, 'test_batch.bin')).subarray(0, 50 * RECORD));
  writeFileSync(path.join(dir, 'batches.meta.txt'), readFileSync(path.join(DATA, 'batches.meta.txt')));
}

test('experiments: trains into depthRunDir, then loads the finished run', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'residual-experiments-'));
  const data = path.join(dir, 'data');
  tinyCopy(data);
  const runs = path.join(dir, 'runs');
  const env = { ...process.env, RESIDUAL_DATA: data, RESIDUAL_QUICK: '', RESIDUAL_WASM_THREADS: '1' };
  const args = [SCRIPT, '--models', 'plain8', '--runs', runs];
  const first = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr + first.stdout);
  const location = { dir: data, kind: 'subset', description: '' };
  const epochs = 12; // depthExperimentEpochs on a subset
  const runDir = lib.depthRunDir('plain8', location, epochs, runs);
  assert.equal(runDir, path.join(runs, 'depth-subset-12', 'plain8'));
  assert.ok(existsSync(path.join(runDir, 'LATEST')), 'a checkpoint');
  const history = readFileSync(path.join(runDir, 'history.csv'), 'utf8').trim().split('\n');
  assert.equal(history.length, 1 + epochs);
  assert.match(first.stdout, /\[plain8\] plain8: training from scratch/);
  assert.match(first.stdout, /\[plain8\] done: 12 epochs, training error \d+\.\d% \(running\)/);

  const second = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /the finished run in .* is loaded \(12 epochs/);
  assert.equal(readFileSync(path.join(runDir, 'history.csv'), 'utf8').trim().split('\n').length, 1 + epochs);
});

test('experiments: a bad model or --jobs is named in a one-line error, exit 1', () => {
  for (const [args, msg] of [
    [['--models', 'plain8,resnet21'], /^experiments: --models resnet21: depth 21 is not of the form 6n\+2/],
    [['--models', 'vgg16'], /^experiments: --models: 'vgg16' is not a CIFAR net name/],
    [['--jobs', '0'], /^experiments: --jobs must be a positive integer, got '0'/],
  ]) {
    const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, RESIDUAL_QUICK: '' } });
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
