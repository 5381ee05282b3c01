#!/usr/bin/env node
// `npm run notebooks [-- NAME...]`: execute the course's notebooks in order through Jupyter's own
// client and the tslab kernel (working directory notebooks/), writing their outputs into them.
// Fails naming the notebook and cell of the first error. RESIDUAL_QUICK=1 (shrinks data and
// epochs in the notebooks) and the rest of the environment reach the kernel unchanged.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findJupyterPython, jupyterInstallHelp, kernelProblem } from './jupyter.mjs';
import { linkPackage } from './self-link.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const here = dirname(fileURLToPath(import.meta.url));

/** The notebooks to run: all of `dir`'s `*.ipynb` in name order, or those named. */
export function selectNotebooks(dir, names) {
  const all = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
    : [];
  if (names.length === 0) return all.map((f) => join(dir, f));
  return names.map((n) => {
    const file = basename(n).endsWith('.ipynb') ? basename(n) : `${basename(n)}.ipynb`;
    const hit = all.find((f) => f === file) ?? all.find((f) => f.startsWith(basename(n)));
    if (hit === undefined) throw new Error(`no notebook ${n} in ${dir} (there are: ${all.join(', ') || 'none'})`);
    return join(dir, hit);
  });
}

/**
 * Executes one notebook in place (outputs written atomically); returns the exit status.
 * `cwd` is the kernel's working directory (default: the notebook's folder).
 */
export function executeNotebook(
  python,
  notebook,
  { kernel = 'tslab', cwd, timeout = 1800, env = process.env, keepPlotly = false, stdio = 'inherit' } = {},
) {
  const args = [join(here, 'execute_notebook.py'), notebook, '--kernel', kernel, '--timeout', String(timeout)];
  if (cwd !== undefined) args.push('--cwd', cwd);
  if (keepPlotly) args.push('--keep-plotly');
  return spawnSync(python, args, { stdio, env, encoding: 'utf8' });
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: join(root, 'notebooks') },
      kernel: { type: 'string', default: 'tslab' },
      timeout: { type: 'string', default: '1800' },
      'keep-plotly': { type: 'boolean', default: false },
    },
  });
  if (linkPackage(root)) console.log('notebooks: linked node_modules/residual-learning to this repository again (npm had removed it)');
  const python = findJupyterPython(['nbclient', 'nbformat', 'jupyter_client']);
  if (python === undefined) {
    console.error(`notebooks: Jupyter's notebook client was not found.\n${jupyterInstallHelp()}`);
    process.exit(1);
  }
  const problem = kernelProblem(python, values.kernel);
  if (problem !== undefined) {
    console.error(`notebooks: ${problem}`);
    process.exit(1);
  }
  const dir = resolve(values.dir);
  const notebooks = selectNotebooks(dir, positionals);
  if (notebooks.length === 0) {
    console.error(`notebooks: no notebooks in ${dir}`);
    process.exit(1);
  }
  for (const nb of notebooks) {
    const started = Date.now();
    console.log(`notebooks: running ${basename(nb)}${process.env.RESIDUAL_QUICK === '1' ? ' (RESIDUAL_QUICK=1)' : ''} ...`);
    const r = executeNotebook(python, nb, {
      kernel: values.kernel,
      cwd: dir,
      timeout: Number(values.timeout),
      keepPlotly: values['keep-plotly'],
    });
    if (r.status !== 0) {
      console.error(`notebooks: ${basename(nb)} failed (see the cell above); its file was left as it was.`);
      process.exit(1);
    }
    console.log(`notebooks: ${basename(nb)} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
