#!/usr/bin/env node
// Train the nets of the depth experiments (chapters 2 and 3: plain-8, plain-20, plain-56, ResNet-20,
// ResNet-56, option A shortcuts) for several seeds side by side, one process per core, into the run
// folders the notebooks use (runs/depth-<subset|full>-<epochs>/<model>[_w<width>]/seed-<seed>). The
// notebooks then load the finished runs; an interrupted run is continued from its last epoch.
// Without --seeds, --width or --epochs it trains depthExperimentPlan() of lib/course/experiments.ts (what
// chapter 2 shows); with any of them, that one group (defaults: seeds 0,1,2, width 16, the chapter's budget).
//
//   npm run experiments [-- --jobs N] [--models plain20,resnet56] [--seeds 0,1,2] [--width 16]
//                          [--epochs 12,40] [--runs DIR] [--results FILE.csv]
//
// --results FILE.csv merges every epoch of the runs asked for (those on disk) into that CSV file
// (model, width, seed, budget, epoch, train_err, test_err; rows of other runs are kept), also when
// some runs failed: e.g. --results results/degradation.csv. With --collect it trains nothing and
// only merges what is on disk (after an interrupted call, say).
//
// The data is the course's (RESIDUAL_DATA, or data/cifar10 downloaded on first use); the budget defaults to
// depthExperimentEpochs() of lib/course/experiments.ts. Each job runs single-threaded unless
// RESIDUAL_WASM_THREADS is set.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SCRIPT = fileURLToPath(import.meta.url);
const fail = (m) => {
  console.error(`experiments: ${m}`);
  process.exit(1);
};

let a;
try {
  ({ values: a } = parseArgs({
    options: {
      jobs: { type: 'string' },
      models: { type: 'string' },
      seeds: { type: 'string' },
      width: { type: 'string' },
      epochs: { type: 'string' },
      runs: { type: 'string' },
      results: { type: 'string' },
      collect: { type: 'boolean', default: false },
      worker: { type: 'string' },
    },
  }));
} catch (e) {
  fail(e.message);
}

const lib = await import('../dist/index.js');

if (a.worker !== undefined) {
  // One net, in this process; it stops when the script that started it is gone (its output pipe breaks).
  process.stdout.on('error', () => process.exit(1));
  process.stderr.on('error', () => process.exit(1));
  try {
    await lib.useBestBackend({ verbose: false });
    const course = await lib.loadCourseData();
    const [model, seed, width, epochs] = a.worker.split(':');
    const run = await lib.trainDepthNet(model, course, Number(epochs), { runs: a.runs, seed: Number(seed), width: Number(width) });
    const last = run.history.toRecords().at(-1);
    console.log(
      `done: ${run.history.height} epochs, training error ${(100 * last.train_err).toFixed(1)}% (running), test error ${(100 * last.test_err).toFixed(1)}%`,
    );
    run.model.dispose();
  } catch (e) {
    fail(e.message);
  }
  process.exit(0);
}

const models =
  a.models === undefined
    ? [...lib.DEPTH_EXPERIMENT_MODELS]
    : a.models
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
for (const m of models) {
  const parsed = lib.parseCifarNetName(m);
  if (parsed === undefined) fail(`--models: '${m}' is not a CIFAR net name (plain8, plain20, resnet56, …)`);
  try {
    lib.cifarBlocksPerStage(parsed.depth);
  } catch (e) {
    fail(`--models ${m}: ${e.message}`);
  }
}
const integers = (flag, text) => {
  const list = text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map(Number);
  if (list.length === 0 || list.some((v) => !Number.isInteger(v) || v < 0))
    fail(`--${flag} takes integers separated by commas, got '${text}'`);
  return list;
};
const [width] = integers('width', a.width ?? '16');
if (width < 1) fail(`--width must be a positive integer, got '${a.width}'`);
const runsOf = []; // [model, seed, width, epochs]
const jobs = a.jobs === undefined ? availableParallelism() : Number(a.jobs);
if (!Number.isInteger(jobs) || jobs < 1) fail(`--jobs must be a positive integer, got '${a.jobs}'`);
if (lib.quickMode()) fail('RESIDUAL_QUICK is set: quick runs keep no checkpoints, so there is nothing to train ahead (unset it)');
let location;
try {
  location = await lib.findOrDownloadCifar10();
} catch (e) {
  fail(e.message);
}
const asked = a.seeds !== undefined || a.width !== undefined || a.epochs !== undefined;
const groups = asked
  ? [
      {
        width,
        budgets: a.epochs === undefined ? [lib.depthExperimentEpochs(location)] : integers('epochs', a.epochs),
        seeds: integers('seeds', a.seeds ?? '0,1,2'),
      },
    ]
  : lib.depthExperimentPlan(location);
