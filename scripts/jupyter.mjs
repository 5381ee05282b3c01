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

/** True when Jupyter (with `python`) knows a kernel named `kernel` (default: tslab). */
export function hasKernel(python, kernel = 'tslab', env = process.env) {
  const code = `import sys\nfrom jupyter_client.kernelspec import KernelSpecManager\nsys.exit(0 if sys.argv[1] in KernelSpecManager().find_kernel_specs() else 1)`;
  return spawnSync(python, ['-c', code, kernel], { stdio: 'ignore', env }).status === 0;
}
