// `residual train` and `residual evaluate` as a user runs them: child processes, real files,
// a real SIGKILL during training, then --resume. A tiny saved model (--model DIR) keeps it quick
// on the cpu backend.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SAMPLE } from './helpers.mjs';
import * as lib from '../dist/index.js';

const { tf } = lib;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const DATA = SAMPLE;
// An --out the refused calls never get to write.
const NEVER = path.join(tmpdir(), 'residual-never-written');
const env = { ...process.env, RESIDUAL_BACKEND: 'cpu' };
let tiny;

function residual(...args) {
  return spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
}

before(async () => {
  await lib.useBestBackend({ prefer: 'cpu', verbose: false });
  const x = tf.input({ shape: [32, 32, 3] });
  let h = tf.layers.averagePooling2d({ poolSize: 4, name: 'pool' }).apply(x);
  h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'conv' }).apply(h);
  h = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: 'bn' }).apply(h);
  h = tf.layers.reLU({ name: 'relu' }).apply(h);
  h = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(h);
  const y = tf.layers.dense({ units: 10, name: 'fc' }).apply(h);
  tiny = mkdtempSync(path.join(tmpdir(), 'residual-tiny-'));
  await lib.saveModel(tf.model({ inputs: x, outputs: y, name: 'tiny' }), tiny);
});

describe('residual train / evaluate', () => {
  test('bad arguments: a message naming the argument, no stack trace, status 2', () => {
    const cases = [
      [['train', '--data', DATA, '--epochs', '1', '--out', NEVER], /--model is required/],
      [
        ['train', '--model', 'resnet21', '--data', DATA, '--epochs', '1', '--out', NEVER],
        /--model resnet21: depth 21 is not of the form 6n\+2/,
      ],
      [['train', '--model', 'vgg16', '--data', DATA, '--epochs', '1', '--out', NEVER], /--model 'vgg16' is neither/],
      [
        ['train', '--model', 'resnet20', '--data', DATA, '--epochs', 'two', '--out', NEVER],
        /--epochs must be a whole number ≥ 1, got 'two'/,
      ],
      [
        ['train', '--model', 'resnet20', '--data', DATA, '--epochs', '1', '--out', NEVER, '--lr', '0'],
        /--lr must be a number > 0, got '0'/,
      ],
      [
        ['train', '--model', 'resnet20', '--data', DATA, '--epochs', '1', '--out', NEVER, '--schedule', 'linear'],
        /--schedule must be cosine or step/,
      ],
      [['train', '--model', 'resnet20', '--data', '/nonexistent', '--epochs', '1', '--out', NEVER], /--data \/nonexistent: no such folder/],
      [['train', '--model', 'resnet20', '--bogus'], /Unknown option '--bogus'/],
      [['evaluate', '--data', DATA], /--model-dir is required/],
      [['evaluate', '--model-dir', '/nonexistent', '--data', DATA], /--model-dir \/nonexistent: neither a saved model/],
      [['evaluate', '--model-dir', tiny, '--data', '/tmp'], /--data \/tmp: no test_batch.bin/],
    ];
    for (const [args, re] of cases) {
      const r = residual(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: status ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('a run killed with SIGKILL resumes to the end; evaluate --json prints the result last', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'residual-run-'));
    const args = [
      'train',
      '--model',
      tiny,
      '--data',
      DATA,
      '--epochs',
      '4',
      '--out',
      out,
      '--limit-train',
      '512',
      '--batch',
      '32',
      '--seed',
      '3',
    ];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: 'ignore' });
    // Kill it during a later epoch (after the first checkpoint), at whatever it is doing.
    await new Promise((resolve, reject) => {
      const t = setInterval(() => {
        if (existsSync(path.join(out, 'LATEST'))) {
          clearInterval(t);
          setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, 150);
        }
      }, 20);
      child.on('exit', (code) => {
        clearInterval(t);
        code === 0 ? resolve() : reject(new Error(`train exited ${code}`));
      });
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', r)));
    const before = await lib.loadCheckpoint(out);
    assert.ok(before.state.epoch >= 1 && before.state.epoch <= 4);

    const again = residual(...args);
    assert.match(again.stderr + again.stdout, /already holds a run/);
    const r = residual(...args, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done: epoch 4/);
    const ck = await lib.loadCheckpoint(out);
    assert.equal(ck.state.epoch, 4);
    assert.equal(ck.state.step, 4 * 16);
    const csv = readFileSync(path.join(out, 'history.csv'), 'utf8').trim().split('\n');
    assert.deepEqual(
      csv.slice(1).map((l) => l.split(',')[0]),
      ['1', '2', '3', '4'],
    );

    const ev = residual('evaluate', '--model-dir', out, '--data', DATA, '--json');
    assert.equal(ev.status, 0, ev.stderr);
    const last = JSON.parse(ev.stdout.trim().split('\n').pop());
    assert.equal(last.n, 200);
    assert.ok(last.accuracy >= 0 && last.accuracy <= 1 && Number.isFinite(last.loss));
    // The same numbers as the test columns of the last epoch (both in inference mode, same stats).
    const row = csv[4].split(',');
    assert.ok(Math.abs(1 - Number(row[6]) - last.accuracy) < 1e-9, `history test_err ${row[6]} vs accuracy ${last.accuracy}`);
  });
});
