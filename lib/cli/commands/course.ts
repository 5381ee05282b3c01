/**
 * `residual course [DIR] [--no-start]`: copy the course's notebooks into a folder of the reader's
 * (default `./residual-course`), never overwriting a file there, then open Jupyter on it. The
 * notebooks import this package by name, so they run wherever it is installed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../util/errors';
import { makeDirs } from '../../util/atomic';
import { PACKAGE_ROOT } from '../../util/package-root';

const USAGE = `usage: residual course [DIR] [--no-start]

  Copies the course's notebooks into DIR (default ./residual-course; a file already there is kept,
  never overwritten) and opens Jupyter on it. --no-start only copies.`;

/** Copies the notebooks into `dir`; returns the files copied and those kept because they exist. */
export function copyCourse(dir: string): { copied: string[]; kept: string[] } {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file, not a folder`);
  const source = path.join(PACKAGE_ROOT, 'notebooks');
  const files = readdirSync(source).filter((f) => f.endsWith('.ipynb') || f === 'README.md');
  makeDirs(dir);
  const copied: string[] = [];
  const kept: string[] = [];
  for (const f of files) {
    const target = path.join(dir, f);
    if (existsSync(target)) kept.push(f);
    else {
      copyFileSync(path.join(source, f), target);
      copied.push(f);
    }
  }
  return { copied, kept };
}

/** Entry point of `residual course`. */
export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const noStart = argv.includes('--no-start');
  const rest = argv.filter((a) => a !== '--no-start');
  const unknown = rest.find((a) => a.startsWith('-'));
  if (unknown !== undefined || rest.length > 1) throw new UsageError(`unknown arguments '${unknown ?? rest.join(' ')}'\n\n${USAGE}`);
  const dir = path.resolve(rest[0] ?? 'residual-course');
  const { copied, kept } = copyCourse(dir);
  console.log(
    `the course is in ${dir}: ${copied.length} notebook file(s) copied${kept.length > 0 ? `, ${kept.length} already there kept (${kept.join(', ')})` : ''}`,
  );
  if (noStart) return;
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'start.mjs')], {
    stdio: 'inherit',
    env: { ...process.env, RESIDUAL_COURSE_DIR: dir },
  });
  if (r.status !== 0) throw new UsageError('Jupyter did not start (see the message above)');
}
