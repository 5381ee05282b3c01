// Shared by the tests: the built library, one backend for the whole file, small utilities.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as lib from '../dist/index.js';

export { lib };
export const { tf } = lib;

/** Use the library's own backend choice once per test file (quietly). */
export async function ready() {
  return lib.useBestBackend({ verbose: false });
}

/** Assert two arrays are equal within a relative/absolute tolerance. */
export function assertClose(actual, expected, tol = 1e-5, what = 'values') {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= tol)) assert.fail(`${what}[${i}]: ${a} ≠ ${e} (tolerance ${tol})`);
  }
}

/** Build a one-block model on an input of the given [h, w, c]. */
export function blockModel(block, inputShape, options) {
  const x = tf.input({ shape: inputShape });
  return tf.model({ inputs: x, outputs: block(x, options) });
}

/** The sample of real CIFAR-10 that ships with the package (500 training, 200 test images). */
export const SAMPLE = lib.CIFAR10_SAMPLE_DIR;

/** Runs `fn` with environment variables set (undefined: unset), restoring them after, also for a promise. */
export function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (entries) => entries.forEach(([k, v]) => (v === undefined ? delete process.env[k] : (process.env[k] = v)));
  set(Object.entries(vars));
  let result;
  try {
    result = fn();
  } catch (e) {
    set(Object.entries(saved));
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => set(Object.entries(saved)));
  set(Object.entries(saved));
  return result;
}

/**
 * Resolves once a server started as `child` prints `text` (its address), rejects when it exits
 * first or takes longer than `ms`; the error holds what it printed.
 */
export function serverListening(child, text, what, ms = 40_000) {
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${log}`)), ms);
    const onData = (d) => {
      log += d;
      if (log.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${log}`)));
  });
}

/** Bytes of one CIFAR-10 binary record: a label, then 32×32 pixels of red, green and blue. */
export const RECORD = 3073;

/** `count` CIFAR-10 records with a deterministic pattern: labels (r + seed) mod 10, pixels from r, i and seed. */
export function syntheticRecords(count, seed = 0) {
  const b = Buffer.alloc(count * RECORD);
  for (let r = 0; r < count; r++) {
    b[r * RECORD] = (r + seed) % 10;
    for (let i = 1; i < RECORD; i++) b[r * RECORD + i] = (i * 7 + r * 13 + seed) & 255;
  }
  return b;
}

/** A smaller copy of the sample in `dir` (made): the first `train` records of each training file, the first `test` test records. */
export function sampleSubset(dir, { train, test }) {
  mkdirSync(dir, { recursive: true });
  for (let k = 1; k <= 5; k++)
    writeFileSync(join(dir, `data_batch_${k}.bin`), readFileSync(join(SAMPLE, `data_batch_${k}.bin`)).subarray(0, train * RECORD));
  writeFileSync(join(dir, 'test_batch.bin'), readFileSync(join(SAMPLE, 'test_batch.bin')).subarray(0, test * RECORD));
  writeFileSync(join(dir, 'batches.meta.txt'), readFileSync(join(SAMPLE, 'batches.meta.txt')));
  return dir;
}

/** Headless Chromium, where installed (`CHROMIUM` names another). */
export const CHROMIUM = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (p) => p !== undefined && existsSync(p),
);

/** The DOM of `url` after headless Chromium ran its scripts for `budgetMs` of virtual time (a fresh profile in `profile`). */
export function chromiumDom(url, { profile, budgetMs = 15_000, timeout = 90_000 }) {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'];
  args.push(
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    `--virtual-time-budget=${budgetMs}`,
    '--dump-dom',
    url,
  );
  const r = spawnSync(CHROMIUM, args, { encoding: 'utf8', timeout, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
