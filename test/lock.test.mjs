// One training process per run folder: train() holds <outDir>/LOCK; a second process is refused
// with a clear message, and a lock left by a process that has stopped is taken over.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lib } from './helpers.mjs';

const LOCK = fileURLToPath(new URL('../dist/train/lock.js', import.meta.url));
const { lockRunDir } = await import(LOCK);

test('a live holder refuses a second process; release removes the lock', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'residual-lock-')), 'run');
  // Another process takes the lock and keeps it until stdin closes.
  const holder = spawn(
    process.execPath,
    ['-e', `require(${JSON.stringify(LOCK)}).lockRunDir(${JSON.stringify(dir)}); console.log('held'); process.stdin.resume()`],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise((res) => holder.stdout.once('data', res));
  assert.throws(
    () => lockRunDir(dir),
    (e) => e instanceof lib.UsageError && e.message.includes(`is being trained by process ${holder.pid}`),
  );
  // train() itself refuses before touching the folder.
  const model = lib.plainCifar(8);
  const tiny = { n: 1, images: new Uint8Array(3072), labels: new Uint8Array(1) };
  await assert.rejects(lib.train(model, { train: tiny }, { epochs: 1, outDir: dir, progress: false }), /is being trained by process/);
  model.dispose();
  holder.stdin.end();
  await new Promise((res) => holder.on('close', res));
  // The holder exited without releasing: its lock is stale and is taken over.
  const release = lockRunDir(dir);
  assert.equal(readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
  release();
  assert.ok(!existsSync(path.join(dir, 'LOCK')));
});

test('a lock naming a process that does not exist is taken over', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'residual-lock-'));
  writeFileSync(path.join(dir, 'LOCK'), '2147483646\n');
  const release = lockRunDir(dir);
  assert.equal(readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
  release();
});
