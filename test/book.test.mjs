// The notebook pipeline end to end with real components: a fixture notebook that imports the
// library by its package name is executed by the notebook script through Jupyter's client and
// the tslab kernel, exported by the book script, and opened in headless Chromium, where every
// plot must have drawn its SVG. Skipped (with the reason) only without Jupyter or Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJupyterPython } from '../scripts/jupyter.mjs';
import { CHROMIUM, chromiumDom } from './helpers.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));
const python = findJupyterPython(['nbclient', 'nbformat', 'nbconvert', 'jupyter_client']);
const skip =
  python === undefined ? 'Jupyter (nbclient, nbconvert) not installed' : CHROMIUM === undefined ? 'Chromium not installed' : false;

const KERNEL = 'residual-test-tslab';

const code = (source) => ({ cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source });
const markdown = (source) => ({ cell_type: 'markdown', metadata: {}, source });
const notebook = (cells) => ({ cells: cells.map((c, i) => ({ id: `cell-${i}`, ...c })), metadata: {}, nbformat: 4, nbformat_minor: 5 });

/** A temp dir that resolves `residual-learning` (this checkout) and `nodejs-polars`, and a kernelspec of this checkout's tslab. */
function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'residual-book-'));
  mkdirSync(join(dir, 'notebooks', 'node_modules'), { recursive: true });
  symlinkSync(root, join(dir, 'notebooks', 'node_modules', 'residual-learning'));
  symlinkSync(
    dirname(realpathSync(require.resolve('nodejs-polars/package.json'))),
    join(dir, 'notebooks', 'node_modules', 'nodejs-polars'),
  );
  const spec = join(dir, 'jupyter', 'kernels', KERNEL);
  mkdirSync(spec, { recursive: true });
  const tslab = join(dirname(require.resolve('tslab/package.json')), 'bin', 'tslab');
  writeFileSync(
    join(spec, 'kernel.json'),
    JSON.stringify({
      argv: [process.execPath, tslab, 'kernel', '--config-path', '{connection_file}'],
      display_name: 'TypeScript (test)',
      language: 'typescript',
    }),
  );
  const env = { ...process.env, JUPYTER_PATH: join(dir, 'jupyter'), RESIDUAL_QUICK: '1' };
  return { dir, env };
}

function runScript(script, args, env) {
  return spawnSync(process.execPath, [join(root, 'scripts', script), ...args], { env, encoding: 'utf8', timeout: 120_000 });
}

