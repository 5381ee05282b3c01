// `npm start` opens Jupyter on notebooks/ with the tslab kernel: start it for real (no browser),
// ask its REST API over HTTP which kernels it offers and which notebooks it serves, stop it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJupyterPython, hasKernel } from '../scripts/jupyter.mjs';
import { serverListening } from './helpers.mjs';
import { linkPackage } from '../scripts/self-link.mjs';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const python = findJupyterPython(['notebook']) ?? findJupyterPython(['jupyterlab']);
const skip =
  python === undefined
    ? 'Jupyter Notebook/Lab not installed'
    : !hasKernel(python)
      ? 'the tslab kernel is not registered (npm run setup)'
      : false;

test('npm start serves notebooks/ with the tslab kernel', { skip, timeout: 60_000 }, async (t) => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const token = `t${Math.random().toString(36).slice(2)}`;
  const child = spawn(
    process.execPath,
    [
      join(root, 'scripts', 'start.mjs'),
      '--no-browser',
      `--port=${port}`,
      '--ip=127.0.0.1',
      `--NotebookApp.token=${token}`,
      `--ServerApp.token=${token}`,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  await serverListening(child, `127.0.0.1:${port}`, 'start.mjs');
  const get = async (path) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { Authorization: `token ${token}` } });
    assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
    return res.json();
  };
  const specs = await get('/api/kernelspecs');
  assert.ok('tslab' in specs.kernelspecs, `kernels offered: ${Object.keys(specs.kernelspecs).join(', ')}`);
  const contents = await get('/api/contents/');
  const names = contents.content.map((c) => c.name);
  assert.ok(names.includes('README.md'), `the server's root is notebooks/ (it lists ${names.join(', ')})`);
});

test(
  'a kernel registered with a program that is gone is reported, with the command that fixes it',
  { skip: python === undefined ? 'Jupyter not installed' : false },
  async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { kernelProblem } = await import('../scripts/jupyter.mjs');
    const dir = mkdtempSync(join(tmpdir(), 'jupyter-path-'));
    mkdirSync(join(dir, 'kernels', 'stale-ts'), { recursive: true });
    writeFileSync(
      join(dir, 'kernels', 'stale-ts', 'kernel.json'),
      JSON.stringify({
        argv: ['/usr/bin/node', '/moved/away/node_modules/tslab/bin/tslab', 'kernel', '--config-path', '{connection_file}'],
        display_name: 'stale',
        language: 'typescript',
      }),
    );
    const env = { ...process.env, JUPYTER_PATH: dir };
    assert.match(
      kernelProblem(python, 'stale-ts', env),
      /runs \/moved\/away\/node_modules\/tslab\/bin\/tslab, which no longer exists .*residual kernel install/,
    );
    assert.match(kernelProblem(python, 'no-such-kernel', env), /has no "no-such-kernel" kernel: run `npx residual kernel install`/);
    if (hasKernel(python)) assert.equal(kernelProblem(python, 'tslab', env), undefined, 'the registered tslab kernel is fine');
  },
);

test('the package link the notebooks import through is made again when npm removed it', () => {
  const root = mkdtempSync(join(tmpdir(), 'residual-clone-'));
  try {
    const link = join(root, 'node_modules', 'residual-learning');
    assert.equal(linkPackage(root), true, 'made');
    assert.equal(realpathSync(link), realpathSync(root));
    assert.equal(linkPackage(root), false, 'an existing link is left as it is');
    rmSync(link); // what `npm install x` does to it
    assert.equal(linkPackage(root), true, 'made again');
    const installed = join(root, 'node_modules', 'residual-learning', 'node_modules', 'x');
    assert.equal(linkPackage(installed), false, 'an installed package links nothing');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
