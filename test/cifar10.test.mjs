// CIFAR-10 loading (the bundled sample of real images, and bad fixtures), channel stats, seeded batches, §4.2 augmentation.
import { test } from 'node:test';
import { SAMPLE, syntheticRecords } from './helpers.mjs';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadCifar10,
  loadCifar10Split,
  channelStats,
  batches,
  batchCount,
  fillImage,
  normalisationTable,
  NO_AUGMENT,
  CIFAR10_CLASSES,
  UsageError,
  Rng,
  permutation,
} from '../dist/index.js';

const DATA = SAMPLE;
const data = await loadCifar10(DATA);

/** Raw record k of a binary file. */
function rawRecord(file, k) {
  const buf = readFileSync(join(DATA, file));
  return buf.subarray(k * 3073, (k + 1) * 3073);
}

/** A folder with small valid files (records per train file, per test file). */
function fixtureDir(perTrain = 2, perTest = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'cifar-fixture-'));
  for (let k = 1; k <= 5; k++) writeFileSync(join(dir, `data_batch_${k}.bin`), syntheticRecords(perTrain, k));
  writeFileSync(join(dir, 'test_batch.bin'), syntheticRecords(perTest, 0));
  writeFileSync(join(dir, 'batches.meta.txt'), CIFAR10_CLASSES.join('\n') + '\n\n');
  return dir;
}

async function refuses(promise, ...patterns) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${err}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

test('loads the bundled sample: 500 train, 200 test, labels 0–9, class names', () => {
  assert.equal(data.train.n, 500);
  assert.equal(data.test.n, 200);
  assert.equal(data.train.images.length, 500 * 3072);
  assert.equal(data.test.labels.length, 200);
  assert.ok(data.train.images instanceof Uint8Array);
  assert.deepEqual(data.classNames, [...CIFAR10_CLASSES]);
  const seen = new Set(data.train.labels);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.ok(data.test.labels.every((l) => l <= 9));
});

test('pixels land in HWC order: record bytes spot-checked against the raw files', () => {
  const t0 = rawRecord('test_batch.bin', 0);
  assert.equal(data.test.labels[0], t0[0]);
  // First test image's first R, G, B bytes are HWC positions 0, 1, 2.
  assert.deepEqual([...data.test.images.subarray(0, 3)], [t0[1], t0[1 + 1024], t0[1 + 2048]]);
  // Pixel (row 5, col 7) of the last training image (last record of data_batch_5).
  const last = rawRecord('data_batch_5.bin', 99);
  const p = 5 * 32 + 7;
  const o = 499 * 3072 + p * 3;
  assert.deepEqual([...data.train.images.subarray(o, o + 3)], [last[1 + p], last[1 + 1024 + p], last[1 + 2048 + p]]);
  assert.equal(data.train.labels[499], last[0]);
});

test('limits read only the first images, across file boundaries', async () => {
  const part = await loadCifar10Split(DATA, 'train', 150);
  assert.equal(part.n, 150);
  assert.deepEqual(part.images.subarray(0, 150 * 3072), data.train.images.subarray(0, 150 * 3072));
  const r = rawRecord('data_batch_2.bin', 0);
  assert.equal(part.labels[100], r[0]);
  assert.equal(part.images[100 * 3072 + 2], r[1 + 2048]);
  const small = await loadCifar10(DATA, { limitTrain: 10, limitTest: 7 });
  assert.equal(small.train.n, 10);
  assert.equal(small.test.n, 7);
  const more = await loadCifar10Split(DATA, 'test', 100000);
  assert.equal(more.n, 200);
  await refuses(loadCifar10Split(DATA, 'test', 0), /positive whole number/);
  await refuses(loadCifar10Split(DATA, 'valid'), /'train' or 'test'/);
});

