// A static SVG of a figure: the picture a reader sees where plotly.js cannot run (an untrusted
// notebook, a saved notebook re-opened before running, a code host's viewer). Self-contained: no
// scripts, no fonts, no CSS classes (sanitisers keep presentation attributes), deterministic
// (fixed number formatting, no ids), so saved notebooks do not change when re-run.
import { escapeHtml } from '../display';
import type { Figure, Trace } from './figure-spec';
import { colorAt } from './palette';

const FONT = 'Helvetica, Arial, sans-serif';
const AXIS_COLOR = '#444';
const GRID_COLOR = '#e5e5e5';

/** Escapes text for XML content and attribute values. */
function xml(text: string): string {
  return escapeHtml(text); // the same five characters as in HTML
}

/** A coordinate with at most two decimals, always written the same way. */
function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** A rough width of `text` in pixels at `size` (sans-serif averages about 0.58 em a glyph). */
function textWidth(text: string, size: number): number {
  return text.length * size * 0.58;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function record(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

/** `title` as plotly takes it: a string or `{ text }`. */
function titleText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isRecord(v) && typeof v['text'] === 'string') return v['text'];
  return undefined;
}

function numbers(v: unknown): (number | null)[] {
  return Array.isArray(v) ? v.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : null)) : [];
}

function text(
  x: number,
  y: number,
  content: string,
  attrs: {
    size?: number;
    anchor?: 'start' | 'middle' | 'end';
    color?: string;
    weight?: string;
    transform?: string;
    baseline?: 'middle' | 'auto';
  } = {},
): string {
  const parts = [`x="${num(x)}"`, `y="${num(y)}"`, `font-size="${attrs.size ?? 12}"`, `fill="${xml(attrs.color ?? AXIS_COLOR)}"`];
  if (attrs.anchor !== undefined && attrs.anchor !== 'start') parts.push(`text-anchor="${attrs.anchor}"`);
  if (attrs.baseline === 'middle') parts.push('dominant-baseline="central"');
  if (attrs.weight !== undefined) parts.push(`font-weight="${attrs.weight}"`);
  if (attrs.transform !== undefined) parts.push(`transform="${attrs.transform}"`);
  return `<text ${parts.join(' ')}>${xml(content)}</text>`;
}

// ---------------------------------------------------------------------------------------------
// Axes

/** One axis: how data values map to pixels, and its ticks. */
interface Axis {
  kind: 'linear' | 'log' | 'category';
  /** The range in axis units (log10 of values for a log axis, indices for categories), first to last. */
  from: number;
  to: number;
  categories: string[];
  title: string | undefined;
  visible: boolean;
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.ceil(lo / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k * step <= hi + step * 1e-9; k++) ticks.push(k * step);
  // Round away floating-point noise (0.30000000000000004) to the step's decimals.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return ticks.map((t) => Number(t.toFixed(Math.min(decimals, 12))));
}

/** A tick label: plain numbers, exponent form only for very large or very small ones. */
function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const e = Math.floor(Math.log10(a));
    const m = Number((v / 10 ** e).toPrecision(3));
    return m === 1 ? `1e${e}` : `${m}e${e}`;
  }
  return String(Number(v.toPrecision(6)));
}

