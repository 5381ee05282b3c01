/**
 * The experiments' numbers, kept as CSV in `results/` (long format: one row per model and epoch),
 * so that a reader who does not train reads the committed results and a rerun regenerates them.
 * Quick runs (`RESIDUAL_QUICK=1`) write to `results/quick/` instead, never over the real results.
 */
import pl from 'nodejs-polars';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { quickMode } from './course';
import { UsageError } from './errors';
import { writeFileAtomic } from './train/atomic';

/** The CSV file of the experiment `name` (e.g. `'degradation'`). */
export function resultsFile(name: string, root: string = resolve(__dirname, '..')): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new UsageError(`results name '${name}' must be lower-case letters, digits, '-' or '_'`);
  return join(root, 'results', ...(quickMode() ? ['quick'] : []), `${name}.csv`);
}

/** Write the results of `name` as CSV, atomically (temporary file, then rename). Returns the path. */
export async function writeResults(name: string, table: pl.DataFrame, root?: string): Promise<string> {
  const file = resultsFile(name, root);
  mkdirSync(dirname(file), { recursive: true });
  await writeFileAtomic(file, table.writeCSV().toString());
  return file;
}

/**
 * Read the results of `name`, or undefined when none were written yet. In quick mode, the quick
 * results when a quick run wrote them, else the committed ones (a chapter that compares with an
 * earlier chapter's numbers then still has them).
 */
export function readResults(name: string, root?: string): pl.DataFrame | undefined {
  const file = resultsFile(name, root);
  if (existsSync(file)) return pl.readCSV(file);
  const committed = join(root ?? resolve(__dirname, '..'), 'results', `${name}.csv`);
  return quickMode() && existsSync(committed) ? pl.readCSV(committed) : undefined;
}
