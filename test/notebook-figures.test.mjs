// Every committed figure shows where readers open the course without running it: the classic
// Notebook (Debian's jupyter-notebook) serving notebooks/ for real, each chapter opened untrusted in
// headless Chromium. A probe (the Notebook's custom.js, from a temporary config folder) measures every
// image in the outputs once the notebook is loaded and writes a report into the page, which Chromium
// dumps. Untrusted HTML is sanitized: an inline <svg> would be reduced to its text (words where the
// plot should be); the static picture must travel as an image.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findJupyterPython } from '../scripts/jupyter.mjs';
import { CHROMIUM, chromiumDom, serverListening } from './helpers.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const notebooks = join(root, 'notebooks');
const python = findJupyterPython(['notebook']);
const skip =
  python === undefined ? 'the classic Jupyter Notebook is not installed' : CHROMIUM === undefined ? 'Chromium is not installed' : false;

const PROBE = `(function () {
  function report() {
    var rows = [];
    document.querySelectorAll('.output_area').forEach(function (area) {
      area.querySelectorAll('img').forEach(function (img) {
        var r = img.getBoundingClientRect();
        rows.push({ kind: 'img', cls: img.className, w: r.width, h: r.height, natural: img.naturalWidth, complete: img.complete });
      });
      area.querySelectorAll('.residual-plot').forEach(function (div) { rows.push({ kind: 'plot', text: div.textContent.trim() }); });
    });
    var pre = document.createElement('pre');
    pre.id = 'residual-report';
    pre.textContent = JSON.stringify({ trusted: IPython.notebook.trusted, cells: IPython.notebook.get_cells().length, rows: rows });
    document.body.appendChild(pre);
  }
  var timer = setInterval(function () {
    if (window.IPython && IPython.notebook && IPython.notebook._fully_loaded) { clearInterval(timer); setTimeout(report, 1000); }
  }, 100);
})();
`;

let server;
let port;
const token = `t${Math.random().toString(36).slice(2)}`;
const scratch = mkdtempSync(join(tmpdir(), 'residual-figures-'));

before(async () => {
  if (skip) return;
  mkdirSync(join(scratch, 'config', 'custom'), { recursive: true });
  writeFileSync(join(scratch, 'config', 'custom', 'custom.js'), PROBE);
  mkdirSync(join(scratch, 'data')); // no trust database: every notebook is untrusted, as one someone else ran
  port = 20000 + Math.floor(Math.random() * 20000);
  const asRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];
  server = spawn(
    python,
    [
      '-m',
      'notebook',
      '--no-browser',
      `--port=${port}`,
      '--ip=127.0.0.1',
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${notebooks}`,
      ...asRoot,
    ],
    {
      env: { ...process.env, JUPYTER_CONFIG_DIR: join(scratch, 'config'), JUPYTER_DATA_DIR: join(scratch, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await serverListening(server, `127.0.0.1:${port}`, 'the Notebook');
});

after(() => {
  server?.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
});

/** The figures a committed notebook holds: outputs whose HTML carries a plot's static picture. */
function committedFigures(file) {
  const nb = JSON.parse(readFileSync(file, 'utf8'));
  const text = (v) => (Array.isArray(v) ? v.join('') : String(v ?? ''));
  return nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => text(o.data?.['text/html']).includes('class="residual-plot"')).length;
}

for (const name of readdirSync(notebooks)
  .filter((f) => f.endsWith('.ipynb'))
  .sort()) {
  test(`${name}: every figure is an image with a size, untrusted, in the classic Notebook`, { skip, timeout: 120_000 }, () => {
    const expected = committedFigures(join(notebooks, name));
    const dom = chromiumDom(`http://127.0.0.1:${port}/notebooks/${encodeURIComponent(name)}?token=${token}`, {
      profile: join(scratch, `chromium-${name}`),
      budgetMs: 30_000,
      timeout: 100_000,
    });
    const m = /<pre id="residual-report">(.*?)<\/pre>/s.exec(dom);
    assert.ok(m, 'the probe reported (the notebook loaded)');
    const report = JSON.parse(
      m[1]
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&'),
    );
    assert.equal(report.trusted, false, 'opened untrusted, as a notebook someone else ran');
    assert.ok(report.cells > 0);
    const statics = report.rows.filter((row) => row.kind === 'img' && row.cls === 'residual-static-img');
    assert.equal(statics.length, expected, `${expected} figures committed, ${statics.length} shown as images`);
    for (const img of report.rows.filter((row) => row.kind === 'img')) {
      assert.ok(img.complete && img.natural > 0 && img.w > 0 && img.h > 0, `an image that does not show: ${JSON.stringify(img)}`);
    }
    for (const plot of report.rows.filter((row) => row.kind === 'plot')) {
      assert.equal(plot.text, '', 'a plot shows words (an SVG reduced to its text) instead of a picture');
    }
  });
}
