// Figure specs and display bundles of lib/notebook/plots and lib/notebook/display, outside any kernel (and with a
// stand-in for tslab's writer to check what a kernel would be sent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import pl from 'nodejs-polars';
import {
  trainingCurves,
  bars,
  lines,
  heatmap,
  imageGrid,
  figureBundle,
  tableBundle,
  displayBundle,
  newLiveDisplay,
  insideTslab,
  encodePng,
  PLOTLY_MIME,
  UsageError,
} from '../dist/index.js';

const log = [
  { model: 'plain-20', epoch: 1, train_err: 0.6, test_err: 0.62 },
  { model: 'plain-20', epoch: 2, train_err: 0.4, test_err: 0.45 },
  { model: 'resnet-20', epoch: 2, train_err: 0.3, test_err: 0.35 },
  { model: 'resnet-20', epoch: 1, train_err: 0.5, test_err: 0.52 },
];

test('trainingCurves: thin dashed training error, bold test error, one colour per model, in percent', () => {
  const fig = trainingCurves(log, { title: 'CIFAR-10' });
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['plain-20 train', 'plain-20 test', 'resnet-20 train', 'resnet-20 test'],
  );
  const [plainTrain, plainTest, resTrain, resTest] = fig.data;
  assert.equal(plainTrain.line.dash, 'dash');
  assert.equal(plainTest.line.dash, 'solid');
  assert.ok(plainTest.line.width > plainTrain.line.width, 'test error drawn bolder than training error');
  assert.equal(plainTrain.line.color, plainTest.line.color);
  assert.notEqual(plainTrain.line.color, resTrain.line.color);
  assert.deepEqual(resTest.x, [1, 2], 'points sorted by epoch');
  assert.deepEqual(
    resTest.y.map((v) => Math.round(v)),
    [52, 35],
    'fractions drawn as percent',
  );
  assert.equal(fig.layout.xaxis.title.text, 'epochs');
  assert.equal(fig.layout.yaxis.title.text, 'error (%)');
  assert.equal(fig.layout.title.text, 'CIFAR-10');
});

test('trainingCurves: iterations on x when every row has one; percentages kept', () => {
  const rows = [
    { model: 'a', iteration: 100, train_err: 40, test_err: 45 },
    { model: 'a', iteration: 200, train_err: 20, test_err: null },
  ];
  const fig = trainingCurves(rows, { errors: 'percent', yRange: [0, 20] });
  assert.equal(fig.layout.xaxis.title.text, 'iterations');
  assert.deepEqual(fig.data[0].y, [40, 20]);
  assert.deepEqual(fig.data[1].x, [100], 'missing test errors are left out');
  assert.deepEqual(fig.layout.yaxis.range, [0, 20]);
  assert.throws(() => trainingCurves([]), UsageError);
  const fromFrame = trainingCurves(pl.DataFrame(rows.map((r) => ({ ...r, test_err: r.test_err ?? null }))), { errors: 'percent' });
  assert.deepEqual(fromFrame.data, fig.data, 'a polars DataFrame gives the same figure as its rows');
  assert.throws(() => trainingCurves(pl.DataFrame({ model: [1], epoch: [1] })), /model must be a string/);
  assert.throws(() => trainingCurves([{ model: 'a', train_err: 1 }]), /epoch must be a number/);
});

test('heatmap: z is the confusion matrix, labels on both axes, counts written in', () => {
  const labels = ['cat', 'dog', 'ship'];
  const matrix = [
    [5, 1, 0],
    [2, 7, 1],
    [0, 0, 9],
  ];
  const fig = heatmap(matrix, labels, { title: 'confusion' });
  assert.equal(fig.data.length, 1);
  assert.equal(fig.data[0].type, 'heatmap');
  assert.deepEqual(fig.data[0].z, matrix);
  assert.deepEqual(fig.data[0].x, labels);
  assert.deepEqual(fig.data[0].y, labels);
  assert.equal(fig.layout.yaxis.autorange, 'reversed', 'row 0 at the top');
  assert.equal(fig.layout.annotations.length, 9);
  assert.equal(fig.layout.annotations.find((a) => a.x === 'dog' && a.y === 'dog').text, '7');
  assert.throws(() => heatmap([[1, 2]], labels), UsageError);
  const text = figureBundle(fig)['text/plain'];
  assert.match(text, /dog +2 +7 +1/, 'the matrix is readable as text');
});