test('accepts any whole number of records per file', async () => {
  const dir = fixtureDir(2, 3);
  try {
    const d = await loadCifar10(dir);
    assert.equal(d.train.n, 10);
    assert.equal(d.test.n, 3);
    assert.equal(d.train.labels[2], 2); // record 0 of data_batch_2: label (0 + 2) % 10
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad files are refused with the file and the fault named', async () => {
  const dir = fixtureDir();
  try {
    // Size not a multiple of 3073.
    writeFileSync(join(dir, 'data_batch_3.bin'), Buffer.alloc(3073 * 2 - 1));
    await refuses(loadCifar10(dir), /data_batch_3\.bin/, /6145 bytes/, /3073-byte records/);
    // A label above 9 (third record of test_batch.bin).
    writeFileSync(join(dir, 'data_batch_3.bin'), Buffer.alloc(3073 * 2));
    const bad = Buffer.alloc(3073 * 3);
    bad[2 * 3073] = 12;
    writeFileSync(join(dir, 'test_batch.bin'), bad);
    await refuses(loadCifar10(dir), /test_batch\.bin/, /record 2/, /label 12/, /0–9/);
    // Empty file.
    writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(0));
    await refuses(loadCifar10Split(dir, 'test'), /test_batch\.bin/, /empty/);
    // A missing file: says how to get the data.
    rmSync(join(dir, 'data_batch_4.bin'));
    await refuses(loadCifar10Split(dir, 'train'), /data_batch_4\.bin is missing/, /residual data download --dir/, /--data/);
    // Too few class names.
    copyFileSync(join(dir, 'data_batch_1.bin'), join(dir, 'data_batch_4.bin'));
    writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(3073));
    writeFileSync(join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    await refuses(loadCifar10(dir), /batches\.meta\.txt/, /2 class names/);
    // A folder that does not exist.
    await refuses(loadCifar10(join(dir, 'nope')), /does not exist/, /residual data download/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('channel stats: the numpy values on the sample, near the known CIFAR-10 ones', () => {
  const s = channelStats(data.train);
  // numpy: x.mean(axis=(0,2,3)), x.std(axis=(0,2,3)) on the same 500 images.
  const npMean = [0.49201692, 0.47818121, 0.43727351];
  const npStd = [0.24737747, 0.24135295, 0.25622442];
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(s.mean[c] - npMean[c]) < 1e-6, `mean[${c}] ${s.mean[c]}`);
    assert.ok(Math.abs(s.std[c] - npStd[c]) < 1e-6, `std[${c}] ${s.std[c]}`);
  }
  const known = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(s.mean[c] - known.mean[c]) < 0.01);
    assert.ok(Math.abs(s.std[c] - known.std[c]) < 0.01);
  }
  // Exact on a tiny split: R is 255 in one image and 0 in the other → mean 0.5, std 0.5 (population).
  const images = new Uint8Array(2 * 3072);
  for (let i = 0; i < 3072; i += 3) images[i] = 255;
  const t = channelStats({ images, labels: new Uint8Array(2), n: 2 });
  assert.deepEqual(t.mean, [0.5, 0, 0]);
  assert.deepEqual(t.std, [0.5, 0, 0]);
});

const stats = channelStats(data.train);
const norm = (v, c) => (v / 255 - stats.mean[c]) / stats.std[c];

test('batches: sizes, last partial batch, dropLast, labels and pixels follow the indices', () => {
  const sizes = [...batches(data.test, { batchSize: 64, stats })].map((b) => b.size);
  assert.deepEqual(sizes, [64, 64, 64, 8]);
  assert.equal(batchCount(200, 64), 4);
  const dropped = [...batches(data.test, { batchSize: 64, stats, dropLast: true })];
  assert.deepEqual(
    dropped.map((b) => b.size),
    [64, 64, 64],
  );
  assert.equal(batchCount(200, 64, true), 3);
  const all = [...batches(data.test, { batchSize: 64, stats })];
  const last = all[3];
  assert.equal(last.x.length, 8 * 3072);
  assert.equal(last.y.length, 8);
  assert.deepEqual(
    [...all.flatMap((b) => [...b.indices])],
    Array.from({ length: 200 }, (_, i) => i),
  );
  // Unaugmented: x is exactly the normalised image (float32).
  const k = last.indices[5];
  assert.equal(last.y[5], data.test.labels[k]);
  for (const i of [0, 1, 2, 1000, 3071]) {
    assert.equal(last.x[5 * 3072 + i], Math.fround(norm(data.test.images[k * 3072 + i], i % 3)));
  }
  assert.throws(() => [...batches(data.test, { batchSize: 0, stats })], UsageError);
});

test('shuffling: repeatable by (seed, epoch), different across epochs and seeds, a permutation', () => {
  const order = (seed, epoch) =>
    [...batches(data.train, { batchSize: 100, stats, shuffle: true, seed, epoch })].flatMap((b) => [...b.indices]);
  const a = order(7, 0);
  assert.deepEqual(order(7, 0), a);
  assert.notDeepEqual(order(7, 1), a);
  assert.notDeepEqual(order(8, 0), a);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 500 }, (_, i) => i),
  );
  assert.notDeepEqual(
    a.slice(0, 20),
    Array.from({ length: 20 }, (_, i) => i),
  );
  // The raw generator: same seed, same stream.
  assert.deepEqual([...permutation(50, new Rng(3))], [...permutation(50, new Rng(3))]);
  const r = new Rng(1);
  const xs = Array.from({ length: 1000 }, () => r.next());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(xs.reduce((s, x) => s + x, 0) / 1000 - 0.5) < 0.05);
});

