/**
 * One training process per run folder: `train` holds `<outDir>/LOCK` (the process id) while it
 * runs, so that a second process (a rerun notebook, `npm run experiments`, the CLI) cannot write
 * the same checkpoints at the same time. A lock left by a process that no longer runs is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/errors';
import { makeDirs } from '../util/atomic';

/** The lock file's name inside a run folder. */
export const LOCK_FILE = 'LOCK';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Refuse (a `UsageError`) when another live process holds the lock of `runDir`; takes nothing. */
export function checkRunDirFree(runDir: string): void {
  const file = path.join(runDir, LOCK_FILE);
  let holder: number;
  try {
    holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return; // no lock
  }
  if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
    throw new UsageError(`${runDir} is being trained by process ${holder} (${file}): wait for it, or stop it first`);
  }
}

/**
 * Take the lock of `runDir` (creating the folder), refusing with a clear message when another live
 * process holds it. Returns the function that releases it.
 */
export function lockRunDir(runDir: string): () => void {
  makeDirs(runDir);
  const file = path.join(runDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      checkRunDirFree(runDir);
      rmSync(file, { force: true }); // left by a process that has stopped (or by this one)
    }
  }
  throw new UsageError(`${runDir}: could not take ${LOCK_FILE}`);
}
