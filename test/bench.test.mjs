// `residual bench`: the CLI end to end on a tiny ResNet (depth 8, batch 4), real child processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { lib } from './helpers.mjs';

const root = new URL('..', import.meta.url).pathname;
const bench = (...args) =>
  spawnSync(process.execPath, ['dist/cli.js', 'bench', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const torchAvailable = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe('residual bench', () => {
  test('--json: images/s and peak memory on wasm (and wasm-threads), ratios against PyTorch', { timeout: 120_000 }, () => {
    // Two steps, so that the best step and the mean can differ (with one they are the same number).
    const args = ['--backend', 'wasm,wasm-threads', '--models', '8', '--batch', '4', '--steps', '2', '--rounds', '2', '--json'];
    if (torchAvailable) args.push('--vs-pytorch');
    const r = bench(...args);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.skipped, []);
    assert.equal(out.rounds, 2);
    assert.deepEqual(
      out.results.map((x) => [x.backend, x.model, x.batch]),
      [
        ['wasm', 'resnet8', 4],
        ['wasm-threads', 'resnet8', 4],
      ],
    );
    for (const x of out.results) {
      assert.ok(x.trainImagesPerSec > 0 && x.inferImagesPerSec > x.trainImagesPerSec / 10, JSON.stringify(x));
      assert.ok(x.peakTensorBytes > 0 && x.peakRssBytes > x.peakTensorBytes, JSON.stringify(x));
      assert.ok(
        x.peakHeapBytes >= 16 * 2 ** 20 && x.peakHeapBytes < x.peakRssBytes,
        'the wasm heap: at least its initial 16 MiB, inside the process',
      );
      assert.ok(
        x.trainBestImagesPerSec >= x.trainImagesPerSec * 0.999 && x.inferBestImagesPerSec >= x.inferImagesPerSec * 0.999,
        JSON.stringify(x),
      );
    }
    assert.equal(out.results[0].threads, 1);
    assert.ok(out.results[1].threads >= 2, "wasm-threads computes on the machine's cores");
    // What the threads gain: wasm-threads over wasm, and PyTorch's 2 threads over its 1.
    assert.equal(out.threadGains.length, 1);
    assert.equal(out.threadGains[0].model, 'resnet8');
    assert.ok(out.threadGains[0].ours > 0);
    if (torchAvailable) {
      assert.deepEqual(
        out.pytorch.map((p) => [p.model, p.threads]),
        [
          ['resnet8', 2],
          ['resnet8', 1],
        ],
      );
      assert.ok(out.threadGains[0].pytorch > 0);
      assert.ok(out.ratiosVsPytorch.every((q) => q.train > 0 && q.infer > 0 && q.predict > 0 && q.rounds === 2));
    }
  });

  test('the table names every column', { timeout: 120_000 }, () => {
    const r = bench('--backend', 'wasm', '--models', 'resnet8', '--batch', '2', '--steps', '1', '--rounds', '1');
    assert.equal(r.status, 0, r.stderr);
    const columns = ['backend', 'model', 'threads', 'train img/s', '(best step)', 'GFLOP/s', 'infer img/s', '(best step)', 'GFLOP/s'];
    columns.push('predict() img/s', 'peak tensors MiB', 'wasm heap MiB', 'peak RSS MiB');
    assert.equal(
      r.stdout
        .split('\n')[0]
        .trim()
        .split(/\s{2,}/)
        .join('|'),
      columns.join('|'),
    );
    assert.match(r.stdout, /\nwasm\s+resnet8\s+1(\s+[\d.]+){10}\n/);
    assert.match(r.stdout, /medians of 1 round \(1 timed step each after a warm-up\)/);
    assert.match(r.stdout, /WebAssembly SIMD128 peak: (2 FMA pipes × 4 lanes × 2 flops × [\d.]+ GHz = [\d.]+ GFLOP\/s per core|unknown)/);
  });

  test('bad arguments exit 2 with a message naming the argument', () => {
    for (const [args, message] of [
      [['--batch', '0'], /--batch must be a whole number ≥ 1, got '0'/],
      [['--models', '21'], /depth 21 is not of the form 6n\+2/],
      [['--backend', 'gpu'], /--backend: 'gpu' is not one of/],
      [
        ['--vs-pytorch', '--ref', '/nonexistent/ref.py', '--backend', 'cpu', '--models', '8', '--batch', '1', '--steps', '1'],
        /--ref \/nonexistent\/ref.py/,
      ],
    ]) {
      const r = bench(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
