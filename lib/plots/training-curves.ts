// Training curves as the paper draws them (§4.2, Fig. 1 and 6): error (%) against iterations or
// epochs, thin dashed lines for training error, bold lines for test error, one colour per model.
import { UsageError } from '../errors';
import type { Figure, Trace } from './figure';
import type { TableRecords } from './table';
import { colorAt } from './palette';

/** One long-format row of a training log: a model's errors at one epoch or iteration. */
export interface TrainingRow {
  model: string;
  epoch?: number;
  iteration?: number;
  /** Training error, a fraction (0.08) or a percentage (8), see {@link TrainingCurvesOptions.errors}. */
  train_err?: number | null;
  /** Test error, a fraction or a percentage. */
  test_err?: number | null;
}

/** Options of {@link trainingCurves}. */
export interface TrainingCurvesOptions {
  /** The x axis: `'iteration'` or `'epoch'`; default: iterations when every row has one, else epochs. */
  x?: 'iteration' | 'epoch';
  /**
   * How the errors are given: `'fraction'` (0..1, drawn ×100), `'percent'`, or `'auto'` (the
   * default: fractions when no error exceeds 1).
   */
  errors?: 'fraction' | 'percent' | 'auto';
  /** Figure title. */
  title?: string;
  /** The y range in percent, e.g. `[0, 20]` as in Fig. 6. */
  yRange?: [number, number];
  /** Width and height in pixels (defaults 640 × 400). */
  width?: number;
  height?: number;
}

/**
 * Training (thin dashed) and test (bold) error curves per model, in the style of the paper's
 * Fig. 1 and 6 (§4.2). `log` is long format: rows ({@link TrainingRow}, or `df.toRecords()`),
 * or a nodejs-polars DataFrame, with `model`, `epoch` or `iteration`, `train_err`, `test_err`
 * (checked when drawn: a {@link UsageError} names the first bad row).
 */
export function trainingCurves(log: readonly TrainingRow[] | readonly Record<string, unknown>[] | TableRecords, options: TrainingCurvesOptions = {}): Figure {
  const rows = (isTable(log) ? log.toRecords() : log) as readonly TrainingRow[];
  if (!Array.isArray(rows) || rows.length === 0) throw new UsageError('trainingCurves: the log must be non-empty rows of {model, epoch|iteration, train_err, test_err}');
  const axis = options.x ?? (rows.every((r) => typeof r.iteration === 'number') ? 'iteration' : 'epoch');
  for (const [i, r] of rows.entries()) {
    if (typeof r.model !== 'string') throw new UsageError(`trainingCurves: rows[${i}].model must be a string`);
    if (typeof r[axis] !== 'number') throw new UsageError(`trainingCurves: rows[${i}].${axis} must be a number (x axis "${axis}")`);
  }
  const values = rows.flatMap((r) => [r.train_err, r.test_err]).filter((v): v is number => typeof v === 'number');
  const mode = options.errors ?? 'auto';
  const scale = mode === 'fraction' || (mode === 'auto' && values.every((v) => v <= 1)) ? 100 : 1;

  const models = [...new Set(rows.map((r) => r.model))];
  const data: Trace[] = [];
  models.forEach((model, index) => {
    const color = colorAt(index);
    const mine = rows.filter((r) => r.model === model).sort((a, b) => (a[axis] as number) - (b[axis] as number));
    for (const kind of ['train_err', 'test_err'] as const) {
      const points = mine.filter((r) => typeof r[kind] === 'number');
      if (points.length === 0) continue;
      const test = kind === 'test_err';
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: `${model} ${test ? 'test' : 'train'}`,
        legendgroup: model,
        x: points.map((r) => r[axis] as number),
        y: points.map((r) => (r[kind] as number) * scale),
        line: test ? { color, width: 3, dash: 'solid' } : { color, width: 1, dash: 'dash' },
        hovertemplate: `${model} ${test ? 'test' : 'train'}: %{y:.2f}%<extra>${axis} %{x}</extra>`,
      });
    }
  });
  return {
    data,
    layout: {
      title: { text: options.title ?? 'Training (dashed) and test (bold) error' },
      xaxis: { title: { text: axis === 'iteration' ? 'iterations' : 'epochs' }, zeroline: false },
      yaxis: { title: { text: 'error (%)' }, zeroline: false, ...(options.yRange ? { range: options.yRange } : {}) },
      width: options.width ?? 640,
      height: options.height ?? 400,
      plot_bgcolor: 'white',
      legend: { orientation: 'v' },
    },
  };
}

function isTable(log: readonly TrainingRow[] | readonly Record<string, unknown>[] | TableRecords): log is TableRecords {
  return !Array.isArray(log) && typeof (log as TableRecords).toRecords === 'function';
}
