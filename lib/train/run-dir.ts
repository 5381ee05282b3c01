/**
 * What a run folder may hold, and the checks before training writes into one: a run folder is the
 * run's. Training writes `LATEST`, `LOCK`, `history.csv` and `checkpoints/epoch-NNNN/` (and the
 * temporary files of its atomic writes); a folder holding anything else is not a run of ours and is
 * refused, so that nothing of the user's is ever touched. A damaged run (a `LATEST` naming a
 * checkpoint that is not there, or checkpoints without a `LATEST`) is refused too, rather than
 * silently started afresh over the old checkpoints.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/errors';

/** The entries a run folder of ours holds at its top. */
const RUN_ENTRIES = new Set(['LATEST', 'LOCK', 'history.csv', 'checkpoints']);
/** A temporary file of an atomic write in progress (`.<name>.tmp-<pid>`), or of a killed one. */
const TEMPORARY = /^\.(LATEST|history\.csv|LOCK)\.tmp-\d+$/;
/** A checkpoint folder this library writes, and its temporary name while being written. */
export const CHECKPOINT_NAME = /^epoch-\d{4,}$/;
export const CHECKPOINT_TEMPORARY = /^\.epoch-\d{4,}\.tmp-\d+$/;

/** What {@link inspectRunDir} finds. */
export interface RunDirState {
  /** No such path yet (a new run creates it). */
  absent: boolean;
  /** The checkpoint `LATEST` names (relative to the folder), when there is one. */
  latest?: string;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    throw new UsageError(`${dir}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * Look at a run folder before training writes into it: refused (a `UsageError` naming the folder
 * and what is wrong) when it is a file, holds anything that is not a run of ours, or holds a
 * damaged run. Nothing is written or removed.
 */
export function inspectRunDir(dir: string): RunDirState {
  if (!existsSync(dir)) {
    // The nearest part of the path that exists must be a folder the run can be made in.
    let parent = path.dirname(path.resolve(dir));
    while (!existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
    if (!statSync(parent).isDirectory()) throw new UsageError(`${dir} cannot be made: ${parent} is a file, not a folder`);
    try {
      accessSync(parent, constants.W_OK);
    } catch {
      throw new UsageError(`${dir} cannot be made: ${parent} is not writable`);
    }
    return { absent: true };
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file, not a folder: choose a folder for the run`);
  const top = list(dir);
  const foreign = top.filter((e) => !RUN_ENTRIES.has(e) && !TEMPORARY.test(e));
  const checkpointsDir = path.join(dir, 'checkpoints');
  const checkpoints = top.includes('checkpoints') ? (statSync(checkpointsDir).isDirectory() ? list(checkpointsDir) : ['']) : [];
  foreign.push(...checkpoints.filter((e) => !CHECKPOINT_NAME.test(e) && !CHECKPOINT_TEMPORARY.test(e)).map((e) => `checkpoints/${e}`));
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, … (${foreign.length} in all)` : '');
    throw new UsageError(`${dir} holds files that are not a training run (${shown}): choose an empty or new folder; nothing was changed`);
  }
  const finished = checkpoints.filter((e) => CHECKPOINT_NAME.test(e));
  if (!top.includes('LATEST')) {
    if (finished.length > 0) {
      throw new UsageError(
        `${path.join(dir, 'LATEST')} is missing, though checkpoints/ holds ${finished.join(', ')}: the run is damaged; nothing was changed`,
      );
    }
    return { absent: false };
  }
  const latest = readFileSync(path.join(dir, 'LATEST'), 'utf8').trim();
  if (!/^checkpoints\/epoch-\d{4,}$/.test(latest) || !existsSync(path.join(dir, latest, 'state.json'))) {
    throw new UsageError(
      `${path.join(dir, 'LATEST')} names '${latest.slice(0, 80)}', which is not a checkpoint there: the run is damaged; nothing was changed`,
    );
  }
  return { absent: false, latest };
}

/**
 * Remove a run folder that holds nothing but leftovers of failed writes (temporary files, an empty
 * `checkpoints/` or one with temporary checkpoints only): what a run that failed before its first
 * checkpoint leaves in a folder it made. Best effort: the failure being reported matters more.
 */
export function removeUnusedRunDir(dir: string): void {
  try {
    const top = readdirSync(dir);
    if (!top.every((e) => TEMPORARY.test(e) || e === 'checkpoints')) return;
    if (top.includes('checkpoints') && !readdirSync(path.join(dir, 'checkpoints')).every((e) => CHECKPOINT_TEMPORARY.test(e))) return;
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Nothing to add to the error the run stopped with.
  }
}
