// The library through real Jupyter: nbconvert executes notebooks with the tslab kernel that
// `npm install` registered, over the real kernel protocol.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findJupyterPython, hasKernel } from '../scripts/jupyter.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const python = findJupyterPython(['nbconvert', 'nbclient']);
const kernelReady = python !== undefined && hasKernel(python);
// CI installs Jupyter and registers the kernel: there, a missing one is a failure, not a skip.
const skip = !kernelReady && !process.env.CI ? 'Jupyter with the tslab kernel is not installed (npm install registers it)' : false;

function notebook(cells) {
  return {
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { display_name: 'TypeScript (tslab)', language: 'typescript', name: 'tslab' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

function execute(dir, cells) {
  const file = join(dir, 'probe.ipynb');
  writeFileSync(file, JSON.stringify(notebook(cells)));
  const r = spawnSync(
    python,
    ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--inplace', '--ExecutePreprocessor.timeout=300', file],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, `nbconvert failed:\n${r.stderr}`);
  const nb = JSON.parse(readFileSync(file, 'utf8'));
  return nb.cells.map((c) => c.outputs.map((o) => (o.text ?? '') + JSON.stringify(o.data ?? {})).join(''));
}

const cells = [
  "import { resnetCifar, useBestBackend, ResNet, tf } from 'residual-learning';\nconst choice = await useBestBackend();",
  'const model = resnetCifar(20);\nconst y = model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor;\nconsole.log(`params ${model.countParams()} out ${y.shape} backend ${choice.name} tf ${tf.getBackend()}`);',
];

describe('notebooks in real Jupyter (tslab kernel)', { skip }, () => {
  const dirs = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('a notebook in notebooks/ imports the library by package name and runs it', () => {
    const dir = mkdtempSync(join(root, 'notebooks', '.probe-'));
    dirs.push(dir);
    const out = execute(dir, cells);
    assert.match(out[0], /using the (wasm|tensorflow) backend/);
    assert.match(out[1], /params 274042 out 2,10 backend (wasm|tensorflow) tf (wasm|tensorflow)/);
  });

  test("a reader's own notebook elsewhere imports the installed package", () => {
    const dir = mkdtempSync(join(tmpdir(), 'reader-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'residual-learning'));
    const out = execute(dir, cells);
    assert.match(out[1], /params 274042 out 2,10/);
  });

  test('a type error in a cell is reported by the kernel (the TypeScript is checked)', () => {
    const dir = mkdtempSync(join(root, 'notebooks', '.probe-'));
    dirs.push(dir);
    const file = join(dir, 'bad.ipynb');
    writeFileSync(file, JSON.stringify(notebook(["import { resnetCifar } from 'residual-learning';\nresnetCifar('twenty');"])));
    const r = spawnSync(python, ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--inplace', '--allow-errors', file], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const outputs = JSON.parse(readFileSync(file, 'utf8')).cells[0].outputs;
    assert.match(outputs.map((o) => o.text ?? '').join(''), /not assignable to parameter of type 'number'/);
  });
});
