// Static SVG previews of figures (lib/notebook/plots/svg.ts): parsed and measured by a real browser
// (headless Chromium's XML parser and canvas), and the HTML output keeping the picture until
// plotly.js replaces it. The Chromium tests are skipped (with the reason) only without Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainingCurves, bars, lines, heatmap, imageGrid, figureSvg, figureBundle, figureHtml, niceTicks } from '../dist/index.js';
import { CHROMIUM, chromiumDom } from './helpers.mjs';

const skip = CHROMIUM === undefined ? 'Chromium not installed' : false;

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function curvesLog() {
  const rows = [];
  for (let epoch = 1; epoch <= 10; epoch++) {
    rows.push({ model: 'plain-20', epoch, train_err: 0.5 / epoch + 0.1, test_err: 0.5 / epoch + 0.15 });
    rows.push({ model: 'resnet-20', epoch, train_err: 0.4 / epoch + 0.05, test_err: 0.4 / epoch + 0.1 });
  }
  return rows;
}

const figures = {
  curves: trainingCurves(curvesLog(), { title: 'Plain <vs> residual' }),
  ranged: trainingCurves(curvesLog(), { yRange: [0, 20] }),
  bars: bars(
    ['20', '32', '44', '56'],
    { plain: [8.75, 9.5, 10.25, 11], resnet: [8.75, 7.5, 7.25, 7] },
    { title: 'Test error by depth', yTitle: 'error (%)', xTitle: 'layers' },
  ),
  hbars: bars(['cat', 'dog', 'ship'], [0.25, 0.5, 1], { horizontal: true, xTitle: 'accuracy' }),
  heat: heatmap(
    CLASSES.map((_, i) => CLASSES.map((_, j) => (i === j ? 50 + i : (i + 2 * j) % 7))),
    CLASSES,
    { title: 'Confusion' },
  ),
  logy: lines(
    [
      { name: 'loss', y: [2, 0.5, 0.1, 0.03, 0.004] },
      { name: 'lr', y: [0.1, 0.1, 0.01, 0.01, 0.001], dash: 'dot', markers: true },
    ],
    { logY: true, title: 'log loss', yTitle: 'value' },
  ),
  pie: { data: [{ type: 'pie', values: [1, 2] }], layout: { title: 'a pie' } },
  grid: imageGrid(new Uint8Array(2 * 3072).fill(90), [0, 1], { classNames: CLASSES, title: 'two' }),
};

test('niceTicks: round steps of 1, 2, 2.5 or 5 × 10^k, without floating-point noise', () => {
  assert.deepEqual(niceTicks(0, 20, 4), [0, 5, 10, 15, 20]);
  assert.deepEqual(niceTicks(0.1, 0.7, 6), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  assert.deepEqual(niceTicks(3.2, 71.5, 3), [25, 50]);
  assert.deepEqual(niceTicks(3.2, 71.5, 6), [20, 40, 60]);
  assert.deepEqual(niceTicks(3.2, 71.5, 10), [10, 20, 30, 40, 50, 60, 70]);
  assert.deepEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
});

test('figureSvg: long iteration counts written as plotly does (10k, 20k)', () => {
  const fig = lines([{ name: 'err', x: [1000, 32000, 64000], y: [50, 20, 10] }], { xTitle: 'iterations' });
  const svg = figureSvg(fig);
  assert.match(svg, />20k<\/text>/);
  assert.match(svg, />60k<\/text>/);
  assert.doesNotMatch(svg, />20000<\/text>/);
});

test('figureSvg: log axes tick 1-2-5 (or every) multiple within a decade, and take plotly ranges in log units', () => {
  const yTicks = (svg) => [...svg.matchAll(/text-anchor="end" dominant-baseline="central">([^<]+)/g)].map((m) => m[1]);
  assert.deepEqual(yTicks(figureSvg(lines([{ name: 'a', y: [0.3, 0.5, 0.9, 1.5] }], { logY: true }))), [
    '0.3',
    '0.4',
    '0.5',
    '0.6',
    '0.7',
    '0.8',
    '0.9',
    '1',
  ]);
  assert.deepEqual(yTicks(figureSvg(lines([{ name: 'a', y: [1, 4, 9] }], { logY: true }))), ['1', '2', '5', '10']);
  assert.deepEqual(
    yTicks(figureSvg({ data: [{ type: 'scatter', x: [1, 2, 3], y: [1, 10, 100] }], layout: { yaxis: { type: 'log', range: [-1, 3] } } })),
    ['0.1', '1', '10', '100', '1000'],
  );
});

test('figureSvg: self-contained, deterministic, escaped, sized from the layout', () => {
  for (const [name, fig] of Object.entries(figures)) {
    const svg = figureSvg(fig);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/, name);
    assert.ok(svg.endsWith('</svg>'), name);
    assert.doesNotMatch(
      svg,
      /<script|\son\w+=|class=|<style|@import|url\(|\sid=/i,
      `${name}: no scripts, classes, styles, ids or external references`,
    );
    assert.equal(figureSvg(fig), svg, `${name}: the same figure gives the same bytes`);
    const coordinates = [...svg.matchAll(/ (?:x|y|x1|x2|y1|y2|width|height|d|cx|cy|r)="([^"]*)"/g)].map((m) => m[1]);
    assert.ok(coordinates.length > 0);
    for (const c of coordinates) assert.doesNotMatch(c, /\d\.\d{3,}/, `${name}: coordinates with at most two decimals (${c})`);
  }
  assert.match(figureSvg(figures.curves), /Plain &lt;vs&gt; residual/);
  assert.match(figureSvg(figures.heat), /width="600" height="520"/, 'the heatmap keeps its layout size');
  assert.match(figureSvg(figures.pie), /\(chart type pie has no static preview\)/);
  assert.match(figureSvg(figures.grid), /<image [^>]*href="data:image\/png;base64,[A-Za-z0-9+/=]+"/, 'an image grid embeds its PNG');
});

/** The SVG inside the static <img> of an HTML output (its data URI decoded). */
function staticSvg(html) {
  const m =
    /<div class="residual-static"><img class="residual-static-img" alt="[^"]*" width="\d+" height="\d+" style="[^"]*" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"><\/div>/.exec(
      html,
    );
  assert.ok(m, 'a static <img> of the SVG inside the plot div');
  return Buffer.from(m[1], 'base64').toString('utf8');
}

