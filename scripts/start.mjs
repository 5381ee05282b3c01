#!/usr/bin/env node
// `npm start`: open the course in Jupyter (JupyterLab where installed, else the classic
// Notebook) on notebooks/ (or RESIDUAL_COURSE_DIR, set by `residual course`), with the tslab kernel.
// Without Jupyter, say how to install it.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJupyterPython, jupyterInstallHelp, kernelProblem, pythonCandidates } from './jupyter.mjs';
import { linkPackage } from './self-link.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const notebooks = process.env.RESIDUAL_COURSE_DIR || join(root, 'notebooks');

/** The Python and module of the best Jupyter frontend here: JupyterLab, else Notebook. */
export function findFrontend() {
  for (const module of ['jupyterlab', 'notebook']) {
    const python = findJupyterPython([module]);
    if (python !== undefined) return { python, module };
  }
  return undefined;
}

if (linkPackage(root))
  console.log('residual-learning: linked node_modules/residual-learning to this repository again (npm had removed it)');
const frontend = findFrontend();
if (frontend === undefined) {
  console.error(
    `residual-learning: Jupyter was not found (tried ${pythonCandidates().join(', ')}).\n${jupyterInstallHelp()}\nThen run \`npm run setup\` (registers the TypeScript kernel) and \`npm start\` again.`,
  );
  process.exit(1);
}
const problem = kernelProblem(frontend.python);
if (problem !== undefined) {
  console.error(`residual-learning: ${problem}`);
  process.exit(1);
}
// Containers often run as root, which Jupyter refuses without --allow-root.
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--allow-root'] : [];
const args = ['-m', frontend.module, `--notebook-dir=${notebooks}`, ...asRoot, ...process.argv.slice(2)];
console.log(`residual-learning: ${frontend.python} ${args.join(' ')}`);
const child = spawn(frontend.python, args, { stdio: 'inherit', cwd: notebooks });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
