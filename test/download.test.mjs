// The CIFAR-10 downloader against a real HTTP server on 127.0.0.1 serving small archives
// in the official layout: good, damaged, truncated, 404, dropped, hostile entries.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { downloadCifar10, loadCifar10, UsageError, CIFAR10_CLASSES } from '../dist/index.js';
import { syntheticRecords } from './helpers.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---- fixture archives -------------------------------------------------------------------

/** One 512-byte ustar header. */
function header(name, size, type = '0', linkname = '') {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('14000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** A tar of entries { name, data?, type?, linkname? }, with the end-of-archive marker. */
function tar(entries) {
  const parts = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(header(e.name, data.length, e.type ?? '0', e.linkname ?? ''), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Entries of the official layout (2 records per file), plus extra entries. */
function official(extra = []) {
  const top = 'cifar-10-batches-bin/';
  return [
    { name: top, type: '5' },
    ...[1, 2, 3, 4, 5].map((k) => ({ name: `${top}data_batch_${k}.bin`, data: syntheticRecords(2, k) })),
    { name: `${top}test_batch.bin`, data: syntheticRecords(3, 0) },
    { name: `${top}batches.meta.txt`, data: Buffer.from(CIFAR10_CLASSES.join('\n') + '\n\n') },
    ...extra,
    { name: `${top}readme.html`, data: Buffer.from('<html>CIFAR-10</html>') },
  ];
}

const md5 = (b) => createHash('md5').update(b).digest('hex');
const good = gzipSync(tar(official()));
const corrupt = Buffer.from(good);
corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
const truncated = good.subarray(0, Math.floor(good.length * 0.6));
const evil = gzipSync(tar(official([{ name: '../evil', data: Buffer.from('pwned') }])));
const absolute = gzipSync(tar(official([{ name: join(tmpdir(), 'residual-abs-evil'), data: Buffer.from('pwned') }])));
const symlink = gzipSync(tar(official([{ name: 'cifar-10-batches-bin/link', type: '2', linkname: '/etc/passwd' }])));
const hardlink = gzipSync(tar(official([{ name: 'cifar-10-batches-bin/hard', type: '1', linkname: '/etc/passwd' }])));
const flat = gzipSync(
  tar(
    official()
      .filter((e) => e.type !== '5')
      .map((e) => ({ ...e, name: e.name.replace('cifar-10-batches-bin/', '') })),
  ),
);
const notCifar = gzipSync(tar([{ name: 'something/else.txt', data: Buffer.from('hi') }]));

// ---- the server ------------------------------------------------------------------------

const routes = {
  '/good.tar.gz': good,
  '/corrupt.tar.gz': corrupt,
  '/truncated.tar.gz': truncated,
  '/evil.tar.gz': evil,
  '/absolute.tar.gz': absolute,
  '/symlink.tar.gz': symlink,
  '/hardlink.tar.gz': hardlink,
  '/flat.tar.gz': flat,
  '/other.tar.gz': notCifar,
};
const server = createServer((req, res) => {
  if (req.url === '/redirect') {
    res.writeHead(302, { location: '/good.tar.gz' });
    res.end();
    return;
  }
  if (req.url === '/stall.tar.gz') {
    // Promise the whole archive, send 40% of it, then wait (until the client goes away).
    res.writeHead(200, { 'content-length': String(good.length), 'content-type': 'application/gzip' });
    res.write(good.subarray(0, Math.floor(good.length * 0.4)));
    return;
  }
  if (req.url === '/drop.tar.gz') {
    // Promise the whole archive, send 40% of it, then drop the connection.
    res.writeHead(200, { 'content-length': String(good.length), 'content-type': 'application/gzip' });
    res.write(good.subarray(0, Math.floor(good.length * 0.4)), () => setTimeout(() => res.socket.destroy(), 20));
    return;
  }
  const body = routes[req.url];
  if (body === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/gzip' });
  res.end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
after(() => server.close());

// ---- helpers ---------------------------------------------------------------------------

/** A fresh folder; the data set goes to <it>/data/cifar10 (so the downloader creates data/ itself). */
function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'residual-dl-'));
  return { root, dir: join(root, 'data', 'cifar10') };
}

const EXPECTED_FILES = [
  'batches.meta.txt',
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'readme.html',
  'test_batch.bin',
];

/** Download must fail with a UsageError matching `patterns` and leave `root` exactly empty. */
async function failsCleanly(opts, ...patterns) {
  const ws = workspace();
  try {
    await assert.rejects(downloadCifar10({ dir: ws.dir, ...opts }), (err) => {
      assert.ok(err instanceof UsageError, `expected a UsageError, got ${err?.stack ?? err}`);
      for (const p of patterns) assert.match(err.message, p);
      return true;
    });
    assert.deepEqual(readdirSync(ws.root), [], 'no partial data set or temp files left behind');
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
}

// ---- tests -----------------------------------------------------------------------------

test('a good archive lands the files directly in --dir, and they load', async () => {
  const ws = workspace();
  try {
    const seen = [];
    const r = await downloadCifar10({
      dir: ws.dir,
      from: `${base}/good.tar.gz`,
      md5: md5(good),
      progress: (received, total) => seen.push([received, total]),
    });
    assert.equal(r.alreadyPresent, false);
    assert.equal(r.md5, md5(good));
    assert.equal(r.bytes, good.length);
    assert.deepEqual(readdirSync(ws.dir).sort(), EXPECTED_FILES);
    assert.deepEqual(readdirSync(dirname(ws.dir)), ['cifar10'], 'no temp folder left beside the target');
    assert.deepEqual(readFileSync(join(ws.dir, 'data_batch_3.bin')), syntheticRecords(2, 3));
    assert.ok(seen.length > 0 && seen.at(-1)[0] === good.length && seen.at(-1)[1] === good.length);
    const d = await loadCifar10(ws.dir);
    assert.equal(d.train.n, 10);
    assert.equal(d.test.n, 3);
    // Already there: nothing is done; --force downloads again.
    const again = await downloadCifar10({ dir: ws.dir, from: `${base}/missing`, md5: md5(good) });
    assert.equal(again.alreadyPresent, true);
    const forced = await downloadCifar10({ dir: ws.dir, from: `${base}/redirect`, md5: md5(good), force: true });
    assert.equal(forced.alreadyPresent, false);
    assert.deepEqual(readdirSync(ws.dir).sort(), EXPECTED_FILES);
    assert.deepEqual(readdirSync(dirname(ws.dir)), ['cifar10']);
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
});

test('--from a local file (path or file:// URL), and a flat archive without the top folder', async () => {
  const ws = workspace();
  const archive = join(ws.root, 'cifar-10-binary.tar.gz');
  writeFileSync(archive, good);
  try {
    const r = await downloadCifar10({ dir: ws.dir, from: archive, md5: md5(good), size: good.length });
    assert.equal(r.source, archive);
    assert.deepEqual(readdirSync(ws.dir).sort(), EXPECTED_FILES);
    assert.ok(existsSync(archive), 'the local archive is left where it was');
    rmSync(ws.dir, { recursive: true });
    await downloadCifar10({ dir: ws.dir, from: pathToFileURL(archive).href, md5: md5(good) });
    assert.deepEqual(readdirSync(ws.dir).sort(), EXPECTED_FILES);
    rmSync(ws.dir, { recursive: true });
    writeFileSync(archive, flat);
    await downloadCifar10({ dir: ws.dir, from: archive, md5: md5(flat) });
    assert.deepEqual(readdirSync(ws.dir).sort(), EXPECTED_FILES);
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
  await failsCleanly({ from: join(tmpdir(), 'no-such-archive.tar.gz') }, /does not exist/);
});

test('a wrong checksum keeps nothing', async () => {
  await failsCleanly(
    { from: `${base}/corrupt.tar.gz`, md5: md5(good) },
    /md5/,
    new RegExp(md5(corrupt)),
    new RegExp(md5(good)),
    /Nothing was kept/,
  );
});

test('a truncated archive keeps nothing (by size, and by the gzip stream itself)', async () => {
  await failsCleanly(
    { from: `${base}/truncated.tar.gz`, md5: md5(good), size: good.length },
    new RegExp(`${truncated.length} bytes, expected ${good.length}`),
    /truncated/,
  );
  await failsCleanly({ from: `${base}/truncated.tar.gz`, md5: md5(truncated) }, /truncated/);
});

test('HTTP 404 keeps nothing', async () => {
  await failsCleanly({ from: `${base}/missing.tar.gz` }, /HTTP 404/, /--from FILE/);
});

test('a connection dropped mid-body keeps nothing', async () => {
  await failsCleanly({ from: `${base}/drop.tar.gz`, md5: md5(good) }, /broke off after \d+ of \d+ bytes/, /Nothing was kept/);
});

test('a refused connection keeps nothing', async () => {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  await failsCleanly({ from: `http://127.0.0.1:${port}/x.tar.gz` }, /ECONNREFUSED/);
});

test('entries that would land outside the folder, and links, are refused', async () => {
  await failsCleanly({ from: `${base}/evil.tar.gz`, md5: md5(evil) }, /'\.\.\/evil'/, /refused/);
  await failsCleanly({ from: `${base}/absolute.tar.gz`, md5: md5(absolute) }, /absolute path/, /refused/);
  assert.equal(existsSync(join(tmpdir(), 'residual-abs-evil')), false);
  await failsCleanly({ from: `${base}/symlink.tar.gz`, md5: md5(symlink) }, /symbolic link/, /\/etc\/passwd/, /refused/);
  await failsCleanly({ from: `${base}/hardlink.tar.gz`, md5: md5(hardlink) }, /hard link/, /refused/);
  await failsCleanly({ from: `${base}/other.tar.gz`, md5: md5(notCifar) }, /does not hold the CIFAR-10 binary files/);
});

test('a folder in the way is not overwritten without --force', async () => {
  const ws = workspace();
  try {
    mkdirSync(ws.dir, { recursive: true });
    writeFileSync(join(ws.dir, 'notes.txt'), 'mine');
    await assert.rejects(downloadCifar10({ dir: ws.dir, from: `${base}/good.tar.gz`, md5: md5(good) }), /already exists/);
    assert.deepEqual(readdirSync(ws.dir), ['notes.txt']);
    // An empty folder is simply filled.
    rmSync(join(ws.dir, 'notes.txt'));
    await downloadCifar10({ dir: ws.dir, from: `${base}/good.tar.gz`, md5: md5(good) });
    assert.deepEqual(readdirSync(ws.dir).sort(), EXPECTED_FILES);
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
});

/** Run the built CLI (asynchronously: the server lives in this process). */
function cli(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('CLI: residual data download — 404 gives exit 2 and one clean message; --md5 and a good URL land the files', async () => {
  const ws = workspace();
  try {
    const bad = await cli(['data', 'download', '--from', `${base}/missing.tar.gz`, '--dir', ws.dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^residual data: download of .*missing\.tar\.gz failed: HTTP 404/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(readdirSync(ws.root), []);
    const ok = await cli(['data', 'download', '--from', `${base}/good.tar.gz`, '--dir', ws.dir, '--md5', md5(good)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /CIFAR-10 is in/);
    assert.match(ok.stderr, /downloading good\.tar\.gz .*100%/, 'progress lines on stderr');
    assert.deepEqual(readdirSync(ws.dir).sort(), EXPECTED_FILES);
    const usage = await cli(['data', 'download', '--md5', 'xyz']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--md5 must be 32 hexadecimal digits/);
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
});

test('CLI: a download stopped by SIGTERM leaves no temporary file behind', async () => {
  const ws = workspace();
  try {
    mkdirSync(ws.root, { recursive: true });
    const child = spawn(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'data', 'download', '--from', `${base}/stall.tar.gz`, '--dir', ws.dir],
      { cwd: ROOT },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Wait until the download is under way (its temporary folder exists beside the target).
    for (let i = 0; i < 200 && readdirSync(ws.root).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.notDeepEqual(readdirSync(ws.root), [], 'the download started');
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 2, stderr);
    assert.doesNotMatch(stderr, /\n\s+at /);
    assert.deepEqual(readdirSync(ws.root), [], 'nothing left beside the target');
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
});

test('an unsupported URL scheme is named, not taken for a file', async () => {
  const ws = workspace();
  await assert.rejects(
    downloadCifar10({ dir: ws.dir, from: 'ftp://example.org/cifar.tar.gz' }),
    (e) => e instanceof UsageError && /ftp:\/\/ is not supported/.test(e.message),
  );
  rmSync(ws.root, { recursive: true, force: true });
});
