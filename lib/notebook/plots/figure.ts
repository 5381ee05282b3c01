// A plotly.js figure as plain data, and how it is shown: one MIME bundle with the plotly JSON
// (JupyterLab draws it), HTML that draws it with plotly.js embedded (classic Notebook, exported
// HTML, any trusted page) over a static picture (an image, shown where scripts do not run:
// untrusted notebooks, code hosts), the picture itself as image/svg+xml or image/png, and a text
// summary (terminals).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { displayBundle, escapeHtml, newLiveDisplay, type MimeBundle } from '../display';
import type { Figure, Trace } from './figure-spec';
import { figureSvg } from './svg';

export type { Figure, Trace } from './figure-spec';

/** The MIME type JupyterLab's plotly renderer draws. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/**
 * Marks the `<script>` that carries plotly.js inside an HTML output, so tools (the book export,
 * the notebook runner) can find it and move or strip it.
 */
export const PLOTLY_SCRIPT_ATTRIBUTE = 'data-residual-plotly';

let plotlySource: { version: string; code: string } | undefined;

/** plotly.js from the `plotly.js-dist` package: its version and code, read once. */
export function plotlyJs(): { version: string; code: string } {
  if (plotlySource === undefined) {
    const file = require.resolve('plotly.js-dist');
    const pkg = JSON.parse(readFileSync(require.resolve('plotly.js-dist/package.json'), 'utf8')) as { version: string };
    // `</script` inside would end the element early.
    plotlySource = { version: pkg.version, code: readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script') };
  }
  return plotlySource;
}

/** The `<script>` element that defines `window.Plotly` unless the page has it already. */
export function plotlyScriptTag(): string {
  const { version, code } = plotlyJs();
  return `<script type="text/javascript" ${PLOTLY_SCRIPT_ATTRIBUTE}="${version}">if (!window.Plotly) {\n${code}\n}</script>`;
}

/** JSON that is safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** How many figures this process has made HTML for (part of their element ids). */
let figuresDrawn = 0;

/** Whether this process has sent plotly.js to the notebook page already. */
let plotlySent = false;

/**
 * The static picture of a figure as an `<img>` of its SVG ({@link figureSvg}) in a data URI. An
 * image, not inline SVG: Jupyter sanitizes the HTML of a notebook it does not trust (one that
 * someone else ran), and the sanitizer keeps an `<img>` with a data URI but reduces an inline
 * `<svg>` to its text.
 */
export function figureStaticImg(fig: Figure): string {
  const svg = figureSvg(fig);
  const size = /^<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
  const dims = size === null ? '' : ` width="${size[1]}" height="${size[2]}"`;
  const alt = escapeHtml(figureText(fig).split('\n')[0]!);
  return `<img class="residual-static-img" alt="${alt}"${dims} style="max-width: 100%; height: auto" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}">`;
}

/**
 * HTML that draws `fig` with plotly.js, holding its static picture ({@link figureStaticImg}) until
 * then (and where scripts do not run). With `includePlotly` the library is embedded first
 * (guarded, so a page that has it does not run it twice); without it the drawing waits a few
 * seconds for `window.Plotly` and otherwise says how to get the plot.
 */
export function figureHtml(fig: Figure, includePlotly: boolean): string {
  // Named after its content and its place in the session, so a re-run notebook does not change.
  const id = `residual-plot-${createHash('sha1').update(JSON.stringify(fig)).digest('hex').slice(0, 12)}-${++figuresDrawn}`;
  const draw = [
    '(function () {',
    `  var el = document.getElementById(${scriptJson(id)});`,
    `  var fig = ${scriptJson(fig)};`,
    '  var tries = 0;',
    '  function draw() {',
    '    if (window.Plotly) {',
    // The static picture makes way for the interactive one (plotly.js draws beside what is there).
    '      var still = el.querySelector(".residual-static");',
    '      if (still) still.parentNode.removeChild(still);',
    '      window.Plotly.newPlot(el, fig.data, fig.layout, { displaylogo: false, responsive: true });',
    '      return;',
    '    }',
    '    if (++tries < 100) { setTimeout(draw, 100); return; }',
    '    var note = document.createElement("p");',
    '    note.className = "residual-plot-note";',
    '    note.style.fontSize = "smaller";',
    '    note.style.color = "#666";',
    "    note.textContent = 'A static picture: plotly.js is not loaded in this page (it travels with the first figure of a kernel session); restart the kernel and run the notebook for the interactive figure.';",
    '    el.appendChild(note);',
    '  }',
    '  draw();',
    '})();',
  ].join('\n');
  // The static picture inside the div: the picture before (or without) JavaScript.
  const div = `<div id="${id}" class="residual-plot"><div class="residual-static">${figureStaticImg(fig)}</div></div>`;
  return `${includePlotly ? plotlyScriptTag() : ''}${div}<script type="text/javascript">\n${draw}\n</script>`;
}

/** A short text description of a figure, for places that cannot draw it. */
export function figureText(fig: Figure): string {
  const layoutTitle = fig.layout['title'];
  const title =
    typeof layoutTitle === 'string'
      ? layoutTitle
      : typeof layoutTitle === 'object' && layoutTitle !== null && typeof (layoutTitle as { text?: unknown }).text === 'string'
        ? (layoutTitle as { text: string }).text
        : 'untitled';
  const lines = [`Figure: ${title} (${fig.data.length} trace${fig.data.length === 1 ? '' : 's'})`];
  for (const trace of fig.data) {
    const points = Array.isArray(trace['y']) && trace.type !== 'heatmap' ? `, ${(trace['y'] as unknown[]).length} points` : '';
    lines.push(`  - ${trace.type ?? 'scatter'}${trace.name === undefined ? '' : ` "${trace.name}"`}${points}`);
    if (trace.type === 'heatmap') lines.push(...matrixText(trace));
    if (trace.type === 'image') {
      const labels = Array.isArray(fig.layout['annotations'])
        ? (fig.layout['annotations'] as { text?: unknown }[]).map((a) => String(a.text ?? ''))
        : [];
      if (labels.length > 0) lines.push(`    labels: ${labels.join(', ')}`);
    }
  }
  return lines.join('\n');
}

/** A heatmap's matrix as aligned text rows, labelled like the axes (y down, x across). */
function matrixText(trace: Trace): string[] {
  const z = trace['z'];
  if (!Array.isArray(z)) return [];
  const xs = Array.isArray(trace['x']) ? (trace['x'] as unknown[]).map(String) : [];
  const ys = Array.isArray(trace['y']) ? (trace['y'] as unknown[]).map(String) : [];
  const cells = (z as unknown[][]).map((row) => row.map((v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v))));
  const width = Math.max(...cells.flat().map((c) => c.length), ...xs.map((x) => x.length));
  const head = Math.max(0, ...ys.map((y) => y.length));
  const out = [`    ${' '.repeat(head)} ${xs.map((x) => x.padStart(width)).join(' ')}`];
  cells.forEach((row, i) => out.push(`    ${(ys[i] ?? '').padEnd(head)} ${row.map((c) => c.padStart(width)).join(' ')}`));
  return out;
}

