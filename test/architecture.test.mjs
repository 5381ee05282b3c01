// The layers of lib/ (architecture.md): a file imports only from its own layer or the layers below,
// and no files import each other, directly or round a longer loop.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LIB = fileURLToPath(new URL('../lib/', import.meta.url));
/** Bottom to top; a file's layer is its first folder under lib/ (files at the root: see ROOT). */
const LAYERS = ['util', 'backend', 'model', 'data', 'notebook', 'train', 'course', 'cli'];
const ROOT = { 'index.ts': LAYERS.length, 'cli.ts': LAYERS.length };

function sources(dir = LIB) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(LIB, join(dir, e.name))] : [],
  );
}

/** lib-relative paths of the files `file` imports (relative imports only). */
export function importsOf(file, text = readFileSync(join(LIB, file), 'utf8')) {
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return found.map((spec) => normalize(join(dirname(file), spec)).replace(/\.js$/, '') + '.ts');
}

function layerOf(file) {
  if (file in ROOT) return ROOT[file];
  const layer = LAYERS.indexOf(file.split('/')[0]);
  assert.ok(layer >= 0, `${file}: not in a layer folder (${LAYERS.join(', ')})`);
  return layer;
}

const files = sources();
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every file of lib/ sits in a layer folder, and lib/ has little at its root', () => {
  for (const f of files) layerOf(f);
  assert.deepEqual(files.filter((f) => !f.includes('/')).sort(), Object.keys(ROOT).sort());
});

test('no file imports from a higher layer', () => {
  const upward = [];
  for (const [f, deps] of graph) {
    for (const d of deps) {
      assert.ok(graph.has(d), `${f} imports ${d}, which does not exist`);
      if (layerOf(d) > layerOf(f)) upward.push(`${f} → ${d}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('no import loops', () => {
  const state = new Map(); // 1: on the path, 2: done
  const loops = [];
  const visit = (f, path) => {
    state.set(f, 1);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) loops.push([...path.slice(path.indexOf(d)), d].join(' → '));
      else if (!state.has(d)) visit(d, [...path, d]);
    }
    state.set(f, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(loops, []);
});

test('the checks catch what they look for', () => {
  assert.deepEqual(importsOf('model/x.ts', "import { a } from '../train/trainer';\nexport { b } from './y';"), [
    'train/trainer.ts',
    'model/y.ts',
  ]);
  assert.ok(layerOf('train/trainer.ts') > layerOf('model/x.ts'), 'model importing train would be flagged');
});

test('paths that the library finds from its own location point into the package', async () => {
  const { createRequire } = await import('node:module');
  const lib = createRequire(import.meta.url)('../dist/index.js');
  const root = fileURLToPath(new URL('..', import.meta.url));
  assert.equal(lib.RUNS_DIR, join(root, 'runs'));
  assert.equal(lib.CIFAR10_SAMPLE_DIR, join(root, 'data', 'cifar10-sample'));
  assert.equal(lib.resultsFile('x'), join(root, 'results', 'x.csv'));
});
