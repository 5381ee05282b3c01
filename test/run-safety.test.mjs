// No run is lost: `residual train` as a hostile but fair user drives it, on tiny data (a saved tiny
// model, the bundled sample, the cpu backend). Each refusal exits 2 with one line naming the file or
// argument, prints no stack frame and no "training" line, and leaves every file that was there as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lib, SAMPLE, tf } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const env = { ...process.env, RESIDUAL_BACKEND: 'cpu' };
const scratch = mkdtempSync(path.join(tmpdir(), 'residual-safety-'));
let tiny;

function residual(args, extraEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8' });
}
const trainArgs = (out, ...more) => [
  'train',
  '--model',
  tiny,
  '--data',
  SAMPLE,
  '--epochs',
  '2',
  '--out',
  out,
  '--limit-train',
  '64',
  '--limit-test',
  '20',
  '--batch',
  '32',
  ...more,
];

/** Every file under `dir` with its bytes, to compare before and after. */
function snapshot(dir) {
  const files = {};
  const walk = (d) => {
    for (const e of readdirSync(d)) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files[path.relative(dir, p)] = readFileSync(p).toString('base64');
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

/** A refusal: exit 2, one line on stderr matching `message`, no stack frame, no training started. */
function refused(r, message) {
  assert.equal(r.status, 2, `exit ${r.status}\n${r.stderr}${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0], message);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.doesNotMatch(r.stdout, /^training /m, 'refused before the training line');
}

before(async () => {
  await lib.useBestBackend({ prefer: 'cpu', verbose: false });
  const x = tf.input({ shape: [32, 32, 3] });
  let h = tf.layers.averagePooling2d({ poolSize: 4, name: 'pool' }).apply(x);
  h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv' }).apply(h);
  h = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(h);
  const y = tf.layers.dense({ units: 10, name: 'fc' }).apply(h);
  tiny = path.join(scratch, 'tiny');
  await lib.saveModel(tf.model({ inputs: x, outputs: y }), tiny);
});

test("a folder with the user's own files is refused, and nothing in it is touched", () => {
  const out = path.join(scratch, 'mine');
  mkdirSync(path.join(out, 'checkpoints', 'something'), { recursive: true });
  writeFileSync(path.join(out, 'checkpoints', 'something', 'notes.txt'), 'mine');
  writeFileSync(path.join(out, 'history.csv'), 'my,own\n1,2\n');
  const before = snapshot(out);
  refused(
    residual(trainArgs(out)),
    /mine holds files that are not a training run \(checkpoints\/something\): choose an empty or new folder; nothing was changed$/,
  );
  assert.deepEqual(snapshot(out), before);
});

test('saving a checkpoint removes only the checkpoint it superseded', async () => {
  const out = path.join(scratch, 'superseded');
  const r = residual(trainArgs(out));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(path.join(out, 'checkpoints')), ['epoch-0002']);
  // Something that appeared there since (not ours) survives the next save.
  writeFileSync(path.join(out, 'checkpoints', 'keep.txt'), 'not ours');
  const model = await lib.loadModel(tiny);
  const optimizer = new lib.SgdMomentum();
  const ckpt = await lib.loadCheckpoint(path.join(scratch, 'superseded')).catch((e) => e);
  assert.ok(ckpt instanceof lib.UsageError, 'a run with a foreign file in checkpoints/ is refused');
  await lib.saveCheckpoint(out, model, optimizer, {
    version: 1,
    epoch: 3,
    step: 6,
    seed: 0,
    stats: { mean: [0, 0, 0], std: [1, 1, 1] },
    history: [],
    seconds: 0,
    warmupDone: true,
    config: {},
  });
  assert.deepEqual(readdirSync(path.join(out, 'checkpoints')).sort(), ['epoch-0003', 'keep.txt']);
  optimizer.dispose();
});

test('a dangling or missing LATEST is refused, naming the file; nothing is deleted', () => {
  const out = path.join(scratch, 'damaged');
  assert.equal(residual(trainArgs(out, '--epochs', '1')).status, 0);
  writeFileSync(path.join(out, 'LATEST'), 'checkpoints/epoch-0009\n');
  let before = snapshot(out);
  for (const args of [trainArgs(out, '--resume'), trainArgs(out)]) {
    refused(
      residual(args),
      /damaged[/\\]LATEST names 'checkpoints\/epoch-0009', which is not a checkpoint there: the run is damaged; nothing was changed$/,
    );
    assert.deepEqual(snapshot(out), before);
  }
  spawnSync('rm', [path.join(out, 'LATEST')]);
  before = snapshot(out);
  refused(residual(trainArgs(out, '--resume')), /LATEST is missing, though checkpoints\/ holds epoch-0001: the run is damaged/);
  assert.deepEqual(snapshot(out), before);
});

test('--resume on an empty, missing or mistyped folder is refused; no folder is made', () => {
  const empty = path.join(scratch, 'empty');
  mkdirSync(empty);
  refused(residual(trainArgs(empty, '--resume')), /--resume: nothing to resume in .*empty; drop --resume to start a run there$/);
  assert.deepEqual(readdirSync(empty), []);
  const typo = path.join(scratch, 'no-such-run');
  refused(residual(trainArgs(typo, '--resume')), /nothing to resume in .*no-such-run/);
  assert.ok(!existsSync(typo));
});

test('a garbled state.json or optimizer.json is refused naming the file', () => {
  for (const file of ['state.json', 'optimizer.json']) {
    const out = path.join(scratch, `garbled-${file}`);
    assert.equal(residual(trainArgs(out, '--epochs', '1')).status, 0);
    writeFileSync(path.join(out, 'checkpoints', 'epoch-0001', file), '{"version": 1, "epo');
    const before = snapshot(out);
    refused(
      residual(trainArgs(out, '--resume')),
      new RegExp(`epoch-0001[/\\\\]${file.replace('.', '\\.')}: not valid JSON .*: the checkpoint is damaged$`),
    );
    assert.deepEqual(snapshot(out), before);
  }
});

test('settings that change the result must match on --resume (weight decay and its scope)', () => {
  const out = path.join(scratch, 'decay');
  assert.equal(residual(trainArgs(out, '--epochs', '1')).status, 0);
  refused(
    residual(trainArgs(out, '--epochs', '1', '--resume', '--weight-decay', '5e-4')),
    /cannot continue .*decay: it was trained with weightDecay=0.0001, not 0.0005$/,
  );
  refused(
    residual(trainArgs(out, '--epochs', '1', '--resume', '--decay-scope', 'kernels')),
    /it was trained with weightDecay ?Scope=all, not kernels$/,
  );
});

test('environment and paths: one line each, exit 2', () => {
  refused(residual(trainArgs(path.join(scratch, 'b1')), { RESIDUAL_BACKEND: 'gpu' }), /RESIDUAL_BACKEND='gpu' is not a backend/);
  refused(
    residual(trainArgs(path.join(scratch, 'b2')), { RESIDUAL_BACKEND: 'wasm', RESIDUAL_WASM_THREADS: 'two' }),
    /RESIDUAL_WASM_THREADS='two' must be a whole number ≥ 1/,
  );
  const file = path.join(scratch, 'a-file');
  writeFileSync(file, 'x');
  refused(residual(trainArgs(file)), /a-file is a file, not a folder/);
  // A data file that cannot be read (a folder where a file should be).
  const data = path.join(scratch, 'bad-data');
  mkdirSync(data);
  for (const f of readdirSync(SAMPLE)) writeFileSync(path.join(data, f), readFileSync(path.join(SAMPLE, f)));
  spawnSync('rm', [path.join(data, 'data_batch_2.bin')]);
  mkdirSync(path.join(data, 'data_batch_2.bin'));
  const r = residual([
    'train',
    '--model',
    tiny,
    '--data',
    data,
    '--epochs',
    '1',
    '--out',
    path.join(scratch, 'b3'),
    '--limit-train',
    '300',
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /data_batch_2\.bin/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  // A folder that cannot be made (under a file).
  refused(residual(trainArgs(path.join(file, 'run'))), /a-file[/\\]run cannot be made: .*a-file is a file, not a folder$/);
});

test('a model whose input does not fit the data is one line', async () => {
  const x = tf.input({ shape: [16, 16, 3] });
  const y = tf.layers.dense({ units: 10 }).apply(tf.layers.globalAveragePooling2d({}).apply(x));
  const small = path.join(scratch, 'small-input');
  await lib.saveModel(tf.model({ inputs: x, outputs: y }), small);
  const out = path.join(scratch, 'mismatch');
  refused(
    residual(['train', '--model', small, '--data', SAMPLE, '--epochs', '1', '--out', out, '--limit-train', '32']),
    /--model .*small-input takes inputs of shape \[16, 16, 3\], but CIFAR-10 images are \[32, 32, 3\]$/,
  );
  assert.ok(!existsSync(out), 'no run folder made');
});

test('more wasm threads than cores: a one-line warning', () => {
  const r = spawnSync(process.execPath, ['-e', "require('./dist/index.js').wasmThreadsFromEnv('512')"], {
    cwd: path.dirname(path.dirname(CLI)),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^RESIDUAL_WASM_THREADS=512 is more than this machine's \d+ cores: the threads will take turns and run slower/);
});

test('--epochs that would take days says so after the first steps', () => {
  const out = path.join(scratch, 'years');
  const child = spawnSync(process.execPath, [CLI, ...trainArgs(out, '--epochs', '5000000')], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
    killSignal: 'SIGKILL',
  });
  assert.match(child.stderr, /^at \d+ images\/s \(the first 5 steps\) this run needs about \d+ more days; stop it/m, child.stderr);
});

const asRoot = process.getuid?.() === 0;
test(
  'a full disk while checkpointing is one line, and leaves no run folder it made',
  { skip: !asRoot && 'needs root to mount a tiny tmpfs' },
  (t) => {
    const disk = path.join(scratch, 'tiny-disk');
    mkdirSync(disk);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', disk]);
    if (mounted.status !== 0) return t.skip(`cannot mount a tmpfs here: ${mounted.stderr}`);
    t.after(() => spawnSync('umount', [disk]));
    const out = path.join(disk, 'run');
    const r = residual(trainArgs(out, '--epochs', '1'));
    assert.equal(r.status, 2, r.stderr + r.stdout);
    assert.match(
      r.stderr.trim(),
      /^residual train: .*run[/\\].*: no space left on the device \(\w+ failed; files written before are kept\)$/m,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.deepEqual(readdirSync(disk), [], 'no empty run folder or temporary file left');
  },
);

test('a --model folder whose model.json is not a layers model is one line', () => {
  const dir = path.join(scratch, 'garbled-model');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
  refused(
    residual(['train', '--model', dir, '--data', SAMPLE, '--epochs', '1', '--out', path.join(scratch, 'r-garbled')]),
    /--model .*garbled-model: model\.json cannot be read as a TensorFlow\.js layers model/,
  );
});

test('evaluate: a run whose state.json does not parse is one line naming it', () => {
  const out = path.join(scratch, 'eval-garbled');
  assert.equal(residual(trainArgs(out, '--epochs', '1')).status, 0);
  writeFileSync(path.join(out, 'checkpoints', 'epoch-0001', 'state.json'), '{"version": 1');
  const r = residual(['evaluate', '--model-dir', out, '--data', SAMPLE]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /^residual evaluate: .*epoch-0001[/\\]state\.json: cannot be read as JSON/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a folder another live process is training in is refused before the data is loaded', () => {
  const out = path.join(scratch, 'busy');
  mkdirSync(out);
  writeFileSync(path.join(out, 'LOCK'), `${process.pid}\n`); // this test process: alive, not the CLI
  const before = snapshot(out);
  refused(residual(trainArgs(out)), new RegExp(`busy is being trained by process ${process.pid} .*: wait for it, or stop it first$`));
  assert.deepEqual(snapshot(out), before);
});
