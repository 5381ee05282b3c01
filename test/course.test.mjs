import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lib } from './helpers.mjs';

const { findCifar10, quickMode, loadCourseData, depthExperimentEpochs, UsageError } = lib;

function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.entries(vars).forEach(([k, v]) => (v === undefined ? delete process.env[k] : (process.env[k] = v)));
  try {
    return fn();
  } finally {
    Object.entries(saved).forEach(([k, v]) => (v === undefined ? delete process.env[k] : (process.env[k] = v)));
  }
}

describe('course settings', () => {
  const root = mkdtempSync(join(tmpdir(), 'course-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('quick mode follows RESIDUAL_QUICK', () => {
    assert.equal(withEnv({ RESIDUAL_QUICK: '1' }, quickMode), true);
    assert.equal(withEnv({ RESIDUAL_QUICK: '0' }, quickMode), false);
    assert.equal(withEnv({ RESIDUAL_QUICK: undefined }, quickMode), false);
  });

  test('finds the full set in data/cifar10 before the shared subset, and tells them apart', () => {
    const repo = join(root, 'repo');
    const full = join(repo, 'data', 'cifar10');
    const subset = join(root, 'shared', 'datasets', 'cifar10-subset');
    for (const [dir, records] of [[full, 10000], [subset, 1000]]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'data_batch_1.bin'), Buffer.alloc(records * 3073));
      writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(3073));
    }
    const found = withEnv({ RESIDUAL_DATA: undefined }, () => findCifar10(repo));
    assert.equal(found.dir, full);
    assert.equal(found.kind, 'full');
    rmSync(full, { recursive: true });
    const fallback = withEnv({ RESIDUAL_DATA: undefined }, () => findCifar10(repo));
    assert.equal(fallback.kind, 'subset');
    assert.match(fallback.description, /subset of real CIFAR-10/);
  });

  test('no data: a clear error that says how to get it; RESIDUAL_DATA is the only place then', () => {
    const repoWithSubsetBeside = join(root, 'repo');
    assert.throws(
      () => withEnv({ RESIDUAL_DATA: join(root, 'nowhere') }, () => findCifar10(repoWithSubsetBeside)),
      (e) => e instanceof UsageError && /RESIDUAL_DATA=.*nowhere has no CIFAR-10 files/.test(e.message) && /residual data download --dir data\/cifar10/.test(e.message),
    );
  });

  test('the course data: the shared subset in full, 512 + 200 images in quick mode; the depth experiments\' epochs', async () => {
    const subset = '/work/shared/datasets/cifar10-subset';
    const full = await withEnv({ RESIDUAL_QUICK: undefined, RESIDUAL_DATA: subset }, () => loadCourseData());
    assert.equal(full.location.kind, 'subset');
    assert.deepEqual([full.cifar.train.n, full.cifar.test.n, full.quick], [5000, 500, false]);
    assert.equal(full.stats.mean.length, 3);
    assert.equal(withEnv({ RESIDUAL_QUICK: undefined }, () => depthExperimentEpochs(full.location)), 12);
    assert.equal(withEnv({ RESIDUAL_QUICK: undefined }, () => depthExperimentEpochs({ ...full.location, kind: 'full' })), 30);
    const quick = await withEnv({ RESIDUAL_QUICK: '1', RESIDUAL_DATA: subset }, () => loadCourseData());
    assert.deepEqual([quick.cifar.train.n, quick.cifar.test.n, quick.quick], [512, 200, true]);
    assert.equal(withEnv({ RESIDUAL_QUICK: '1' }, () => depthExperimentEpochs(quick.location)), 1);
  });
});
