// `residual parity` (npm run parity) end to end on a tiny copy of the subset (1 epoch): our run, its evaluation,
// the PyTorch reference when /usr/bin/python3 has torch, and results/parity.csv.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lib, sampleSubset } from './helpers.mjs';

const SCRIPT = [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'parity'];
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test('parity: trains, evaluates, runs the reference and writes one row per framework and epoch', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'residual-parity-'));
  const data = path.join(dir, 'data');
  sampleSubset(data, { train: 64, test: 100 }); // the official layout, fewer records
  const results = path.join(dir, 'parity.csv');
  const args = [
    ...SCRIPT,
    '--data',
    data,
    '--epochs',
    '1',
    '--out',
    path.join(dir, 'run'),
    '--results',
    results,
    ...(hasTorch ? [] : ['--skip-pytorch']),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, RESIDUAL_WASM_THREADS: '1' } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const lines = readFileSync(results, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'framework,init,seed,epoch,train_err,test_err,n_test');
  const rows = lines.slice(1).map((l) => l.split(','));
  assert.equal(rows.length, hasTorch ? 2 : 1);
  for (const [framework, init, seed, epoch, trainErr, testErr, n] of rows) {
    assert.equal(epoch, '1', framework);
    assert.equal(init, 'pytorch', framework); // --init pytorch is the default: the reference's initialisation
    assert.equal(seed, '0', framework);
    assert.ok(Number(trainErr) > 0 && Number(trainErr) <= 1, `${framework} train_err ${trainErr}`);
    assert.ok(Number(testErr) > 0 && Number(testErr) <= 1, `${framework} test_err ${testErr}`);
    assert.equal(n, '100', framework);
  }
  assert.match(r.stdout, /test accuracy \d+\.\d% \(100 images\)/);
  if (hasTorch) assert.match(r.stdout, /difference \d+\.\d points/);
  // A second call keeps the finished run (--resume), rewrites our rows and keeps the reference's.
  const before = readFileSync(results, 'utf8');
  const again = spawnSync(process.execPath, [...args, '--skip-pytorch'], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  const after = readFileSync(results, 'utf8');
  assert.match(after, /^residual-learning \(tfjs wasm\),pytorch,0,1,/m);
  assert.equal(after.trim().split('\n').length, lines.length);
  if (hasTorch) assert.equal(after.match(/^pytorch \(reference\),.*$/m)[0], before.match(/^pytorch \(reference\),.*$/m)[0]);
});

test('parity: a folder without CIFAR-10 is named in a one-line error, exit 2', () => {
  const r = spawnSync(process.execPath, [...SCRIPT, '--data', '/nonexistent/cifar'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^residual parity: --data \/nonexistent\/cifar holds no CIFAR-10 binary files/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

const NO_TORCH = !hasTorch && 'PyTorch is not installed: `sudo apt-get install -y python3-torch` (Debian/Ubuntu) or `pip install torch`';

test("the project's PyTorch reference builds the same nets as ours (parameter counts, option B)", { skip: NO_TORCH }, () => {
  const ref = fileURLToPath(new URL('../scripts/torch_cifar_ref.py', import.meta.url));
  const code = `import importlib.util, sys\nspec = importlib.util.spec_from_file_location('ref', sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\nfor d in (20, 56):\n    for plain in (False, True): print(sum(p.numel() for p in m.net(d, plain).parameters()))`;
  const r = spawnSync('/usr/bin/python3', ['-c', code, ref], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // PyTorch counts BN's γ, β (trainable); tfjs's countParams also counts BN's moving mean/variance.
  const trainable = (m) => m.trainableWeights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  const ours = [lib.resnetCifar(20), lib.plainCifar(20), lib.resnetCifar(56), lib.plainCifar(56)].map(trainable);
  assert.deepEqual(r.stdout.trim().split('\n').map(Number), ours);
});
