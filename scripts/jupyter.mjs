// Finding a Python that has Jupyter, shared by the setup, start and notebook scripts.
import { spawnSync } from 'node:child_process';

/** Pythons to try, in order: $RESIDUAL_PYTHON, Debian's, then the first on PATH. */
export function pythonCandidates() {
  const list = [process.env.RESIDUAL_PYTHON, '/usr/bin/python3', 'python3', 'python'];
  return [...new Set(list.filter((p) => p !== undefined && p !== ''))];
}

/** The first Python that can import the given modules, or undefined. */
export function findJupyterPython(modules = ['jupyter_client']) {
  for (const python of pythonCandidates()) {
    const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    if (r.status === 0) return python;
  }
  return undefined;
}

/** How to get Jupyter, for messages. */
export function jupyterInstallHelp() {
  return [
    'Install Jupyter, one of:',
    '  Debian/Ubuntu:  sudo apt-get install -y jupyter-notebook jupyter-nbconvert python3-nbclient',
    '  pip:            python3 -m pip install notebook nbconvert nbclient   (or: jupyterlab)',
    'If it lives in another Python, point RESIDUAL_PYTHON at it.',
  ].join('\n');
}

/**
 * Why Jupyter (with `python`) cannot start the kernel named `kernel` (default: tslab), or
 * undefined when it can: not registered, or registered with a program that no longer exists
 * (the checkout was moved or deleted since `npm run setup`).
 */
export function kernelProblem(python, kernel = 'tslab', env = process.env) {
  const code = [
    'import json, os, sys',
    'from jupyter_client.kernelspec import KernelSpecManager',
    'specs = KernelSpecManager().find_kernel_specs()',
    'if sys.argv[1] not in specs: print(json.dumps({"missing": True})); sys.exit(0)',
    'argv = json.load(open(os.path.join(specs[sys.argv[1]], "kernel.json")))["argv"]',
    'gone = [a for a in argv[:2] if os.path.isabs(a) and not os.path.exists(a)]',
    'print(json.dumps({"gone": gone}))',
  ].join('\n');
  const r = spawnSync(python, ['-c', code, kernel], { encoding: 'utf8', env });
  if (r.status !== 0) return `Jupyter (${python}) could not list its kernels: ${(r.stderr || '').trim().split('\n').at(-1)}`;
  const info = JSON.parse(r.stdout.trim().split('\n').at(-1));
  if (info.missing)
    return `Jupyter (${python}) has no "${kernel}" kernel: run \`npx residual kernel install\` (in a clone: \`npm run setup\`) to register it.`;
  if (info.gone.length > 0)
    return `the "${kernel}" kernel registered with Jupyter runs ${info.gone.join(' ')}, which no longer exists (was the checkout moved?): run \`npx residual kernel install\` to register it again.`;
  return undefined;
}

/** True when Jupyter (with `python`) can start a kernel named `kernel` (default: tslab). */
export function hasKernel(python, kernel = 'tslab', env = process.env) {
  return kernelProblem(python, kernel, env) === undefined;
}
