#!/usr/bin/env node
// `npm install` ends here (postinstall): build the library, make it importable by its package
// name from the notebooks, and register the tslab kernel with Jupyter. Each step says what it did;
// a missing Jupyter is a notice (with how to get it), not a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJupyterPython, jupyterInstallHelp } from './jupyter.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));
const say = (msg) => console.log(`residual-learning: ${msg}`);
const insideNodeModules = root.split(sep).includes('node_modules');

// 1. Build lib/ → dist/ (a clone of the repository; an installed package ships dist/).
if (!insideNodeModules && existsSync(join(root, 'tsconfig.json'))) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (existsSync(tsc)) {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
    say('built lib/ into dist/');
  }
}

// 2. Notebooks import the library as `residual-learning`, like a reader's own notebook does:
//    node_modules/residual-learning → the repository (a clone is not its own dependency).
if (!insideNodeModules) {
  const link = join(root, 'node_modules', 'residual-learning');
  let present = false;
  try {
    present = lstatSync(link) !== undefined;
  } catch {
    present = false;
  }
  if (!present) {
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), root) || '.', link, 'junction');
    say('linked node_modules/residual-learning to this repository');
  }
}

// 3. The tslab kernel, started with this Node and this tslab whatever the PATH of Jupyter.
const python = findJupyterPython();
if (python === undefined) {
  say(`Jupyter was not found, so the TypeScript kernel is not registered yet.\n${jupyterInstallHelp()}\nThen run \`npm run setup\` again.`);
} else {
  const tslabMain = join(dirname(require.resolve('tslab/package.json')), 'bin', 'tslab');
  const dir = mkdtempSync(join(tmpdir(), 'tslab-spec-'));
  try {
    const spec = {
      argv: [process.execPath, tslabMain, 'kernel', '--config-path', '{connection_file}'],
      display_name: 'TypeScript (tslab)',
      language: 'typescript',
    };
    writeFileSync(join(dir, 'kernel.json'), JSON.stringify(spec, null, 1));
    const code = [
      'import sys',
      'from jupyter_client.kernelspec import KernelSpecManager',
      "print(KernelSpecManager().install_kernel_spec(sys.argv[1], 'tslab', user=True, replace=True))",
    ].join('\n');
    const r = spawnSync(python, ['-c', code, dir], { encoding: 'utf8' });
    if (r.status !== 0) {
      say(`registering the tslab kernel with ${python} failed:\n${r.stderr}`);
      process.exitCode = 1;
    } else {
      say(`registered the tslab kernel for Jupyter (${python}) at ${r.stdout.trim()}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