function decodePng(bytes) {
  const buf = Buffer.from(bytes);
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('ascii', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  return { width, height, rgb };
}

test('imageGrid: a grid of n 32×32 images with labels, shape and pixels as given', () => {
  const n = 7;
  const images = new Uint8Array(n * 32 * 32 * 3);
  for (let k = 0; k < n; k++) images.fill(10 * (k + 1), k * 3072, (k + 1) * 3072);
  images.set([1, 2, 3], 0); // top-left pixel of image 0
  const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  const fig = imageGrid(images, [0, 1, 2, 3, 4, 5, 'mystery'], { columns: 3, classNames: classes, scale: 2 });
  const meta = fig.data[0].meta;
  assert.deepEqual({ images: meta.images, columns: meta.columns, rows: meta.rows }, { images: 7, columns: 3, rows: 3 });
  const png = decodePng(Buffer.from(fig.data[0].source.replace(/^data:image\/png;base64,/, ''), 'base64'));
  assert.equal(png.width, meta.width);
  assert.equal(png.height, meta.height);
  // Tiles of 32 px, 2 px gaps, a 12 px label band under each row of tiles.
  assert.equal(png.width, 3 * 34 + 2);
  assert.equal(png.height, 3 * 46 + 2);
  const at = (x, y) => [...png.rgb.subarray((y * png.width + x) * 3, (y * png.width + x) * 3 + 3)];
  assert.deepEqual(at(2, 2), [1, 2, 3]);
  assert.deepEqual(at(2 + 34 + 5, 2 + 5), [20, 20, 20], 'image 1 in column 1');
  assert.deepEqual(at(2 + 5, 2 + 46 + 5), [40, 40, 40], 'image 3 starts row 1');
  assert.deepEqual(at(0, 0), [255, 255, 255], 'white gaps');
  assert.deepEqual(
    fig.layout.annotations.map((a) => a.text),
    ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'mystery'],
  );
  assert.equal(fig.layout.width, png.width * 2 + 20);
  const bundle = figureBundle(fig);
  assert.match(bundle['text/plain'], /labels: airplane, automobile, bird, cat, deer, dog, mystery/);
  assert.equal(bundle['image/png'], fig.data[0].source.replace(/^data:image\/png;base64,/, ''), 'the PNG travels as a static fallback');
  assert.throws(() => imageGrid(new Uint8Array(100), ['x']), UsageError);
  assert.throws(() => imageGrid(images, ['too few']), /7 images but 1 labels/);
});

test('encodePng rejects a buffer of the wrong size', () => {
  assert.throws(() => encodePng(new Uint8Array(5), 2, 1), RangeError);
});

test('bars and lines: one trace per series, values as given', () => {
  const b = bars(['a', 'b'], { resnet: [1, 2], plain: [3, 4] }, { yTitle: 'error (%)' });
  assert.deepEqual(
    b.data.map((t) => [t.type, t.name, t.x, t.y]),
    [
      ['bar', 'resnet', ['a', 'b'], [1, 2]],
      ['bar', 'plain', ['a', 'b'], [3, 4]],
    ],
  );
  assert.throws(() => bars(['a'], [1, 2]), UsageError);
  const l = lines([{ name: 'loss', y: [3, 2, 1], dash: 'dot' }], { logY: true });
  assert.deepEqual(l.data[0].x, [0, 1, 2]);
  assert.equal(l.data[0].line.dash, 'dot');
  assert.equal(l.layout.yaxis.type, 'log');
});

test('figureBundle: plotly JSON, HTML drawing it (plotly.js embedded once) and text', () => {
  const fig = trainingCurves(log);
  const first = figureBundle(fig, { includePlotly: true });
  assert.deepEqual(Object.keys(first).sort(), [PLOTLY_MIME, 'text/html', 'image/svg+xml', 'text/plain'].sort());
  assert.deepEqual(first[PLOTLY_MIME], { data: fig.data, layout: fig.layout });
  assert.match(first['text/html'], /data-residual-plotly="\d+\.\d+\.\d+"/);
  assert.match(first['text/html'], /Plotly\.newPlot/);
  assert.ok(first['text/html'].length > 1_000_000, 'plotly.js is inline');
  assert.ok(!/<script[^>]*src=/.test(first['text/html']), 'no script loaded from elsewhere');
  const second = figureBundle(fig);
  assert.ok(!second['text/html'].includes('data-residual-plotly'), 'embedded once per process');
  assert.ok(second['text/html'].length < 20_000);
  assert.match(first['text/plain'], /4 traces/);
  assert.match(figureBundle(fig, { includePlotly: true })['text/html'], /data-residual-plotly/);
});