test(
  'a notebook runs through Jupyter and tslab, exports to offline HTML, and its plots draw in Chromium',
  { skip, timeout: 180_000 },
  (t) => {
    const { dir, env } = workspace();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const nbDir = join(dir, 'notebooks');
    const file = join(nbDir, '01-fixture.ipynb');
    writeFileSync(
      file,
      JSON.stringify(
        notebook([
          markdown('# Fixture chapter\n\nThe residual is $b - f(x_0)$.'),
          code(
            "import { show, trainingCurves, showTable } from 'residual-learning';\nimport pl from 'nodejs-polars';\nconsole.log(`quick=${process.env.RESIDUAL_QUICK}`);",
          ),
          code(
            "show(trainingCurves([\n  { model: 'plain-20', epoch: 1, train_err: 0.5, test_err: 0.55 },\n  { model: 'plain-20', epoch: 2, train_err: 0.4, test_err: 0.47 },\n]));",
          ),
          code("showTable(pl.DataFrame({ model: ['plain-20', 'resnet-20'], test_err: [0.47, 0.41] }));"),
          code(
            "import { liveFigure } from 'residual-learning';\nconst live = liveFigure();\nconst rows = [];\nfor (let epoch = 1; epoch <= 3; epoch++) {\n  rows.push({ model: 'resnet-20', epoch, train_err: 0.5 / epoch, test_err: 0.6 / epoch });\n  live.update(trainingCurves(rows));\n}",
          ),
        ]),
      ),
    );

    const run = runScript('notebooks.mjs', ['--dir', nbDir, '--kernel', KERNEL], env);
    assert.equal(run.status, 0, `notebooks.mjs failed:\n${run.stdout}\n${run.stderr}`);
    const executedText = readFileSync(file, 'utf8');
    const executed = JSON.parse(executedText);
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    const text = (v) => (Array.isArray(v) ? v.join('') : String(v));
    assert.ok(
      outputs.some((o) => o.output_type === 'stream' && text(o.text).includes('quick=1')),
      'RESIDUAL_QUICK reaches the kernel',
    );
    const plots = outputs.filter((o) => o.data?.['application/vnd.plotly.v1+json'] !== undefined);
    assert.equal(plots.length, 2, 'one shown figure and one live figure (updated in place, stored once)');
    const [plot, live] = plots;
    assert.deepEqual(live.data['application/vnd.plotly.v1+json'].data[1].x, [1, 2, 3], 'the live figure holds its last update');
    assert.equal(plot.data['application/vnd.plotly.v1+json'].data.length, 2);
    assert.match(text(plot.data['text/html']), /Plotly\.newPlot/);
    assert.ok(!text(plot.data['text/html']).includes('data-residual-plotly'), 'plotly.js is not stored in the notebook');
    assert.match(text(plot.data['text/plain']), /2 traces/);
    const table = outputs.find((o) => text(o.data?.['text/html'] ?? '').includes('residual-table'));
    assert.ok(table, 'the table output is an HTML table');
    assert.match(text(table.data['text/plain']), /resnet-20/);

    const again = runScript('notebooks.mjs', ['--dir', nbDir, '--kernel', KERNEL], env);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(file, 'utf8'), executedText, 'running an unchanged notebook again leaves its file unchanged');

    const out = join(dir, 'book');
    const book = runScript('book.mjs', ['--dir', nbDir, '--out', out], env);
    assert.equal(book.status, 0, `book.mjs failed:\n${book.stdout}\n${book.stderr}`);
    const page = join(out, '01-fixture.html');
    const html = readFileSync(page, 'utf8');
    assert.ok(!/<script[^>]*src="(https?:)?\/\//i.test(html), 'no script from the network');
    for (const src of html.matchAll(/<script[^>]*src="([^"?]+)/g)) assert.ok(existsSync(join(out, src[1])), `${src[1]} is in the book`);
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /<a href="01-fixture.html">Fixture chapter<\/a>/);
    assert.match(html, /<title>Fixture chapter<\/title>/);

    assert.match(
      text(plot.data['image/svg+xml']),
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
      'a static SVG is stored beside the plotly JSON',
    );
    const svgUri = `src="data:image/svg+xml;base64,${Buffer.from(text(plot.data['image/svg+xml'])).toString('base64')}"`;
    assert.ok(text(plot.data['text/html']).includes(svgUri), 'and inside the HTML output, as an image');

    const profile = mkdtempSync(join(tmpdir(), 'residual-chromium-'));
    t.after(() => rmSync(profile, { recursive: true, force: true }));
    const dumpDom = (file) => chromiumDom(`file://${file}`, { profile });

    // Without plotly.js (as where scripts do not run, or plotly.js is missing): every plot still shows its static SVG.
    const noPlotly = join(out, '01-fixture-no-plotly.html');
    const stripped = html.replace(/<script[^>]*src="assets\/plotly-[^"]*"[^>]*><\/script>/g, '');
    assert.notEqual(stripped, html, "the page's plotly.js script was found and removed");
    writeFileSync(noPlotly, stripped);
    const bare = dumpDom(noPlotly);
    const bareStarts = [...bare.matchAll(/<div id="residual-plot-/g)].map((m) => m.index);
    assert.equal(bareStarts.length, 2, 'two plot containers without plotly.js');
    bareStarts.forEach((start, i) => {
      const container = bare.slice(start, bareStarts[i + 1] ?? bare.length);
      const img =
        /^<div id="residual-plot-[0-9a-f]+-\d+" class="residual-plot"><div class="residual-static"><img [^>]*src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/.exec(
          container,
        );
      assert.ok(img, `plot ${i + 1} shows its static SVG as an image`);
      assert.match(
        Buffer.from(img[1], 'base64').toString('utf8'),
        /<path d="M[^"]+" fill="none" stroke="#[0-9A-Fa-f]{6}" stroke-width="1"[^>]*stroke-dasharray=/,
        `plot ${i + 1} has its dashed training curve`,
      );
    });

    const dom = dumpDom(page);
    assert.ok(!dom.includes('<div class="residual-static">'), 'plotly.js replaced the static pictures');
    const drawn = dom.match(/<div id="residual-plot-[0-9a-f]+-\d+" class="[^"]*"/g) ?? [];
    assert.equal(drawn.length, 2, 'two plot containers');
    const starts = [...dom.matchAll(/<div id="residual-plot-/g)].map((m) => m.index);
    starts.forEach((start, i) => {
      assert.match(drawn[i], /js-plotly-plot/, 'plotly drew into the container');
      assert.match(dom.slice(start, starts[i + 1] ?? dom.length), /class="main-svg"/, `plot ${i + 1} has its SVG`);
    });
    assert.match(dom, /<th>test_err<\/th>/);
    assert.doesNotMatch(dom, /class="residual-plot[^"]*">plotly\.js is not loaded/, 'plotly.js was available to the page');
    if (existsSync(join(out, 'assets', 'mathjax', 'MathJax.js'))) assert.match(dom, /class="mjx-chtml/, 'MathJax typeset the math offline');
  },
);

test('a failing cell fails the run, naming the notebook and the cell, and leaves the file as it was', { skip, timeout: 120_000 }, (t) => {
  const { dir, env } = workspace();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nbDir = join(dir, 'notebooks');
  const file = join(nbDir, '02-broken.ipynb');
  const source = JSON.stringify(notebook([code('const ok = 1;'), markdown('text'), code("throw new Error('boom ' + 6 * 7);")]));
  writeFileSync(file, source);
  writeFileSync(join(nbDir, '01-fine.ipynb'), JSON.stringify(notebook([code('console.log(1 + 1);')])));
  const run = runScript('notebooks.mjs', ['--dir', nbDir, '--kernel', KERNEL, '02-broken'], env);
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /02-broken\.ipynb: cell 3 \(code cell 2\) failed/);
  assert.match(run.stderr, /Error: boom 42/, 'the error message, not only the source');
  assert.equal(readFileSync(file, 'utf8'), source);
  assert.doesNotMatch(run.stdout, /01-fine/, 'only the named notebook ran');
});
