// Training curves as the paper draws them (§4.2, Fig. 1 and 6): error (%) against iterations or
// epochs, thin dashed lines for training error, bold lines for test error, one colour per model.
import { UsageError } from '../../util/errors';
import type { Figure, Trace } from './figure-spec';
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
  /** Which curves: `'both'` (default), or only `'train'` or `'test'` errors. */
  curves?: 'both' | 'train' | 'test';
}

/** A colour `#rrggbb` as `rgba(r, g, b, alpha)`. */
function translucent(color: string, alpha: number): string {
  const n = Number.parseInt(color.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** Mean, least and greatest value at each x of several runs (seeds) of one model. */
function spread(
  points: readonly TrainingRow[],
  axis: 'epoch' | 'iteration',
  kind: 'train_err' | 'test_err',
): { x: number[]; mean: number[]; lo: number[]; hi: number[]; runs: number } {
  const byX = new Map<number, number[]>();
  for (const r of points) {
    const v = r[kind];
    if (typeof v !== 'number') continue;
    const x = r[axis] as number;
    byX.set(x, [...(byX.get(x) ?? []), v]);
  }
  const x = [...byX.keys()].sort((a, b) => a - b);
  const at = (f: (vs: number[]) => number) => x.map((k) => f(byX.get(k)!));
  return {
    x,
    mean: at((vs) => vs.reduce((s, v) => s + v, 0) / vs.length),
    lo: at((vs) => Math.min(...vs)),
    hi: at((vs) => Math.max(...vs)),
    runs: Math.max(0, ...x.map((k) => byX.get(k)!.length)),
  };
}

/**
 * Training (thin dashed) and test (bold) error curves per model, in the style of the paper's
 * Fig. 1 and 6 (§4.2). Where a model has several rows at one x (runs of several seeds), its
 * curve is their mean and a shaded band spans the least to the greatest run. `log` is long format: rows ({@link TrainingRow}, or `df.toRecords()`),
 * or a nodejs-polars DataFrame, with `model`, `epoch` or `iteration`, `train_err`, `test_err`
 * (checked when drawn: a {@link UsageError} names the first bad row).
 */
export function trainingCurves(
  log: readonly TrainingRow[] | readonly Record<string, unknown>[] | TableRecords,
  options: TrainingCurvesOptions = {},
): Figure {
  const rows = (isTable(log) ? log.toRecords() : log) as readonly TrainingRow[];
  if (!Array.isArray(rows) || rows.length === 0)
    throw new UsageError('trainingCurves: the log must be non-empty rows of {model, epoch|iteration, train_err, test_err}');
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
  const kinds =
    options.curves === 'train'
      ? (['train_err'] as const)
      : options.curves === 'test'
        ? (['test_err'] as const)
        : (['train_err', 'test_err'] as const);
  models.forEach((model, index) => {
    const color = colorAt(index);
    const mine = rows.filter((r) => r.model === model);
    for (const kind of kinds) {
      const s = spread(mine, axis, kind);
      if (s.x.length === 0) continue;
      const test = kind === 'test_err';
      const label = `${model} ${test ? 'test' : 'train'}${s.runs > 1 ? ` (mean of ${s.runs})` : ''}`;
      if (s.runs > 1) {
        data.push({
          type: 'scatter',
          mode: 'lines',
          fill: 'toself',
          fillcolor: translucent(color, 0.18),
          line: { color, width: 0 },
          name: `${model} ${test ? 'test' : 'train'} range`,
          legendgroup: model,
          showlegend: false,
          hoverinfo: 'skip',
          x: [...s.x, ...[...s.x].reverse()],
          y: [...s.hi, ...[...s.lo].reverse()].map((v) => v * scale),
        });
      }
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: label,
        legendgroup: model,
        x: s.x,
        y: s.mean.map((v) => v * scale),
        line: test
          ? { color, width: 3, dash: 'solid' }
          : { color, width: options.curves === 'train' ? 2 : 1, dash: options.curves === 'train' ? 'solid' : 'dash' },
        hovertemplate: `${label}: %{y:.2f}%<extra>${axis} %{x}</extra>`,
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
