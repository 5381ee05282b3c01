// Generic charts: bars and lines, as plain plotly.js figures.
import { UsageError } from '../../util/errors';
import type { Figure, Trace } from './figure-spec';
import { colorAt } from './palette';

/** Titles and size shared by the generic charts. */
export interface ChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Pixels (defaults 640 × 400). */
  width?: number;
  height?: number;
}

function baseLayout(options: ChartOptions): Record<string, unknown> {
  return {
    ...(options.title === undefined ? {} : { title: { text: options.title } }),
    xaxis: options.xTitle === undefined ? {} : { title: { text: options.xTitle } },
    yaxis: options.yTitle === undefined ? {} : { title: { text: options.yTitle } },
    width: options.width ?? 640,
    height: options.height ?? 400,
  };
}

/** Options of {@link bars}. */
export interface BarsOptions extends ChartOptions {
  /** Bars along y instead of x. */
  horizontal?: boolean;
}

/**
 * A bar chart: one bar per label, or one group of bars per label when `values` maps series
 * names to arrays (each as long as `labels`).
 */
export function bars(
  labels: readonly string[],
  values: readonly number[] | Readonly<Record<string, readonly number[]>>,
  options: BarsOptions = {},
): Figure {
  const series: [string | undefined, readonly number[]][] = isNumberArray(values) ? [[undefined, values]] : Object.entries(values);
  const data: Trace[] = series.map(([name, ys], index) => {
    if (ys.length !== labels.length)
      throw new UsageError(`bars: series ${name ?? 'values'} has ${ys.length} values for ${labels.length} labels`);
    const [cat, val] = options.horizontal ? (['y', 'x'] as const) : (['x', 'y'] as const);
    return {
      type: 'bar',
      ...(name === undefined ? {} : { name }),
      [cat]: [...labels],
      [val]: [...ys],
      orientation: options.horizontal ? 'h' : 'v',
      marker: { color: colorAt(index) },
    };
  });
  return { data, layout: { ...baseLayout(options), barmode: 'group', showlegend: series.length > 1 } };
}

function isNumberArray(v: unknown): v is readonly number[] {
  return Array.isArray(v);
}

/** One line of {@link lines}. */
export interface LineSeries {
  name: string;
  /** x values; default 0, 1, 2, ... */
  x?: readonly number[];
  y: readonly number[];
  dash?: 'solid' | 'dash' | 'dot' | 'dashdot';
  /** Line width in pixels (default 2). */
  width?: number;
  /** Draw markers at the points too. */
  markers?: boolean;
  color?: string;
}

/** Options of {@link lines}. */
export interface LinesOptions extends ChartOptions {
  /** Logarithmic y axis. */
  logY?: boolean;
}

/** A line chart of named series. */
export function lines(series: readonly LineSeries[], options: LinesOptions = {}): Figure {
  const data: Trace[] = series.map((s, index) => {
    const x = s.x ?? s.y.map((_, i) => i);
    if (x.length !== s.y.length) throw new UsageError(`lines: series "${s.name}" has ${x.length} x values and ${s.y.length} y values`);
    return {
      type: 'scatter',
      mode: s.markers ? 'lines+markers' : 'lines',
      name: s.name,
      x: [...x],
      y: [...s.y],
      line: { color: s.color ?? colorAt(index), width: s.width ?? 2, dash: s.dash ?? 'solid' },
    };
  });
  const layout = baseLayout(options);
  if (options.logY) layout['yaxis'] = { ...(layout['yaxis'] as object), type: 'log' };
  return { data, layout };
}