/** Image k of `split` normalised, crop at (dy, dx) of the 40×40 zero-padded image, optional flip (the reference's order). */
function reference(split, k, dy, dx, flip) {
  const out = new Float32Array(3072);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const cx = flip ? 31 - x : x;
      const sy = y + dy - 4;
      const sx = cx + dx - 4;
      for (let c = 0; c < 3; c++) {
        const inside = sy >= 0 && sy < 32 && sx >= 0 && sx < 32;
        const v = inside ? split.images[k * 3072 + (sy * 32 + sx) * 3 + c] : 0;
        out[(y * 32 + x) * 3 + c] = norm(v, c);
      }
    }
  }
  return out;
}

test('augmentation: flip is exact, crops bring in zero padding normalised as (0 − mean) / std', () => {
  const table = normalisationTable(stats.mean, stats.std);
  const out = new Float32Array(3072);
  const k = 17;
  // Flip only.
  fillImage(data.test.images, k, out, 0, table, { dy: 4, dx: 4, flip: true });
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++)
      for (let c = 0; c < 3; c++)
        assert.equal(out[(y * 32 + x) * 3 + c], Math.fround(norm(data.test.images[k * 3072 + (y * 32 + 31 - x) * 3 + c], c)));
  // Top-left crop: rows 0–3 and columns 0–3 are padding; pixel (4, 4) is source (0, 0).
  fillImage(data.test.images, k, out, 0, table, { dy: 0, dx: 0, flip: false });
  const pad = [0, 1, 2].map((c) => Math.fround((0 - stats.mean[c]) / stats.std[c]));
  assert.ok(
    pad.every((p) => p < -1.5 && p > -2.1),
    `pad values ${pad}`,
  );
  for (let c = 0; c < 3; c++) {
    assert.equal(out[(3 * 32 + 10) * 3 + c], pad[c]);
    assert.equal(out[(10 * 32 + 3) * 3 + c], pad[c]);
    assert.equal(out[(4 * 32 + 4) * 3 + c], Math.fround(norm(data.test.images[k * 3072 + c], c)));
  }
  // Bottom-right crop with flip, and the identity, against the reference construction.
  for (const [dy, dx, flip] of [
    [8, 8, true],
    [4, 4, false],
    [2, 7, true],
    [8, 0, false],
  ]) {
    fillImage(data.test.images, k, out, 0, table, { dy, dx, flip });
    assert.deepEqual(out, reference(data.test, k, dy, dx, flip), `crop ${dy},${dx} flip ${flip}`);
  }
  fillImage(data.test.images, k, out, 0, table, NO_AUGMENT);
  assert.deepEqual(out, reference(data.test, k, 4, 4, false));
});

test('augmented batches: each image is one of the 9×9×2 crops/flips, repeatable by (seed, epoch)', () => {
  const opts = { batchSize: 64, stats, shuffle: true, augment: true, seed: 5, epoch: 2 };
  const [b] = batches(data.test, opts);
  const [again] = batches(data.test, opts);
  assert.deepEqual(again.x, b.x);
  assert.deepEqual(again.indices, b.indices);
  const [other] = batches(data.test, { ...opts, epoch: 3 });
  assert.notDeepEqual(other.x, b.x);
  let flips = 0;
  let shifted = 0;
  for (let i = 0; i < 24; i++) {
    const got = b.x.subarray(i * 3072, (i + 1) * 3072);
    let match;
    for (let dy = 0; dy <= 8 && !match; dy++)
      for (let dx = 0; dx <= 8 && !match; dx++)
        for (const flip of [false, true]) {
          const ref = reference(data.test, b.indices[i], dy, dx, flip);
          if (ref.every((v, j) => v === got[j])) {
            match = { dy, dx, flip };
            break;
          }
        }
    assert.ok(match, `image ${i} of the batch is not a crop/flip of image ${b.indices[i]}`);
    if (match.flip) flips++;
    if (match.dy !== 4 || match.dx !== 4) shifted++;
  }
  assert.ok(flips > 2 && flips < 22, `flips ${flips}/24`);
  assert.ok(shifted > 12, `shifted ${shifted}/24`);
});