test('tableBundle: a polars DataFrame as an escaped HTML table, long tables cut to head and tail', () => {
  const df = pl.DataFrame({ model: ['<resnet>', 'plain'], error: [0.0812345, 0.1] });
  const bundle = tableBundle(df, { caption: 'errors' });
  assert.match(bundle['text/html'], /<th>model<\/th><th>error<\/th>/);
  assert.match(bundle['text/html'], /&lt;resnet&gt;/);
  assert.match(bundle['text/html'], /<td>0\.08123<\/td>/);
  assert.match(bundle['text/plain'], /shape: \(2, 2\)/);
  const long = pl.DataFrame({ i: Array.from({ length: 50 }, (_, i) => i) });
  const html = tableBundle(long, { maxRows: 6 })['text/html'];
  assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 3 + 1 + 3);
  assert.match(html, /<td>49<\/td>/);
  assert.match(html, /50 rows × 1 columns/);
});

test('outside tslab: displays print their text', (t) => {
  assert.equal(insideTslab(), false);
  const printed = [];
  t.mock.method(console, 'log', (s) => printed.push(s));
  displayBundle({ 'text/html': '<b>x</b>', 'text/plain': 'x' });
  displayBundle({ 'image/png': new Uint8Array([1]) });
  newLiveDisplay().update({ 'text/plain': 'epoch 1' });
  assert.deepEqual(printed, ['x', '<display: image/png>', 'epoch 1']);
});

test("inside tslab: one message per bundle to the kernel's writer, live displays updated by id", () => {
  const require = createRequire(import.meta.url);
  const sent = [];
  const filename = '/somewhere/node_modules/tslab/dist/jupyter.js';
  require.cache[filename] = {
    id: filename,
    filename,
    loaded: true,
    exports: { lastWriteDisplayData: (data, update) => sent.push({ data, update }) },
  };
  try {
    assert.equal(insideTslab(), true);
    displayBundle({ 'text/plain': 'p', 'text/html': '<i>p</i>', 'image/png': new Uint8Array([255, 0]) });
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].data.data, {
      'text/plain': 'p',
      'text/html': '<i>p</i>',
      'image/png': Buffer.from([255, 0]).toString('base64'),
    });
    assert.equal(sent[0].update, false);
    assert.equal(sent[0].data.transient.display_id, undefined);
    const live = newLiveDisplay();
    live.update({ 'text/plain': '1' });
    live.update({ 'text/plain': '2' });
    assert.deepEqual(
      sent.slice(1).map((m) => [m.update, m.data.transient.display_id, m.data.data['text/plain']]),
      [
        [false, live.id, '1'],
        [true, live.id, '2'],
      ],
    );
  } finally {
    delete require.cache[filename];
  }
});

test('trainingCurves over seeds: the mean curve and a band from the least to the greatest run', async () => {
  const { figureSvg } = await import('../dist/index.js');
  const seeds = [0.5, 0.4, 0.3].flatMap((e1, seed) => [
    { model: 'plain-56', seed, epoch: 1, train_err: e1, test_err: e1 + 0.05 },
    { model: 'plain-56', seed, epoch: 2, train_err: e1 - 0.2, test_err: e1 - 0.1 },
  ]);
  const fig = trainingCurves(seeds, { curves: 'train' });
  assert.equal(fig.data.length, 2, 'a band and a mean, training error only');
  const [band, mean] = fig.data;
  assert.equal(band.fill, 'toself');
  assert.equal(band.showlegend, false);
  assert.deepEqual(band.x, [1, 2, 2, 1]);
  assert.deepEqual(
    band.y.map((v) => Math.round(v)),
    [50, 30, 10, 30],
    'greatest runs forward, least back',
  );
  assert.equal(mean.name, 'plain-56 train (mean of 3)');
  assert.deepEqual(
    mean.y.map((v) => Math.round(v)),
    [40, 20],
  );
  assert.match(figureSvg(fig), /<path d="M[^"]+Z" fill="rgba\(0, 114, 178, 0\.18\)" stroke="none"\/>/, 'the SVG draws the band');
  // One run per x: no band, as before.
  assert.ok(trainingCurves(log).data.every((t) => t.fill === undefined));
});
