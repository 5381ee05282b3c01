// Which CIFAR-10 the course uses: a folder RESIDUAL_DATA names, the full set in data/cifar10
// (downloaded on first use from a real HTTP server on 127.0.0.1 here), or the sample that ships with
// the package, with one line when the download fails; quick mode never asks the network.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lib, SAMPLE, withEnv } from './helpers.mjs';

const { findCifar10, findOrDownloadCifar10, quickMode, loadCourseData, depthExperimentEpochs, UsageError } = lib;

// The sample as the official archive lays it out (cifar-10-batches-bin/…), served by a local server.
const root = mkdtempSync(join(tmpdir(), 'course-'));
const staging = join(root, 'staging', 'cifar-10-batches-bin');
mkdirSync(staging, { recursive: true });
for (const f of readdirSync(SAMPLE)) if (f !== 'README.md') writeFileSync(join(staging, f), readFileSync(join(SAMPLE, f)));
execFileSync('tar', ['czf', join(root, 'archive.tar.gz'), '-C', join(root, 'staging'), 'cifar-10-batches-bin']);
const archive = readFileSync(join(root, 'archive.tar.gz'));
const requests = [];
const server = createServer((req, res) => {
  requests.push(req.url);
  if (req.url === '/cifar.tar.gz') {
    res.writeHead(200, { 'content-length': String(archive.length) });
    res.end(archive);
  } else {
    res.writeHead(503);
    res.end('down for maintenance');
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
after(() => {
  server.close();
  rmSync(root, { recursive: true, force: true });
});

/** Captures console.log while `fn` runs. */
async function logged(fn) {
  const lines = [];
  const log = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  try {
    return { value: await fn(), lines };
  } finally {
    console.log = log;
  }
}

describe('course data', () => {
  test('quick mode follows RESIDUAL_QUICK', () => {
    assert.equal(withEnv({ RESIDUAL_QUICK: '1' }, quickMode), true);
    assert.equal(withEnv({ RESIDUAL_QUICK: '0' }, quickMode), false);
    assert.equal(withEnv({ RESIDUAL_QUICK: undefined }, quickMode), false);
  });

  test('findCifar10: the full set in data/cifar10, else the bundled sample; never a folder outside the package', () => {
    const full = join(root, 'lookup', 'cifar10');
    mkdirSync(full, { recursive: true });
    writeFileSync(join(full, 'data_batch_1.bin'), Buffer.alloc(10000 * 3073));
    writeFileSync(join(full, 'test_batch.bin'), Buffer.alloc(3073));
    const found = withEnv({ RESIDUAL_DATA: undefined }, () => findCifar10(full));
    assert.deepEqual([found.dir, found.kind], [full, 'full']);
    const sample = withEnv({ RESIDUAL_DATA: undefined }, () => findCifar10(join(root, 'nothing-here')));
    assert.deepEqual([sample.dir, sample.kind], [SAMPLE, 'sample']);
    assert.match(sample.description, /sample of CIFAR-10 that ships with the course \(500 training and 200 test images\)/);
  });

  test('RESIDUAL_DATA is the only place looked at, and a folder without CIFAR-10 there is named', () => {
    const ok = withEnv({ RESIDUAL_DATA: SAMPLE }, () => findCifar10(join(root, 'nothing-here')));
    assert.equal(ok.dir, SAMPLE);
    assert.throws(
      () => withEnv({ RESIDUAL_DATA: join(root, 'nowhere') }, () => findCifar10()),
      (e) => e instanceof UsageError && /RESIDUAL_DATA=.*nowhere has no CIFAR-10 files/.test(e.message),
    );
  });

  test('the first use downloads the full set into data/cifar10 (atomically), later uses find it there', async () => {
    const dataDir = join(root, 'first-use', 'cifar10');
    const before = requests.length;
    const { value } = await logged(() =>
      withEnv({ RESIDUAL_DATA: undefined, RESIDUAL_QUICK: undefined }, () =>
        findOrDownloadCifar10({
          dataDir,
          from: `${base}/cifar.tar.gz`,
          md5: createHash('md5').update(archive).digest('hex'),
          size: archive.length,
        }),
      ),
    );
    assert.equal(requests.length, before + 1);
    assert.equal(value.dir, dataDir);
    assert.ok(existsSync(join(dataDir, 'data_batch_5.bin')));
    assert.deepEqual(readdirSync(join(root, 'first-use')), ['cifar10'], 'no temporary folder is left beside it');
    const again = await withEnv({ RESIDUAL_DATA: undefined, RESIDUAL_QUICK: undefined }, () =>
      findOrDownloadCifar10({ dataDir, from: `${base}/cifar.tar.gz` }),
    );
    assert.equal(again.dir, dataDir);
    assert.equal(requests.length, before + 1, 'no second download');
  });

  test('a failed download falls back to the bundled sample with one line saying so', async () => {
    const dataDir = join(root, 'offline', 'cifar10');
    const { value, lines } = await logged(() =>
      withEnv({ RESIDUAL_DATA: undefined, RESIDUAL_QUICK: undefined }, () => loadCourseData({ dataDir, from: `${base}/missing.tar.gz` })),
    );
    assert.equal(value.location.kind, 'sample');
    assert.deepEqual([value.cifar.train.n, value.cifar.test.n], [500, 200]);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0],
      /^CIFAR-10 could not be downloaded \(.*503.*\): this run uses the sample .* numbers will differ from the committed ones/,
    );
    assert.equal(existsSync(join(root, 'offline')) ? readdirSync(join(root, 'offline')).length : 0, 0, 'nothing is left behind');
  });

  test('quick mode makes no request: the sample, 500 + 200 images; the depth experiments train 1 epoch', async () => {
    const before = requests.length;
    const quick = await withEnv({ RESIDUAL_QUICK: '1', RESIDUAL_DATA: undefined }, () =>
      loadCourseData({ dataDir: join(root, 'quick', 'cifar10'), from: `${base}/cifar.tar.gz` }),
    );
    assert.equal(requests.length, before);
    assert.deepEqual([quick.location.kind, quick.cifar.train.n, quick.cifar.test.n, quick.quick], ['sample', 500, 200, true]);
    assert.equal(
      withEnv({ RESIDUAL_QUICK: '1' }, () => depthExperimentEpochs(quick.location)),
      1,
    );
  });
});
