// Nothing outside the repository: no library default, test, script or notebook cell names the
// workspace's shared folder or an absolute path of some machine (a reader's machine has only the
// repository and the internet). Notebook outputs are left out: they record where a committed run's
// data was (its data line). Program paths of the system (/usr/bin/python3) are fine.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const FORBIDDEN = /\.\.\/shared\b|\bshared\/(datasets|ref)\b|(["'`\s(=]|^)\/(work|home|root|Users|tmp|mnt|data)\/[\w.-]/m;
const TEXT = /\.(ts|mjs|js|py|c|ipynb|json|md)$/;

function* files(dir) {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (TEXT.test(entry)) yield p;
  }
}

/** The text to scan: a notebook's cell sources (not its outputs), any other file whole. */
function scanned(file) {
  const text = readFileSync(file, 'utf8');
  if (!file.endsWith('.ipynb')) return text;
  return JSON.parse(text)
    .cells.map((c) => [].concat(c.source).join(''))
    .join('\n');
}

test("lib/, test/, scripts/ and notebooks/ name neither the workspace's shared folder nor an absolute path of a machine", () => {
  const found = [];
  for (const dir of ['lib', 'test', 'scripts', 'notebooks']) {
    for (const file of files(join(root, dir))) {
      scanned(file)
        .split('\n')
        .forEach((line, i) => {
          if (FORBIDDEN.test(line)) found.push(`${relative(root, file)}:${i + 1}: ${line.trim().slice(0, 120)}`);
        });
    }
  }
  assert.deepEqual(found, []);
});

test('the scan finds what it looks for', () => {
  // Planted paths, built from parts so that this file itself names none of them.
  const path = (...parts) => parts.join('/');
  const planted = [
    `const d = '${path('..', 'shared', 'datasets', 'cifar10-subset')}';`,
    `loadCifar10('${path('', 'work', 'shared', 'x')}')`,
    `'--out', '${path('', 'tmp', 'x')}'`,
    `see ${path('shared', 'ref', 'torch_cifar_ref.py')}`,
  ];
  for (const bad of planted) {
    assert.ok(FORBIDDEN.test(bad), bad);
  }
  for (const ok of ["spawnSync('/usr/bin/python3')", "join(tmpdir(), 'x')", 'the shared memory build', "'data/cifar10'"])
    assert.ok(!FORBIDDEN.test(ok), ok);
});
