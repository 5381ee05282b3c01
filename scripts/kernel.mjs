#!/usr/bin/env node
// `npx residual kernel install` (and a clone's `npm install`): register the tslab kernel with Jupyter
// for this user, started with this Node and this package's tslab whatever the PATH of Jupyter.
// Installing the package as a dependency never runs this: it writes in the user's home.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJupyterPython, jupyterInstallHelp } from './jupyter.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));
const say = (msg) => console.log(`residual-learning: ${msg}`);

/** Registers the kernel; returns false (with a notice saying how to get Jupyter) when there is none. */
export function installKernel() {
  const python = findJupyterPython();
  if (python === undefined) {
    say(
      `Jupyter was not found, so the TypeScript kernel is not registered yet.\n${jupyterInstallHelp()}\nThen run \`npx residual kernel install\` (in a clone: \`npm run setup\`).`,
    );
    return false;
  }
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
    if (r.status !== 0) throw new Error(`registering the tslab kernel with ${python} failed:\n${r.stderr}`);
    say(`registered the tslab kernel for Jupyter (${python}) at ${r.stdout.trim()}`);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    installKernel();
  } catch (e) {
    console.error(`residual-learning: ${e.message}`);
    process.exitCode = 1;
  }
}
