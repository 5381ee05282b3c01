// A confusion matrix (true class × predicted class) as a plotly heatmap with counts written in.
import { UsageError } from '../../util/errors';
import type { Figure } from './figure-spec';

/** Options of {@link heatmap}. */
export interface HeatmapOptions {
  title?: string;
  /** Axis titles; defaults "predicted" (x) and "true" (y). */
  xTitle?: string;
  yTitle?: string;
  /** Write each cell's value in it (default true). */
  annotate?: boolean;
  /** Plotly colour scale: a name or `[fraction, colour]` stops (default white to dark blue). */
  colorscale?: string | [number, string][];
  /** Pixels (default 520 square). */
  size?: number;
}

/**
 * A heatmap of `matrix` (rows: true class, columns: predicted class) with the class `labels`
 * on both axes, row 0 at the top, as confusion matrices are read.
 */
export function heatmap(matrix: readonly (readonly number[])[], labels: readonly string[], options: HeatmapOptions = {}): Figure {
  const n = labels.length;
  if (matrix.length !== n || matrix.some((row) => row.length !== n)) {
    throw new UsageError(
      `heatmap: matrix must be ${n}×${n} to match the ${n} labels, got ${matrix.length} rows of lengths ${[...new Set(matrix.map((r) => r.length))].join('/')}`,
    );
  }
  const z = matrix.map((row) => [...row]);
  const max = Math.max(...z.flat());
  const annotations =
    (options.annotate ?? true)
      ? z.flatMap((row, i) =>
          row.map((v, j) => ({
            x: labels[j],
            y: labels[i],
            text: Number.isInteger(v) ? String(v) : v.toFixed(2),
            showarrow: false,
            font: { color: v > max / 2 ? 'white' : 'black', size: 11 },
          })),
        )
      : [];
  const size = options.size ?? 520;
  return {
    data: [
      {
        type: 'heatmap',
        z,
        x: [...labels],
        y: [...labels],
        colorscale: options.colorscale ?? [
          [0, '#f7fbff'],
          [0.5, '#6baed6'],
          [1, '#08306b'],
        ],
        hovertemplate: 'true %{y}, predicted %{x}: %{z}<extra></extra>',
      },
    ],
    layout: {
      ...(options.title === undefined ? {} : { title: { text: options.title } }),
      xaxis: { title: { text: options.xTitle ?? 'predicted' }, side: 'bottom', type: 'category' },
      yaxis: { title: { text: options.yTitle ?? 'true' }, autorange: 'reversed', type: 'category' },
      annotations,
      width: size + 80,
      height: size,
    },
  };
}
