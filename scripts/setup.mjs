#!/usr/bin/env node
// `npm install` in a clone ends here (postinstall): build the library, make it importable by its
// package name from the notebooks, and register the tslab kernel with Jupyter (a clone is the course).
// Each step says what it did; a missing Jupyter is a notice (with how to get it), not a failure.
// Installed as a dependency (inside node_modules) it does nothing: the package ships dist/, and the
// kernel is registered only when asked (`npx residual kernel install`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installKernel } from './kernel.mjs';
import { linkPackage } from './self-link.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (msg) => console.log(`residual-learning: ${msg}`);
const insideNodeModules = root.split(sep).includes('node_modules');
if (insideNodeModules) process.exit(0);

// 1. Build lib/ → dist/ (a clone of the repository; an installed package ships dist/).
if (existsSync(join(root, 'tsconfig.json'))) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (existsSync(tsc)) {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
    say('built lib/ into dist/');
  }
}

// 2. Notebooks import the library as `residual-learning`, like a reader's own notebook does.
if (linkPackage(root)) say('linked node_modules/residual-learning to this repository');

// 3. The tslab kernel (scripts/kernel.mjs).
try {
  installKernel();
} catch (e) {
  say(e.message);
  process.exitCode = 1;
}