/** The PNG of a figure that is one picture (an {@link imageGrid}), as a static fallback. */
function figurePng(fig: Figure): string | undefined {
  const [only] = fig.data;
  if (fig.data.length !== 1 || only?.type !== 'image' || typeof only['source'] !== 'string') return undefined;
  const m = /^data:image\/png;base64,(.+)$/.exec(only['source']);
  return m?.[1];
}

/**
 * The MIME bundle for a figure: plotly JSON, HTML (plotly.js embedded once per process unless
 * `includePlotly` says otherwise, the static SVG inside until plotly.js draws), text, and a
 * static picture: the PNG of a figure that is one picture, else `image/svg+xml`.
 * Extra representations can be added by the caller.
 */
export function figureBundle(fig: Figure, options: { includePlotly?: boolean } = {}): MimeBundle {
  const include = options.includePlotly ?? !plotlySent;
  plotlySent ||= include;
  const png = figurePng(fig);
  return {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout },
    'text/html': figureHtml(fig, include),
    // One static picture: the PNG of a picture figure, else the SVG drawing.
    ...(png === undefined ? { 'image/svg+xml': figureSvg(fig) } : { 'image/png': png }),
    'text/plain': figureText(fig),
  };
}

/** Shows a figure in the notebook (its text summary outside one). */
export function show(fig: Figure, extra: MimeBundle = {}): void {
  displayBundle({ ...figureBundle(fig), ...extra });
}

/** A figure shown once and then redrawn in place, e.g. training curves while training runs. */
export interface LiveFigure {
  /** Replaces the shown figure by `fig`. */
  update(fig: Figure): void;
}

/** A new figure display that `update` redraws in place (printed as text outside a notebook). */
export function liveFigure(): LiveFigure {
  const display = newLiveDisplay();
  return { update: (fig) => display.update(figureBundle(fig)) };
}
