/**
 * The training history: one row per epoch, as a nodejs-polars DataFrame (the course plots it) and
 * as a CSV file in the run folder (written atomically).
 */
import pl from 'nodejs-polars';
import { writeFileAtomic } from '../util/atomic';

/** One epoch of training. Errors are fractions in [0, 1] (the paper's plots show them in %). */
export interface HistoryRow {
  /** Epochs completed (1-based). */
  epoch: number;
  /** Optimisation steps completed since the start of the run. */
  step: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Mean softmax cross-entropy over the epoch's training batches (training mode). */
  train_loss: number;
  /** Fraction of training images misclassified during the epoch (training mode, augmented). */
  train_err: number;
  /** Mean cross-entropy on the test split (inference mode); NaN when not evaluated. */
  test_loss: number;
  /** Test error (inference mode); NaN when not evaluated. */
  test_err: number;
  /** Training throughput of the epoch, images per second. */
  img_per_s: number;
  /** Seconds since the run started (training and evaluation, summed over resumed sessions). */
  seconds: number;
}

/** The columns of the history, in order. */
export const HISTORY_COLUMNS = ['epoch', 'step', 'lr', 'train_loss', 'train_err', 'test_loss', 'test_err', 'img_per_s', 'seconds'] as const;

/** The history rows as a DataFrame with the columns {@link HISTORY_COLUMNS} (Float64, epoch/step Int64). */
export function historyFrame(rows: readonly HistoryRow[]): pl.DataFrame {
  const cols: Record<string, pl.Series> = {};
  for (const c of HISTORY_COLUMNS) {
    const values = rows.map((r) => r[c]);
    cols[c] = c === 'epoch' || c === 'step' ? pl.Series(c, values, pl.Int64) : pl.Series(c, values, pl.Float64);
  }
  return pl.DataFrame(cols);
}

/** The history as CSV text (header row, then one row per epoch; NaN written as empty). */
export function historyCsv(rows: readonly HistoryRow[]): string {
  const lines = [HISTORY_COLUMNS.join(',')];
  for (const r of rows) lines.push(HISTORY_COLUMNS.map((c) => (Number.isFinite(r[c]) ? String(r[c]) : '')).join(','));
  return `${lines.join('\n')}\n`;
}

/** Write the history to `file` as CSV, atomically (temp file + rename). */
export async function writeHistoryCsv(file: string, rows: readonly HistoryRow[]): Promise<void> {
  await writeFileAtomic(file, historyCsv(rows));
}

/** Read a history CSV written by {@link writeHistoryCsv} into a DataFrame. */
export function readHistoryCsv(file: string): pl.DataFrame {
  return pl.readCSV(file);
}
