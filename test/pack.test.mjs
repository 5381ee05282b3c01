// The package as users get it: `npm pack` (which builds dist/ in prepack), the tarball installed into
// a temporary project with HOME pointed at an empty folder. Nothing is written there by the install,
// the library loads by its name, `residual kernel install` registers the kernel (in that HOME), and a
// notebook of that project runs through real Jupyter importing the package.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findJupyterPython } from '../scripts/jupyter.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const scratch = mkdtempSync(join(tmpdir(), 'residual-pack-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const home = join(scratch, 'home');
const project = join(scratch, 'project');
// The user's npm cache (downloads are not the point here); everything else of HOME is the empty one.
const env = {
  ...process.env,
  HOME: home,
  npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

let tarball;

test('npm pack ships dist/, the notebooks, the sample data, README and LICENSE; no development script', { timeout: 300_000 }, () => {
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', scratch], {
    cwd: root,
    encoding: 'utf8',
    env: { ...env, HOME: homedir() },
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  tarball = join(scratch, info.filename);
  const files = info.files.map((f) => f.path);
  for (const f of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli.js',
    'README.md',
    'LICENSE',
    'package.json',
    'data/cifar10-sample/test_batch.bin',
    'notebooks/02-degradation-problem.ipynb',
    'scripts/kernel.mjs',
    'scripts/torch_cifar_ref.py',
  ]) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  for (const f of files)
    assert.doesNotMatch(
      f,
      /^(test|lib|scripts\/dev\/|scripts\/(book|notebooks|experiments|parity)\.mjs|results)\b/,
      `${f} is not for users`,
    );
  assert.ok(info.size < 20e6, `${info.size} bytes packed`);
});

test(
  'installed into a project: nothing in HOME, the library loads by name, the tfjs-node peers are not attempted',
  { timeout: 600_000 },
  () => {
    assert.ok(tarball, 'packed');
    execFileSync('mkdir', ['-p', home, project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'reader-project', version: '1.0.0', private: true }));
    const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', tarball], { cwd: project, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.deepEqual(readdirSync(home), [], 'the install wrote nothing in HOME');
    assert.ok(!existsSync(join(project, 'node_modules', '@tensorflow', 'tfjs-node-gpu')), 'tfjs-node-gpu is not installed');
    const load = spawnSync(
      process.execPath,
      ['-e', "const r = require('residual-learning'); console.log(r.resnetCifar(20).countParams())"],
      { cwd: project, env, encoding: 'utf8' },
    );
    assert.equal(load.status, 0, load.stderr);
    assert.match(load.stdout, /^27\d{4}$/m, 'ResNet-20 builds (0.27M parameters)');
  },
);

const python = findJupyterPython(['nbclient', 'nbformat']);
test(
  'a notebook of that project runs through real Jupyter, importing the package',
  { skip: python === undefined && 'Jupyter (nbclient) is not installed', timeout: 300_000 },
  () => {
    assert.ok(existsSync(join(project, 'node_modules', 'residual-learning')), 'installed');
    const kernel = spawnSync(join(project, 'node_modules', '.bin', 'residual'), ['kernel', 'install'], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    assert.equal(kernel.status, 0, kernel.stderr + kernel.stdout);
    assert.match(kernel.stdout, /registered the tslab kernel/);
    const cells = [
      "import { resnetCifar, findCifar10 } from 'residual-learning';",
      'const model = resnetCifar(20);\nconsole.log(`parameters: ${model.countParams()}`);\nconsole.log(findCifar10().kind);',
    ];
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (tslab)', language: 'typescript' } },
      cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
    };
    writeFileSync(join(project, 'mine.ipynb'), JSON.stringify(nb));
    const run = spawnSync(
      python,
      [join(root, 'scripts', 'execute_notebook.py'), join(project, 'mine.ipynb'), '--cwd', project, '--timeout', '240'],
      { cwd: project, env: { ...env, RESIDUAL_QUICK: '1' }, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const done = JSON.parse(execFileSync('cat', [join(project, 'mine.ipynb')], { encoding: 'utf8' }));
    const printed = done.cells[1].outputs.map((o) => [].concat(o.text ?? '').join('')).join('');
    assert.match(printed, /parameters: 27\d{4}\nsample\n/, 'the library ran in the kernel and found the bundled sample');
  },
);

test('residual course copies the notebooks into a folder of the reader, never overwriting a file there', { timeout: 60_000 }, () => {
  const bin = join(project, 'node_modules', '.bin', 'residual');
  assert.ok(existsSync(bin), 'installed');
  writeFileSync(join(scratch, 'mine-only.txt'), '');
  const dir = join(project, 'residual-course');
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, '01-what-is-a-residual.ipynb'), 'my own edits');
  const r = spawnSync(bin, ['course', '--no-start'], { cwd: project, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /6 notebook file\(s\) copied, 1 already there kept \(01-what-is-a-residual\.ipynb\)/);
  assert.equal(execFileSync('cat', [join(dir, '01-what-is-a-residual.ipynb')], { encoding: 'utf8' }), 'my own edits');
  assert.ok(existsSync(join(dir, '06-build-your-own-resnet.ipynb')));
  const bad = spawnSync(bin, ['course', join(scratch, 'mine-only.txt'), '--no-start'], { cwd: project, env, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^residual course: .*mine-only\.txt is a file, not a folder\n$/);
});