if (groups.some((g) => g.budgets.includes(0))) fail('--epochs: a budget must be at least 1 epoch');
for (const g of groups)
  for (const epochs of g.budgets) for (const seed of g.seeds) for (const m of models) runsOf.push([m, seed, g.width, epochs]);
console.log(`${runsOf.length} runs of ${models.length} nets, ${Math.min(jobs, runsOf.length)} at a time, on ${location.description}`);
const dirOf = ([m, seed, w, epochs]) => lib.depthRunDir(m, location, epochs, { runs: a.runs, seed, width: w });
for (const r of runsOf)
  console.log(`  ${lib.depthNetLabel(r[0], r[2])} seed ${r[1]}, ${r[3]} epochs → ${relative(process.cwd(), dirOf(r))}`);

// The longest first (depth × width × epochs), so that the last job to start is a short one.
const cost = ([m, , w, epochs]) => lib.parseCifarNetName(m).depth * w * epochs;
if (a.collect && a.results === undefined) fail('--collect merges runs into the --results file: name one');
const queue = a.collect ? [] : [...runsOf].sort((x, y) => cost(y) - cost(x));
const failed = [];
// Stopping this script stops its trainings (each keeps its last finished epoch for a later call).
const children = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill('SIGTERM');
    console.error(`experiments: stopped by ${signal}; rerun to continue from the last finished epochs`);
    process.exit(130);
  });
}

function runOne([model, seed, w, epochs]) {
  const tag = `${lib.depthNetLabel(model, w)}/${seed}/${epochs}`;
  return new Promise((res) => {
    const env = { ...process.env };
    if (env.RESIDUAL_WASM_THREADS === undefined && jobs > 1) env.RESIDUAL_WASM_THREADS = '1';
    env.RESIDUAL_DATA = location.dir; // found (or downloaded) once, here
    const args = [SCRIPT, '--worker', `${model}:${seed}:${w}:${epochs}`, ...(a.runs ? ['--runs', a.runs] : [])];
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let tail = '';
    const relay = (d) => {
      tail = (tail + d).slice(-2000);
      for (const line of String(d).split(/\r|\n/)) if (line.trim() !== '') console.log(`[${tag}] ${line}`);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('close', (code) => {
      children.delete(child);
      if (code !== 0) failed.push(`${tag} (exit ${code}): ${tail.trim().split('\n').at(-1)}`);
      res();
    });
  });
}

await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) await runOne(m);
  }),
);
if (a.results !== undefined) {
  const rows = groups.flatMap((g) =>
    lib.collectDepthRuns(location, { models, seeds: g.seeds, widths: [g.width], budgets: g.budgets, runs: a.runs }),
  );
  if (rows.length > 0) {
    const pl = (await import('nodejs-polars')).default;
    await lib.mergeCsv(a.results, pl.DataFrame(rows), ['model', 'width', 'seed', 'budget', 'epoch']);
    console.log(`${rows.length} rows (every epoch of the runs on disk) merged into ${a.results}`);
  }
}
if (failed.length > 0) fail(`${failed.length} run(s) failed:\n  ${failed.join('\n  ')}`);
console.log(a.collect ? 'collected the runs on disk' : 'all runs finished: the notebooks 02 and 03 now load them');
