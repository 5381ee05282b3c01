/**
 * The experiments' numbers, kept as CSV in `results/` (long format: one row per model and epoch),
 * so that a reader who does not train reads the committed results and a rerun regenerates them.
 * Quick runs (`RESIDUAL_QUICK=1`) write to `results/quick/` instead, never over the real results.
 */
import pl from 'nodejs-polars';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { quickMode } from './course-data';
import { UsageError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic';
import { PACKAGE_ROOT } from '../util/package-root';

/** The CSV file of the experiment `name` (e.g. `'degradation'`). */
export function resultsFile(name: string, root: string = PACKAGE_ROOT): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new UsageError(`results name '${name}' must be lower-case letters, digits, '-' or '_'`);
  return join(root, 'results', ...(quickMode() ? ['quick'] : []), `${name}.csv`);
}

/** Columns of whole numbers (epochs, counts) as integers, so that the CSV says `4`, not `4.0`. */
function integerColumns(table: pl.DataFrame): pl.DataFrame {
  let out = table;
  for (const name of table.columns) {
    const col = table.getColumn(name);
    if (!col.dtype.equals(pl.Float64) || col.nullCount() === col.len()) continue;
    const values = col.toArray() as (number | null)[];
    if (values.every((v) => v === null || Number.isInteger(v))) out = out.withColumn(col.cast(pl.Int64));
  }
  return out;
}

/** Write `table` as CSV to `file`, atomically (temporary file, then rename), creating its folder. */
async function writeCsv(file: string, table: pl.DataFrame): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  await writeFileAtomic(file, integerColumns(table).writeCSV().toString());
}

/** Write the results of `name` as CSV, atomically (temporary file, then rename). Returns the path. */
export async function writeResults(name: string, table: pl.DataFrame, root?: string): Promise<string> {
  const file = resultsFile(name, root);
  await writeCsv(file, table);
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
  const committed = join(root ?? PACKAGE_ROOT, 'results', `${name}.csv`);
  return quickMode() && existsSync(committed) ? pl.readCSV(committed) : undefined;
}

/**
 * Write `table` into the results of `name`, keeping the rows already there whose `key` columns hold
 * values `table` does not (e.g. key `['epochs']`: a run with a 12-epoch budget replaces the rows of
 * the last 12-epoch run and keeps those of other budgets). The existing file must have `table`'s
 * columns (in quick mode one that has not is replaced); written atomically. Returns the path.
 *
 * @example `await mergeResults('constructed', pl.DataFrame(rows), ['model', 'seed'])`
 */
export async function mergeResults(name: string, table: pl.DataFrame, key: string[], root?: string): Promise<string> {
  const file = resultsFile(name, root);
  // Quick results are scratch: one of another layout (an older version) is simply replaced.
  await mergeCsv(file, table, key, { replaceOtherLayout: quickMode() });
  return file;
}

/**
 * {@link mergeResults} for any CSV file (e.g. `npm run parity --results FILE`): rows of `file` whose
 * `key` values `table` does not hold are kept, the others replaced; written atomically. A file with
 * other columns is refused, or replaced with `replaceOtherLayout`.
 */
export async function mergeCsv(
  file: string,
  table: pl.DataFrame,
  key: string[],
  options: { replaceOtherLayout?: boolean } = {},
): Promise<void> {
  for (const k of key)
    if (!table.columns.includes(k))
      throw new UsageError(`merging into ${file}: key column '${k}' is not in the table (${table.columns.join(', ')})`);
  if (!existsSync(file)) return writeCsv(file, table);
  const old = pl.readCSV(file);
  if (old.columns.join(',') !== table.columns.join(',')) {
    if (options.replaceOtherLayout === true) return writeCsv(file, table);
    throw new UsageError(
      `${file} has the columns ${old.columns.join(',')}, not ${table.columns.join(',')}: move it aside or write it anew with writeResults`,
    );
  }
  const id = (r: Record<string, unknown>) => JSON.stringify(key.map((k) => String(r[k])));
  const replaced = new Set(table.toRecords().map(id));
  const kept = old.toRecords().filter((r) => !replaced.has(id(r)));
  return writeCsv(file, pl.DataFrame([...kept, ...table.toRecords()]).select(...table.columns));
}
