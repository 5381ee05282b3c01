#!/usr/bin/env node
// `npm run book`: export the executed notebooks to static HTML in book/ that reads offline:
// nbconvert's HTML (lab template), plotly.js, require.js and MathJax copied into book/assets/
// and referenced relatively (no CDN), a navigation bar on each chapter and an index.html.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findJupyterPython, jupyterInstallHelp } from './jupyter.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));

/** Where a MathJax 2 lives on this machine (Debian's libjs-mathjax), or undefined. */
function findMathJax() {
  const candidates = [process.env.RESIDUAL_MATHJAX, '/usr/share/javascript/mathjax', '/usr/share/nodejs/mathjax'];
  return candidates.find((d) => d !== undefined && d !== '' && existsSync(join(d, 'MathJax.js')));
}

/** The parts of MathJax 2 that `TeX-AMS_CHTML-full,Safe` loads (about 1.5 MB of 54). */
const MATHJAX_PARTS = [
  'MathJax.js',
  'config/TeX-AMS_CHTML-full.js',
  'config/Safe.js',
  'extensions',
  'jax/input/TeX',
  'jax/element',
  'jax/output/CommonHTML',
  'fonts/HTML-CSS/TeX/woff',
  'localization/en',
];

/** Copies the scripts the pages load into `assets`; returns what was found. */
function copyAssets(assets) {
  mkdirSync(assets, { recursive: true });
  const plotlyVersion = JSON.parse(readFileSync(require.resolve('plotly.js-dist/package.json'), 'utf8')).version;
  const plotly = `plotly-${plotlyVersion}.js`;
  cpSync(require.resolve('plotly.js-dist'), join(assets, plotly));
  let requirejs;
  for (const f of ['/usr/share/javascript/requirejs/require.min.js', '/usr/share/javascript/requirejs/require.js']) {
    if (existsSync(f)) {
      requirejs = 'require.min.js';
      cpSync(f, join(assets, requirejs), { dereference: true });
      break;
    }
  }
  const mathjaxDir = findMathJax();
  if (mathjaxDir !== undefined) {
    for (const part of MATHJAX_PARTS) {
      if (existsSync(join(mathjaxDir, part)))
        cpSync(join(mathjaxDir, part), join(assets, 'mathjax', part), { recursive: true, dereference: true });
    }
  }
  return { plotly, requirejs, mathjax: mathjaxDir !== undefined };
}

/** A notebook's title: its first Markdown heading, else its file name. */
function notebookTitle(file) {
  const nb = JSON.parse(readFileSync(file, 'utf8'));
  for (const cell of nb.cells ?? []) {
    if (cell.cell_type !== 'markdown') continue;
    const text = Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
    const m = /^#+\s+(.+)$/m.exec(text);
    if (m) return m[1].trim();
  }
  return basename(file, '.ipynb');
}

const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PLOTLY_SCRIPT = /<script type="text\/javascript" data-residual-plotly="[^"]*">[\s\S]*?<\/script>/g;

/** Rewrites one exported page: local scripts only, plotly.js in the head, a navigation bar. */
function finishPage(html, { assets, nav, title }) {
  html = html.replace(PLOTLY_SCRIPT, '');
  html = html.replace(/<title>[\s\S]*?<\/title>/i, `<title>${escape(title)}</title>`);
  const head = `<script type="text/javascript" src="assets/${assets.plotly}"></script>\n<style>.residual-nav{font-family:sans-serif;padding:.5em 1em;border-bottom:1px solid #ddd;display:flex;gap:1.5em}</style>\n`;
  html = html.replace(/<\/head>/i, `${head}</head>`);
  if (!assets.requirejs) html = html.replace(/<script src="assets\/require\.min\.js"><\/script>/g, '');
  if (!assets.mathjax) html = html.replace(/<script[^>]*src="assets\/mathjax\/[^"]*"[^>]*>\s*<\/script>/g, '');
  html = html.replace(/(<body[^>]*>)/i, `$1\n${nav}`);
  const remote = /<script[^>]*\ssrc="(https?:)?\/\/[^"]*"/i.exec(html);
  if (remote) throw new Error(`book: a page still loads a script from the network: ${remote[0]}`);
  return html;
}

/**
 * Exports every `*.ipynb` of `notebooksDir` (as they are, outputs included) to `outDir`, which
 * is replaced as a whole at the end. Returns the chapter file names.
 */
export function buildBook({ notebooksDir = join(root, 'notebooks'), outDir = join(root, 'book'), python } = {}) {
  const py = python ?? findJupyterPython(['nbconvert']);
  if (py === undefined) throw new Error(`book: nbconvert was not found.\n${jupyterInstallHelp()}`);
  const notebooks = existsSync(notebooksDir)
    ? readdirSync(notebooksDir)
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
    : [];
  if (notebooks.length === 0) throw new Error(`book: no notebooks in ${notebooksDir}`);
  const parent = dirname(resolve(outDir));
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, '.book-'));
  chmodSync(work, 0o755);
  try {
    const assets = copyAssets(join(work, 'assets'));
    const r = spawnSync(
      py,
      [
        '-m',
        'nbconvert',
        '--to',
        'html',
        '--output-dir',
        work,
        '--HTMLExporter.require_js_url=assets/require.min.js',
        '--HTMLExporter.mathjax_url=assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe',
        ...notebooks.map((f) => join(notebooksDir, f)),
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`book: nbconvert failed:\n${r.stderr}`);
    const chapters = notebooks.map((f) => ({ file: f.replace(/\.ipynb$/, '.html'), title: notebookTitle(join(notebooksDir, f)) }));
    chapters.forEach((ch, i) => {
      const link = (c, label) => (c ? `<a href="${c.file}">${label}: ${escape(c.title)}</a>` : '');
      const nav = `<nav class="residual-nav"><a href="index.html">Contents</a>${link(chapters[i - 1], '← Previous')}${link(chapters[i + 1], 'Next →')}</nav>`;
      const page = join(work, ch.file);
      writeFileSync(page, finishPage(readFileSync(page, 'utf8'), { assets, nav, title: ch.title }));
    });
    const items = chapters.map((c) => `<li><a href="${c.file}">${escape(c.title)}</a></li>`).join('\n');
    writeFileSync(
      join(work, 'index.html'),
      `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Deep residual learning, in TypeScript</title>\n<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}</style></head>\n<body><h1>Deep residual learning, in TypeScript</h1>\n<p>A course in notebooks on He, Zhang, Ren and Sun (2015), <em>Deep Residual Learning for Image Recognition</em>, with TensorFlow.js.</p>\n<ol>\n${items}\n</ol>\n</body></html>\n`,
    );
    rmSync(outDir, { recursive: true, force: true });
    renameSync(work, outDir);
    return chapters.map((c) => c.file);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, out: { type: 'string' } } });
  try {
    const files = buildBook({ notebooksDir: values.dir && resolve(values.dir), outDir: values.out && resolve(values.out) });
    console.log(
      `book: wrote ${files.length} chapter${files.length === 1 ? '' : 's'} and index.html to ${values.out ?? join(root, 'book')}`,
    );
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