test('figureBundle: image/svg+xml for drawn figures, the PNG alone for picture figures; the HTML holds the SVG as an image, never inline', () => {
  const b = figureBundle(figures.bars, { includePlotly: false });
  assert.equal(b['image/svg+xml'], figureSvg(figures.bars));
  assert.equal(staticSvg(b['text/html']), figureSvg(figures.bars));
  assert.doesNotMatch(b['text/html'], /<svg/, 'no inline SVG (an untrusted notebook would show its text)');
  const g = figureBundle(figures.grid, { includePlotly: false });
  assert.equal(g['image/svg+xml'], undefined);
  assert.equal(typeof g['image/png'], 'string');
  assert.match(staticSvg(g['text/html']), /<svg[\s\S]*<image /);
});

/** Runs `script` in a page in headless Chromium; returns the text it writes into #out. */
function inChromium(t, html) {
  const dir = mkdtempSync(join(tmpdir(), 'residual-svg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const page = join(dir, 'page.html');
  writeFileSync(page, html);
  return chromiumDom(`file://${page}`, { profile: join(dir, 'profile') });
}

// Runs in the page: parse each SVG as XML, measure what it holds, and rasterise it on a canvas.
const MEASURE = `
async function measure(svg) {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  if (doc.getElementsByTagName('parsererror').length > 0) return { error: doc.getElementsByTagName('parsererror')[0].textContent };
  const root = doc.documentElement;
  const plot = root.querySelector('svg');
  const attrs = (el) => Object.fromEntries([...el.attributes].map((a) => [a.name, a.value]));
  const img = new Image();
  img.src = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(svg)));
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200) inked++;
  return {
    size: [img.width, img.height],
    inked: inked / (canvas.width * canvas.height),
    paths: plot ? [...plot.querySelectorAll('path')].map(attrs) : [],
    circles: plot ? plot.querySelectorAll('circle').length : 0,
    cells: plot ? [...plot.querySelectorAll('rect')].filter((r) => r.querySelector('title')).map((r) => ({ ...attrs(r), title: r.querySelector('title').textContent })) : [],
    images: root.querySelectorAll('image').length,
    texts: [...root.querySelectorAll('text')].map((t) => ({ text: t.textContent, ...attrs(t) })),
  };
}
(async () => {
  const out = {};
  for (const [name, svg] of Object.entries(SVGS)) {
    try { out[name] = await measure(svg); } catch (e) { out[name] = { error: String(e) }; }
  }
  document.getElementById('out').textContent = JSON.stringify(out);
})();`;

test('in Chromium: every SVG is well-formed XML, draws ink, and holds the marks its data asks for', { skip, timeout: 120_000 }, (t) => {
  const svgs = Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, figureSvg(f)]));
  const page = `<!DOCTYPE html><html><body><pre id="out">pending</pre><script>const SVGS = ${JSON.stringify(svgs).replace(/</g, '\\u003c')};${MEASURE}</script></body></html>`;
  const dom = inChromium(t, page);
  const m = /<pre id="out">([\s\S]*?)<\/pre>/.exec(dom);
  assert.ok(m, 'the page wrote its measurements');
  const decoded = m[1]
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
  assert.notEqual(decoded, 'pending', 'the measuring script finished');
  const r = JSON.parse(decoded);
  for (const [name, got] of Object.entries(r)) {
    assert.equal(got.error, undefined, `${name}: ${got.error}`);
    assert.ok(got.inked > 0.002, `${name}: the picture is not blank (${got.inked})`);
  }
  const texts = (name) => r[name].texts.map((x) => x.text);

  // Training curves: one path per trace, the training ones thin and dashed, the test ones bold and solid.
  const curves = r.curves;
  assert.deepEqual(curves.size, [640, 400]);
  assert.equal(curves.paths.length, 4);
  assert.deepEqual(
    curves.paths.map((p) => p['stroke-dasharray'] !== undefined),
    [true, false, true, false],
  );
  assert.deepEqual(
    curves.paths.map((p) => Number(p['stroke-width'])),
    [1, 3, 1, 3],
  );
  assert.equal(curves.paths[0].stroke, curves.paths[1].stroke, 'one colour per model');
  assert.notEqual(curves.paths[0].stroke, curves.paths[2].stroke);
  assert.equal((curves.paths[0].d.match(/[ML]/g) ?? []).length, 10, 'ten epochs, ten points');
  for (const s of ['Plain <vs> residual', 'epochs', 'error (%)', 'plain-20 train', 'resnet-20 test'])
    assert.ok(texts('curves').includes(s), `"${s}" is written`);

  // A given y range: ticks inside it, lines clipped to it.
  assert.ok(texts('ranged').includes('20') && texts('ranged').includes('0'));
  assert.ok(!texts('ranged').includes('25'), 'no tick beyond the given range');

  // Grouped bars: 2 series × 4 labels, heights proportional to values, one baseline.
  const bar = r.bars.cells;
  assert.equal(bar.length, 8);
  const values = [8.75, 9.5, 10.25, 11, 8.75, 7.5, 7.25, 7];
  const perUnit = bar.map((b, i) => Number(b.height) / values[i]);
  for (const k of perUnit) assert.ok(Math.abs(k - perUnit[0]) < 0.05, `bar heights proportional to values (${perUnit})`);
  const baselines = new Set(bar.map((b) => Math.round(Number(b.y) + Number(b.height))));
  assert.equal(baselines.size, 1, 'all bars stand on zero');
  assert.ok(Number(bar[0].x) < Number(bar[4].x) && Number(bar[4].x) < Number(bar[1].x), 'series side by side within a group');
  for (const s of ['Test error by depth', 'layers', 'error (%)', 'plain', 'resnet', '20', '56'])
    assert.ok(texts('bars').includes(s), `"${s}" is written`);

  // Horizontal bars: widths proportional to values.
  const hb = r.hbars.cells;
  assert.equal(hb.length, 3);
  assert.ok(
    Math.abs(Number(hb[1].width) / Number(hb[0].width) - 2) < 0.02 && Math.abs(Number(hb[2].width) / Number(hb[0].width) - 4) < 0.02,
  );
  assert.ok(texts('hbars').includes('accuracy'));

  // Confusion heatmap: n × n cells, every label on both axes, the counts written in.
  const heat = r.heat;
  assert.equal(heat.cells.length, 100);
  for (const c of CLASSES) assert.equal(texts('heat').filter((s) => s === c).length, 2, `${c} labels a row and a column`);
  assert.ok(texts('heat').includes('predicted') && texts('heat').includes('true') && texts('heat').includes('Confusion'));
  assert.equal(texts('heat').filter((s) => s === '59').length, 1, 'the diagonal count of the last class is written once');
  const fills = new Set(heat.cells.map((c) => c.fill));
  assert.ok(fills.size >= 8, 'cells coloured by value');
  const top = heat.cells.find((c) => c.title === 'airplane, airplane: 50');
  const bottom = heat.cells.find((c) => c.title === 'truck, truck: 59');
  assert.ok(Number(top.y) < Number(bottom.y) && Number(top.x) < Number(bottom.x), 'row 0 at the top, column 0 at the left');

  // Log y: ticks at powers of ten only, and the lines and markers drawn.
  const yTicks = r.logy.texts.filter((x) => x['text-anchor'] === 'end' && x['dominant-baseline'] === 'central').map((x) => x.text);
  assert.deepEqual(yTicks, ['0.001', '0.01', '0.1', '1']);
  assert.equal(r.logy.paths.length, 2);
  assert.ok(r.logy.paths[1]['stroke-dasharray']);
  assert.equal(r.logy.circles, 5);

  assert.ok(texts('pie').includes('(chart type pie has no static preview)'));
  assert.equal(r.grid.images, 1);
  assert.ok(texts('grid').includes('airplane') && texts('grid').includes('automobile'));
});

test(
  'in Chromium: the HTML output shows the SVG without plotly.js, and plotly.js replaces it when present',
  { skip, timeout: 120_000 },
  (t) => {
    const fig = figures.bars;
    const staticOnly = inChromium(t, `<!DOCTYPE html><html><body>${figureHtml(fig, false)}</body></html>`);
    assert.match(
      staticOnly,
      /<div id="residual-plot-[0-9a-f]+-\d+" class="residual-plot"><div class="residual-static"><img class="residual-static-img"/,
      'the static picture without plotly.js',
    );
    assert.match(staticOnly, /<p class="residual-plot-note"[ >]/, 'a note says how to get the interactive figure');
    const drawn = inChromium(t, `<!DOCTYPE html><html><body>${figureHtml(fig, true)}</body></html>`);
    assert.ok(drawn.includes('class="main-svg"'), 'plotly.js drew');
    assert.ok(!drawn.includes('<div class="residual-static">'), 'the static picture is gone, not left beside the plot');
    assert.ok(!drawn.includes('<p class="residual-plot-note"'), 'no note when plotly.js drew');
  },
);