/** The ticks of an axis: values in axis units and their labels. */
function axisTicks(axis: Axis, lengthPx: number): { at: number; label: string }[] {
  const lo = Math.min(axis.from, axis.to);
  const hi = Math.max(axis.from, axis.to);
  if (axis.kind === 'category') return axis.categories.map((c, i) => ({ at: i, label: c }));
  if (axis.kind === 'log') {
    const decades: { at: number; label: string }[] = [];
    for (let e = Math.ceil(lo - 1e-9); e <= hi + 1e-9; e++) decades.push({ at: e, label: tickLabel(10 ** e) });
    if (decades.length >= 3) {
      // Too many decades for the space: every other (or every k-th) power of ten.
      const room = Math.max(1, Math.floor(lengthPx / 28));
      const every = Math.ceil(decades.length / room);
      return decades.filter((d) => d.at % every === 0);
    }
    // Less than two decades: 1, 2, 5 multiples, or every multiple when that gives too few.
    const multiples = (ms: number[]): { at: number; label: string }[] => {
      const out: { at: number; label: string }[] = [];
      for (let e = Math.floor(lo) - 1; e <= Math.ceil(hi); e++) {
        for (const m of ms) {
          const v = Number((m * 10 ** e).toPrecision(6));
          const at = Math.log10(v);
          if (at >= lo - 1e-9 && at <= hi + 1e-9) out.push({ at, label: tickLabel(v) });
        }
      }
      return out;
    };
    const coarse = multiples([1, 2, 5]);
    return coarse.length >= 3 ? coarse : multiples([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
  const target = Math.max(2, Math.min(8, Math.floor(lengthPx / 60)));
  const ticks = niceTicks(lo, hi, target);
  // Thousands and millions as plotly writes them (10k, 2.5M), so long iteration counts fit.
  const big = Math.max(...ticks.map(Math.abs));
  const [unit, suffix] = big >= 1e7 ? [1e6, 'M'] : big >= 1e4 ? [1e3, 'k'] : [1, ''];
  return ticks.map((v) => ({ at: v, label: v === 0 || suffix === '' ? tickLabel(v) : `${Number((v / unit).toPrecision(6))}${suffix}` }));
}

/** Maps a data value to axis units (undefined when it has no place on the axis). */
function toUnits(axis: Axis, v: unknown): number | undefined {
  if (axis.kind === 'category') {
    const i = axis.categories.indexOf(String(v));
    return i < 0 ? undefined : i;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (axis.kind === 'log') return v > 0 ? Math.log10(v) : undefined;
  return v;
}

/** A pixel scale: axis units from..to onto pixels a..b. */
function scale(axis: Axis, a: number, b: number): (u: number) => number {
  const span = axis.to - axis.from || 1;
  return (u) => a + ((u - axis.from) / span) * (b - a);
}

/** The numeric autorange of values (with padding), as plotly would roughly choose it. */
function autoRange(values: number[], kind: 'linear' | 'log', options: { includeZero?: boolean; pad?: number } = {}): [number, number] {
  let vs = kind === 'log' ? values.filter((v) => v > 0).map((v) => Math.log10(v)) : values;
  if (options.includeZero && kind === 'linear') vs = [...vs, 0];
  if (vs.length === 0) return kind === 'log' ? [0, 1] : [0, 1];
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (lo === hi) {
    lo -= kind === 'log' ? 0.5 : Math.abs(lo) * 0.1 || 1;
    hi += kind === 'log' ? 0.5 : Math.abs(hi) * 0.1 || 1;
  }
  const pad = (options.pad ?? 0.05) * (hi - lo);
  const zeroLo = options.includeZero && kind === 'linear' && lo === 0;
  const zeroHi = options.includeZero && kind === 'linear' && hi === 0;
  return [zeroLo ? 0 : lo - pad, zeroHi ? 0 : hi + pad];
}

/** Builds an axis from the layout's axis object and the values drawn on it. */
function makeAxis(
  layoutAxis: Record<string, unknown>,
  values: unknown[],
  options: { category?: string[]; includeZero?: boolean; pad?: number; flip?: boolean },
): Axis {
  const title = titleText(layoutAxis['title']);
  const visible = layoutAxis['visible'] !== false;
  const range = numbers(layoutAxis['range']);
  const reversed = layoutAxis['autorange'] === 'reversed';
  if (options.category !== undefined || layoutAxis['type'] === 'category') {
    const categories = options.category ?? [...new Set(values.map(String))];
    let [from, to] = [-0.5, categories.length - 0.5];
    if (range.length === 2 && range[0] !== null && range[1] !== null) [from, to] = [range[0], range[1]];
    if (reversed !== (options.flip ?? false)) [from, to] = [to, from];
    return { kind: 'category', from, to, categories, title, visible };
  }
  const kind = layoutAxis['type'] === 'log' ? 'log' : 'linear';
  let [from, to] =
    range.length === 2 && range[0] !== null && range[1] !== null
      ? [range[0], range[1]]
      : autoRange(
          values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)),
          kind,
          options,
        );
  if (reversed) [from, to] = [to, from];
  return { kind, from, to, categories: [], title, visible };
}

// ---------------------------------------------------------------------------------------------
// Colours

/** Named plotly colour scales we know, as stops. */
const SCALES: Record<string, [number, string][]> = {
  Blues: [
    [0, '#f7fbff'],
    [0.5, '#6baed6'],
    [1, '#08306b'],
  ],
  Greys: [
    [0, '#ffffff'],
    [1, '#000000'],
  ],
  Viridis: [
    [0, '#440154'],
    [0.25, '#3b528b'],
    [0.5, '#21918c'],
    [0.75, '#5ec962'],
    [1, '#fde725'],
  ],
  Reds: [
    [0, '#fff5f0'],
    [0.5, '#fb6a4a'],
    [1, '#67000d'],
  ],
};

function parseHex(c: string): [number, number, number] | undefined {
  const m = /^#([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(c.trim());
  if (m === null) {
    const rgb = /^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/i.exec(c.trim());
    return rgb === null ? undefined : [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  }
  const h = (m[1] as string).length === 3 ? [...(m[1] as string)].map((d) => d + d).join('') : (m[1] as string);
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

function hex(rgb: [number, number, number]): string {
  return `#${rgb
    .map((v) =>
      Math.round(Math.min(255, Math.max(0, v)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

function colorScale(spec: unknown): [number, [number, number, number]][] {
  const stops = typeof spec === 'string' ? SCALES[spec] : Array.isArray(spec) ? (spec as [number, string][]) : undefined;
  const parsed = (stops ?? (SCALES['Blues'] as [number, string][]))
    .map(([f, c]) => [Number(f), parseHex(String(c))] as const)
    .filter((s): s is readonly [number, [number, number, number]] => s[1] !== undefined && Number.isFinite(s[0]));
  return parsed.length >= 2
    ? parsed.map(([f, c]) => [f, c])
    : [
        [0, [247, 251, 255]],
        [1, [8, 48, 107]],
      ];
}

function colorAtFraction(scale: [number, [number, number, number]][], t: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  for (let i = 1; i < scale.length; i++) {
    const [f1, c1] = scale[i] as [number, [number, number, number]];
    const [f0, c0] = scale[i - 1] as [number, [number, number, number]];
    if (f <= f1 || i === scale.length - 1) {
      const u = f1 === f0 ? 0 : Math.min(1, Math.max(0, (f - f0) / (f1 - f0)));
      return hex([c0[0] + u * (c1[0] - c0[0]), c0[1] + u * (c1[1] - c0[1]), c0[2] + u * (c1[2] - c0[2])]);
    }
  }
  return hex((scale[0] as [number, [number, number, number]])[1]);
}

/** SVG `stroke-dasharray` for a plotly dash name at a line width. */
function dashArray(dash: unknown, width: number): string | undefined {
  const w = Math.max(1, width);
  switch (dash) {
    case 'dash':
      return `${num(Math.max(5, 3 * w))},${num(Math.max(4, 2 * w))}`;
    case 'dot':
      return `${num(w)},${num(2 * w)}`;
    case 'dashdot':
      return `${num(Math.max(5, 3 * w))},${num(2 * w)},${num(w)},${num(2 * w)}`;
    case 'longdash':
      return `${num(Math.max(8, 5 * w))},${num(2 * w)}`;
    default:
      return typeof dash === 'string' && /^[\d.,\s]+(px)?$/.test(dash) && dash !== 'solid' ? dash.replace(/px/g, '') : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The figure

/** What one legend entry looks like. */
interface LegendEntry {
  name: string;
  color: string;
  kind: 'line' | 'box';
  width: number;
  dash: string | undefined;
  markers: boolean;
}

/** Plot-area box in pixels. */
interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const KNOWN = new Set(['scatter', 'bar', 'heatmap', 'image']);

/**
 * The figure as a static SVG document (an `<svg>` element with `xmlns`), the same size as the
 * plotly drawing (`layout.width` × `layout.height`, default 640 × 400). Draws the traces this
 * library makes: `scatter` (lines, markers, dashes, widths, colours, a legend), `bar` (grouped,
 * vertical or horizontal), `heatmap` (category labels, colour bar, annotations) and `image`
 * (its PNG embedded); linear, log and category axes with round ticks, axis titles, the title and
 * annotations. Other trace types are named in a note instead of drawn.
 */
export function figureSvg(fig: Figure): string {
  const layout = fig.layout;
  const width = positive(layout['width']) ?? 640;
  const height = positive(layout['height']) ?? 400;
  const title = titleText(layout['title']);
  const traces = fig.data.filter((t) => t['visible'] !== false);
  const marks = sortMarks(traces);
  const unknown = [...new Set(traces.filter((t) => !KNOWN.has(t.type ?? 'scatter')).map((t) => t.type ?? 'scatter'))];
  const [xAxis, yAxis] = figureAxes(marks, record(layout['xaxis']), record(layout['yaxis']));
  const legend = legendOf(layout, marks);
  const showScale = marks.heat !== undefined && marks.heat['showscale'] !== false;
  const frame = plotFrame(layout, { width, height, title, xAxis, yAxis, legend, showScale });
  const { box } = frame;
  const plot: Plot = { xAxis, yAxis, box, px: scale(xAxis, box.left, box.right), py: scale(yAxis, box.bottom, box.top) };

  const out: string[] = [...background(layout, width, height, box), ...gridLines(plot, frame, marks)];
  out.push(...markElements(fig, marks, plot));
  out.push(...axisElements(plot, frame, height));
  if (showScale && marks.heat !== undefined) out.push(...colorBar(marks.heat, box, width));
  out.push(...annotations(layout['annotations'], plot, width, height));
  if (legend.length > 0) out.push(...legendElements(legend, box.right + 16, box.top, width, height));
  if (title !== undefined) out.push(text(width / 2, Math.min(30, frame.top - 12), title, { size: 16, anchor: 'middle', color: '#222' }));
  if (unknown.length > 0) out.push(...unknownNote(unknown, width, box));

  const label = title ?? 'figure';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${FONT}" role="img" aria-label="${xml(label)}">`,
    `<title>${xml(label)}</title>`,
    ...out,
    '</svg>',
  ].join('\n');
}

/** The plot area with its axes, and the maps from axis units to pixels. */
interface Plot {
  xAxis: Axis;
  yAxis: Axis;
  box: Box;
  px: (u: number) => number;
  py: (u: number) => number;
}

/** The traces a static picture draws, by kind (a figure holds one heatmap or image at most). */
interface Marks {
  known: Trace[];
  heat: Trace | undefined;
  image: Trace | undefined;
  bars: Trace[];
  scatters: Trace[];
  /** Every bar trace horizontal. */
  horizontal: boolean;
}

function sortMarks(traces: Trace[]): Marks {
  const known = traces.filter((t) => KNOWN.has(t.type ?? 'scatter'));
  const bars = known.filter((t) => t.type === 'bar');
  return {
    known,
    heat: known.find((t) => t.type === 'heatmap'),
    image: known.find((t) => t.type === 'image'),
    bars,
    scatters: known.filter((t) => (t.type ?? 'scatter') === 'scatter'),
    horizontal: bars.length > 0 && bars.every((t) => t['orientation'] === 'h'),
  };
}

/** The x and y axes, from the data drawn on them (hidden when nothing can be drawn). */
function figureAxes(marks: Marks, xLayout: Record<string, unknown>, yLayout: Record<string, unknown>): [Axis, Axis] {
  const { heat, image, horizontal } = marks;
  const xs: unknown[] = [];
  const ys: unknown[] = [];
  for (const t of marks.known) {
    if (t.type === 'heatmap' || t.type === 'image') continue;
    const y = Array.isArray(t['y']) ? (t['y'] as unknown[]) : [];
    const x = Array.isArray(t['x']) ? (t['x'] as unknown[]) : y.map((_, i) => i);
    xs.push(...x);
    ys.push(...y);
  }
  let xAxis: Axis;
  let yAxis: Axis;
  if (heat !== undefined) {
    const z = Array.isArray(heat['z']) ? (heat['z'] as unknown[][]) : [];
    const cols = Array.isArray(heat['x']) ? (heat['x'] as unknown[]).map(String) : (z[0] ?? []).map((_, j) => String(j));
    const rows = Array.isArray(heat['y']) ? (heat['y'] as unknown[]).map(String) : z.map((_, i) => String(i));
    xAxis = makeAxis(xLayout, [], { category: cols });
    yAxis = makeAxis(yLayout, [], { category: rows });
  } else if (image !== undefined) {
    const meta = record(image['meta']);
    xAxis = makeAxis(xLayout, [0, positive(meta['width']) ?? 1], { pad: 0 });
    yAxis = makeAxis(yLayout, [positive(meta['height']) ?? 1, 0], { pad: 0 });
  } else if (marks.bars.length > 0) {
    const cats = [...new Set((horizontal ? ys : xs).map(String))];
    const values = horizontal ? xs : ys;
    if (horizontal) {
      xAxis = makeAxis(xLayout, values, { includeZero: true });
      yAxis = makeAxis(yLayout, [], { category: cats });
    } else {
      xAxis = makeAxis(xLayout, [], { category: cats });
      yAxis = makeAxis(yLayout, values, { includeZero: true });
    }
  } else {
    const allNumeric = xs.every((v) => typeof v === 'number' || v === null);
    xAxis = allNumeric ? makeAxis(xLayout, xs, { pad: 0 }) : makeAxis(xLayout, [], { category: [...new Set(xs.map(String))] });
    yAxis = makeAxis(yLayout, ys, {});
  }
  if (marks.known.length === 0) {
    // Nothing we can draw: no empty axes, only the note.
    xAxis.visible = false;
    yAxis.visible = false;
  }
  return [xAxis, yAxis];
}

/** Legend entries: named traces, when plotly would show a legend. */
function legendOf(layout: Record<string, unknown>, marks: Marks): LegendEntry[] {
  const legendTraces = [...marks.scatters, ...marks.bars].filter((t) => typeof t.name === 'string' && t['showlegend'] !== false);
  const showLegend =
    layout['showlegend'] === false ? false : layout['showlegend'] === true ? legendTraces.length > 0 : legendTraces.length > 1;
  return showLegend ? legendTraces.map((t, i) => legendEntry(t, i)) : [];
}

/** The plot area and what sits around it: margins that fit the tick labels, legend and titles. */
interface PlotFrame {
  box: Box;
  top: number;
  xTicks: { at: number; label: string }[];
  yTicks: { at: number; label: string }[];
  yLabelWidth: number;
  /** x tick labels rotated by 45°, when category labels do not fit their band. */
  rotate: boolean;
  xLabelHeight: number;
}

const TICK_SIZE = 11;

function plotFrame(
  layout: Record<string, unknown>,
  f: { width: number; height: number; title: string | undefined; xAxis: Axis; yAxis: Axis; legend: LegendEntry[]; showScale: boolean },
): PlotFrame {
  const { width, height, xAxis, yAxis, legend } = f;
  const given = record(layout['margin']);
  const xTicks = xAxis.visible ? axisTicks(xAxis, width) : [];
  const yTicks = yAxis.visible ? axisTicks(yAxis, height) : [];
  const yLabelWidth = Math.max(0, ...yTicks.map((t) => textWidth(t.label, TICK_SIZE)));
  const legendWidth = legend.length === 0 ? 0 : Math.min(width * 0.4, 40 + Math.max(...legend.map((e) => textWidth(e.name, 12))));
  const right = positive(given['r']) ?? (legend.length > 0 ? legendWidth + 16 : f.showScale ? 70 : 24);
  const left = positive(given['l']) ?? (yAxis.visible ? Math.ceil(yLabelWidth + 12 + (yAxis.title ? 24 : 0)) + 4 : 10);
  const top = positive(given['t']) ?? (f.title !== undefined ? 48 : 16);
  const plotWidthGuess = width - left - right;
  const xTickRoom = xTicks.length === 0 ? Infinity : plotWidthGuess / Math.max(1, xTicks.length);
  const xLabelMax = Math.max(0, ...xTicks.map((t) => textWidth(t.label, TICK_SIZE)));
  const rotate = xAxis.kind === 'category' && xLabelMax > xTickRoom - 4;
  const xLabelHeight = rotate ? xLabelMax * Math.SQRT1_2 + 10 : 16;
  const bottom = positive(given['b']) ?? (xAxis.visible ? Math.ceil(xLabelHeight + 8 + (xAxis.title ? 22 : 0)) : 10);
  const box: Box = { left, top, right: Math.max(left + 20, width - right), bottom: Math.max(top + 20, height - bottom) };
  return { box, top, xTicks, yTicks, yLabelWidth, rotate, xLabelHeight };
}

function background(layout: Record<string, unknown>, width: number, height: number, box: Box): string[] {
  const bg = typeof layout['paper_bgcolor'] === 'string' ? layout['paper_bgcolor'] : 'white';
  const out = [`<rect x="0" y="0" width="${num(width)}" height="${num(height)}" fill="${xml(bg)}"/>`];
  if (typeof layout['plot_bgcolor'] === 'string' && layout['plot_bgcolor'] !== bg) {
    out.push(
      `<rect x="${num(box.left)}" y="${num(box.top)}" width="${num(box.right - box.left)}" height="${num(box.bottom - box.top)}" fill="${xml(layout['plot_bgcolor'])}"/>`,
    );
  }
  return out;
}

/** Grid lines under the data (numeric axes only). */
function gridLines(plot: Plot, frame: PlotFrame, marks: Marks): string[] {
  const { xAxis, yAxis, px, py } = plot;
  const { box } = frame;
  const out: string[] = [];
  if (xAxis.visible && xAxis.kind !== 'category' && marks.image === undefined) {
    for (const t of frame.xTicks) out.push(hairline(px(t.at), box.top, px(t.at), box.bottom, GRID_COLOR));
  }
  if (yAxis.visible && yAxis.kind !== 'category' && marks.image === undefined) {
    for (const t of frame.yTicks) out.push(hairline(box.left, py(t.at), box.right, py(t.at), GRID_COLOR));
  }
  return out;
}

/**
 * The traces, inside a nested <svg> the size of the plot area: it clips what lies outside the
 * axis ranges (as plotly does) without a clipPath id that could clash with another figure's.
 */
function markElements(fig: Figure, marks: Marks, plot: Plot): string[] {
  const { box } = plot;
  const w = box.right - box.left;
  const h = box.bottom - box.top;
  const out = [
    `<svg x="${num(box.left)}" y="${num(box.top)}" width="${num(w)}" height="${num(h)}" viewBox="${num(box.left)} ${num(box.top)} ${num(w)} ${num(h)}" overflow="hidden">`,
  ];
  if (marks.heat !== undefined) out.push(...heatmapCells(marks.heat, plot));
  if (marks.image !== undefined) out.push(...imageElement(marks.image, plot));
  if (marks.bars.length > 0) out.push(...barRects(marks.bars, marks.horizontal, plot));
  marks.scatters.forEach((t) => out.push(...scatterElements(t, fig.data.indexOf(t), plot)));
  out.push('</svg>');
  return out;
}

/** Axes: lines, ticks, labels, titles. */
function axisElements(plot: Plot, frame: PlotFrame, height: number): string[] {
  const { xAxis, yAxis, px, py } = plot;
  const { box, rotate } = frame;
  const out: string[] = [];
  if (xAxis.visible) {
    out.push(hairline(box.left, box.bottom, box.right, box.bottom, AXIS_COLOR));
    for (const t of frame.xTicks) {
      const x = px(t.at);
      if (x < box.left - 0.5 || x > box.right + 0.5) continue;
      out.push(hairline(x, box.bottom, x, box.bottom + 4, AXIS_COLOR));
      out.push(
        rotate
          ? text(x, box.bottom + 10, t.label, {
              size: TICK_SIZE,
              anchor: 'end',
              transform: `rotate(-45 ${num(x)} ${num(box.bottom + 10)})`,
              baseline: 'middle',
            })
          : text(x, box.bottom + 17, t.label, { size: TICK_SIZE, anchor: 'middle' }),
      );
    }
    if (xAxis.title !== undefined)
      out.push(
        text((box.left + box.right) / 2, Math.min(height - 6, box.bottom + frame.xLabelHeight + 22), xAxis.title, {
          size: 13,
          anchor: 'middle',
        }),
      );
  }
  if (yAxis.visible) {
    out.push(hairline(box.left, box.top, box.left, box.bottom, AXIS_COLOR));
    for (const t of frame.yTicks) {
      const y = py(t.at);
      if (y < box.top - 0.5 || y > box.bottom + 0.5) continue;
      out.push(hairline(box.left - 4, y, box.left, y, AXIS_COLOR));
      out.push(text(box.left - 7, y, t.label, { size: TICK_SIZE, anchor: 'end', baseline: 'middle' }));
    }
    if (yAxis.title !== undefined) {
      const x = Math.max(14, box.left - frame.yLabelWidth - 18);
      const y = (box.top + box.bottom) / 2;
      out.push(text(x, y, yAxis.title, { size: 13, anchor: 'middle', transform: `rotate(-90 ${num(x)} ${num(y)})` }));
    }
  }
  return out;
}

/** A note where the plot would be, for chart types this renderer does not draw. */
function unknownNote(types: string[], width: number, box: Box): string[] {
  const note = `(chart type ${types.join(', ')} has no static preview)`;
  const w = Math.min(width - 20, textWidth(note, 13) + 24);
  const x = (width - w) / 2;
  const y = (box.top + box.bottom) / 2 - 18;
  return [
    `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="36" rx="4" fill="#f6f6f6" stroke="#bbb" stroke-width="1"/>`,
    text(width / 2, y + 18, note, { size: 13, anchor: 'middle', baseline: 'middle', color: '#555' }),
  ];
}

/** A line one pixel wide from (x1, y1) to (x2, y2): grid lines, axes and ticks. */
function hairline(x1: number, y1: number, x2: number, y2: number, color: string): string {
  return `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${color}" stroke-width="1"/>`;
}

function positive(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function traceColor(t: Trace, index: number): string {
  const line = record(t['line']);
  const marker = record(t['marker']);
  const c = t.type === 'bar' ? marker['color'] : (line['color'] ?? marker['color']);
  return typeof c === 'string' ? c : colorAt(index);
}

function legendEntry(t: Trace, index: number): LegendEntry {
  const line = record(t['line']);
  const mode = typeof t['mode'] === 'string' ? t['mode'] : 'lines';
  const w = typeof line['width'] === 'number' ? line['width'] : 2;
  return {
    name: t.name ?? '',
    color: traceColor(t, index),
    kind: t.type === 'bar' ? 'box' : 'line',
    width: w,
    dash: dashArray(line['dash'], w),
    markers: t.type !== 'bar' && mode.includes('markers'),
  };
}

function legendElements(entries: LegendEntry[], x: number, y: number, width: number, height: number): string[] {
  const out: string[] = [];
  const room = width - x - 34;
  // Rows of 20 px, closer together when there are many entries, so the last one still fits.
  const step = Math.max(12, Math.min(20, (height - y - 14) / entries.length));
  entries.forEach((e, i) => {
    const cy = y + 10 + i * step;
    if (e.kind === 'box') out.push(`<rect x="${num(x)}" y="${num(cy - 6)}" width="24" height="12" fill="${xml(e.color)}"/>`);
    else {
      out.push(
        `<line x1="${num(x)}" y1="${num(cy)}" x2="${num(x + 24)}" y2="${num(cy)}" stroke="${xml(e.color)}" stroke-width="${num(e.width)}"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
      );
      if (e.markers) out.push(`<circle cx="${num(x + 12)}" cy="${num(cy)}" r="3" fill="${xml(e.color)}"/>`);
    }
    const maxChars = Math.max(3, Math.floor(room / (12 * 0.58)));
    const name = e.name.length > maxChars ? `${e.name.slice(0, maxChars - 1)}…` : e.name;
    out.push(text(x + 30, cy, name, { size: 12, baseline: 'middle', color: '#222' }));
  });
  return out;
}

function scatterElements(t: Trace, index: number, plot: Plot): string[] {
  const { xAxis, yAxis, px, py, box } = plot;
  const yv = Array.isArray(t['y']) ? (t['y'] as unknown[]) : [];
  const xv = Array.isArray(t['x']) ? (t['x'] as unknown[]) : yv.map((_, i) => i);
  const mode = typeof t['mode'] === 'string' ? t['mode'] : yv.length > 20 ? 'lines' : 'lines+markers';
  const line = record(t['line']);
  const marker = record(t['marker']);
  const color = traceColor(t, index);
  const w = typeof line['width'] === 'number' ? line['width'] : 2;
  const points: ([number, number] | null)[] = yv.map((y, i) => {
    const ux = toUnits(xAxis, xv[i]);
    const uy = toUnits(yAxis, y);
    return ux === undefined || uy === undefined ? null : [px(ux), py(uy)];
  });
  const out: string[] = [];
  if (t['fill'] === 'toself' && typeof t['fillcolor'] === 'string') {
    // A closed area (a spread band): the points in order, closed back to the first.
    const shape = points.filter((p): p is [number, number] => p !== null);
    const d = shape
      .map(
        (p, i) =>
          `${i === 0 ? 'M' : 'L'}${num(clamp(p[0], box.left - 1e4, box.right + 1e4))},${num(clamp(p[1], box.top - 1e4, box.bottom + 1e4))}`,
      )
      .join('');
    if (shape.length > 2) out.push(`<path d="${d}Z" fill="${xml(t['fillcolor'])}" stroke="none"/>`);
    if (w === 0) return out;
  }
  if (mode.includes('lines') && w > 0) {
    // One path per trace; a missing point starts a new run (M) as plotly's gaps do.
    let d = '';
    let pen = false;
    for (const p of points) {
      if (p === null) {
        pen = false;
        continue;
      }
      // Far-off points are pulled in (keeping the direction roughly) so coordinates stay small.
      d += `${pen ? 'L' : 'M'}${num(clamp(p[0], box.left - 1e4, box.right + 1e4))},${num(clamp(p[1], box.top - 1e4, box.bottom + 1e4))}`;
      pen = true;
    }
    const dash = dashArray(line['dash'], w);
    if (d !== '')
      out.push(
        `<path d="${d}" fill="none" stroke="${xml(color)}" stroke-width="${num(w)}" stroke-linejoin="round" stroke-linecap="round"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      );
  }
  if (mode.includes('markers')) {
    const r = (typeof marker['size'] === 'number' ? marker['size'] : 6) / 2;
    const fill = typeof marker['color'] === 'string' ? marker['color'] : color;
    for (const p of points) {
      if (p === null || p[0] < box.left - r || p[0] > box.right + r || p[1] < box.top - r || p[1] > box.bottom + r) continue;
      out.push(`<circle cx="${num(p[0])}" cy="${num(p[1])}" r="${num(r)}" fill="${xml(fill)}"/>`);
    }
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Grouped bars (plotly's `barmode: 'group'`): each category's band split among the series. */
function barRects(traces: Trace[], horizontal: boolean, plot: Plot): string[] {
  const { px, py } = plot;
  const [catAxis, valAxis] = horizontal ? [plot.yAxis, plot.xAxis] : [plot.xAxis, plot.yAxis];
  const out: string[] = [];
  const groupWidth = 0.8;
  const each = groupWidth / traces.length;
  const toPx = (u: number, onCat: boolean): number => ((onCat ? !horizontal : horizontal) ? px(u) : py(u));
  const zero = valAxis.kind === 'log' ? Math.min(valAxis.from, valAxis.to) : 0;
  traces.forEach((t, k) => {
    const cats = (Array.isArray(t[horizontal ? 'y' : 'x']) ? (t[horizontal ? 'y' : 'x'] as unknown[]) : []).map(String);
    const vals = Array.isArray(t[horizontal ? 'x' : 'y']) ? (t[horizontal ? 'x' : 'y'] as unknown[]) : [];
    const color = traceColor(t, k);
    cats.forEach((c, i) => {
      const ci = catAxis.categories.indexOf(c);
      const v = toUnits(valAxis, vals[i]);
      if (ci < 0 || v === undefined) return;
      const c0 = toPx(ci - groupWidth / 2 + k * each, true);
      const c1 = toPx(ci - groupWidth / 2 + (k + 1) * each, true);
      const v0 = toPx(zero, false);
      const v1 = toPx(v, false);
      const [x, y, w, h] = horizontal
        ? [Math.min(v0, v1), Math.min(c0, c1), Math.abs(v1 - v0), Math.abs(c1 - c0)]
        : [Math.min(c0, c1), Math.min(v0, v1), Math.abs(c1 - c0), Math.abs(v1 - v0)];
      out.push(
        `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="${xml(color)}" stroke="white" stroke-width="0.5"><title>${xml(`${t.name === undefined ? '' : `${t.name}, `}${c}: ${String(vals[i])}`)}</title></rect>`,
      );
    });
  });
  return out;
}

function zRange(heat: Trace): [number, number] {
  const z = (Array.isArray(heat['z']) ? (heat['z'] as unknown[][]) : [])
    .flatMap((row) => numbers(row))
    .filter((v): v is number => v !== null);
  const lo = typeof heat['zmin'] === 'number' ? heat['zmin'] : z.length ? Math.min(...z) : 0;
  const hi = typeof heat['zmax'] === 'number' ? heat['zmax'] : z.length ? Math.max(...z) : 1;
  return [lo, hi > lo ? hi : lo + 1];
}

function heatmapCells(heat: Trace, plot: Plot): string[] {
  const { xAxis, yAxis, px, py } = plot;
  const z = Array.isArray(heat['z']) ? (heat['z'] as unknown[][]) : [];
  const scaleStops = colorScale(heat['colorscale']);
  const [lo, hi] = zRange(heat);
  const out: string[] = [];
  z.forEach((row, i) => {
    numbers(row).forEach((v, j) => {
      if (v === null) return;
      const x0 = px(j - 0.5);
      const x1 = px(j + 0.5);
      const y0 = py(i - 0.5);
      const y1 = py(i + 0.5);
      const label = `${yAxis.categories[i] ?? i}, ${xAxis.categories[j] ?? j}: ${v}`;
      out.push(
        `<rect x="${num(Math.min(x0, x1))}" y="${num(Math.min(y0, y1))}" width="${num(Math.abs(x1 - x0))}" height="${num(Math.abs(y1 - y0))}" fill="${colorAtFraction(scaleStops, (v - lo) / (hi - lo))}"><title>${xml(label)}</title></rect>`,
      );
    });
  });
  return out;
}

/** A vertical colour bar right of the plot: stacked bands and a few value labels. */
function colorBar(heat: Trace, box: Box, width: number): string[] {
  const stops = colorScale(heat['colorscale']);
  const [lo, hi] = zRange(heat);
  const x = Math.min(box.right + 14, width - 56);
  const h = box.bottom - box.top;
  const bands = 32;
  const out: string[] = [];
  for (let k = 0; k < bands; k++) {
    const y = box.bottom - ((k + 1) / bands) * h;
    out.push(
      `<rect x="${num(x)}" y="${num(y)}" width="14" height="${num(h / bands + 0.5)}" fill="${colorAtFraction(stops, (k + 0.5) / bands)}"/>`,
    );
  }
  out.push(`<rect x="${num(x)}" y="${num(box.top)}" width="14" height="${num(h)}" fill="none" stroke="#999" stroke-width="0.5"/>`);
  for (const v of niceTicks(lo, hi, 5)) {
    const y = box.bottom - ((v - lo) / (hi - lo)) * h;
    out.push(hairline(x + 14, y, x + 17, y, AXIS_COLOR));
    out.push(text(x + 20, y, tickLabel(v), { size: 10, baseline: 'middle' }));
  }
  return out;
}

function imageElement(image: Trace, plot: Plot): string[] {
  const { xAxis, yAxis, px, py } = plot;
  const source = image['source'];
  if (typeof source !== 'string' || !/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(source)) return [];
  const meta = record(image['meta']);
  const w = positive(meta['width']) ?? Math.abs(xAxis.to - xAxis.from);
  const h = positive(meta['height']) ?? Math.abs(yAxis.to - yAxis.from);
  const x0 = px(0);
  const x1 = px(w);
  const y0 = py(0);
  const y1 = py(h);
  return [
    `<image x="${num(Math.min(x0, x1))}" y="${num(Math.min(y0, y1))}" width="${num(Math.abs(x1 - x0))}" height="${num(Math.abs(y1 - y0))}" preserveAspectRatio="xMidYMid meet" image-rendering="optimizeSpeed" href="${source}"/>`,
  ];
}

/** Layout annotations: text at data coordinates (numbers or categories) or paper fractions. */
function annotations(spec: unknown, plot: Plot, width: number, height: number): string[] {
  const { xAxis, yAxis, px, py, box } = plot;
  if (!Array.isArray(spec)) return [];
  const out: string[] = [];
  for (const a of spec) {
    if (!isRecord(a) || typeof a['text'] !== 'string') continue;
    const font = record(a['font']);
    const paperX = a['xref'] === 'paper';
    const paperY = a['yref'] === 'paper';
    const ux = paperX ? undefined : toUnits(xAxis, a['x']);
    const uy = paperY ? undefined : toUnits(yAxis, a['y']);
    const x = paperX && typeof a['x'] === 'number' ? box.left + a['x'] * (box.right - box.left) : ux === undefined ? undefined : px(ux);
    const y = paperY && typeof a['y'] === 'number' ? box.bottom - a['y'] * (box.bottom - box.top) : uy === undefined ? undefined : py(uy);
    if (x === undefined || y === undefined || x < 0 || x > width || y < 0 || y > height) continue;
    // Plotly annotations may hold <br> and simple tags; a static preview keeps their text.
    const content = (a['text'] as string).replace(/<br\s*\/?>/gi, ' ').replace(/<[^>]*>/g, '');
    out.push(
      text(x, y, content, {
        size: typeof font['size'] === 'number' ? font['size'] : 12,
        anchor: 'middle',
        baseline: 'middle',
        color: typeof font['color'] === 'string' ? font['color'] : '#222',
      }),
    );
  }
  return out;
}
