/**
 * `residual experiments`: train the runs of the depth experiments (chapters 2 and 3: plain-8/20/56,
 * ResNet-20/56 with option A shortcuts) side by side, one process per core, into the run folders
 * the notebooks load (`runs/depth-<subset|full>-<epochs>/<model>[_w<width>]/seed-<seed>`). An
 * interrupted run is continued from its last epoch, a finished one is loaded as it is.
 */
import type { ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import pl from 'nodejs-polars';
import { useBestBackend } from '../../backend/best-backend';
import { type DataLocation, findOrDownloadCifar10, loadCourseData, quickMode } from '../../course/course-data';
import {
  DEPTH_EXPERIMENT_MODELS,
  type DepthRunGroup,
  collectDepthRuns,
  depthExperimentEpochs,
  depthExperimentPlan,
  depthNetLabel,
  depthRunDir,
  trainDepthNet,
} from '../../course/experiments';
import { mergeCsv } from '../../course/results';
import { cifarBlocksPerStage, parseCifarNetName } from '../../model/nets';
import { PACKAGE_ROOT } from '../../util/package-root';
import { UsageError } from '../../util/errors';
import { runChild } from '../child';
import { intArg, parseFlags } from './args';

const USAGE = `usage: residual experiments [--jobs N] [--models plain20,resnet56] [--seeds 0,1,2] [--width 16]
                            [--epochs 12,40] [--runs DIR] [--results FILE.csv] [--collect]

  Without --seeds, --width or --epochs: the runs chapter 2 shows (depthExperimentPlan in
  lib/course/experiments.ts); with any of them, that one group (defaults: seeds 0,1,2, width 16,
  the chapter's budget). The data is the course's (RESIDUAL_DATA, or data/cifar10 downloaded on
  first use). Each job runs single-threaded unless RESIDUAL_WASM_THREADS is set.

  --jobs N          trainings at a time (default: the cores)
  --results FILE    merge every epoch of the runs asked for (those on disk) into FILE
                    (model, width, seed, budget, epoch, train_err, test_err; other rows are kept),
                    also when some runs failed
  --collect         train nothing; only merge what is on disk into --results`;

/** One run: a net, its seed, width and budget. */
type Run = { model: string; seed: number; width: number; epochs: number };

function integers(flag: string, text: string): number[] {
  const list = text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map(Number);
  if (list.length === 0 || list.some((v) => !Number.isInteger(v) || v < 0))
    throw new UsageError(`--${flag} takes whole numbers separated by commas, got '${text}'`);
  return list;
}

function parseModels(text: string | undefined): string[] {
  const models =
    text === undefined
      ? [...DEPTH_EXPERIMENT_MODELS]
      : text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  for (const m of models) {
    const parsed = parseCifarNetName(m);
    if (parsed === undefined) throw new UsageError(`--models: '${m}' is not a CIFAR net name (plain8, plain20, resnet56, …)`);
    try {
      cifarBlocksPerStage(parsed.depth);
    } catch (e) {
      throw new UsageError(`--models ${m}: ${(e as Error).message}`);
    }
  }
  return models;
}

/** `--worker model:seed:width:epochs`: one net, in this process. */
async function worker(spec: string, runs: string | undefined): Promise<void> {
  // It stops when the process that started it is gone (its output pipe breaks).
  process.stdout.on('error', () => process.exit(1));
  process.stderr.on('error', () => process.exit(1));
  const [model, seed, width, epochs] = spec.split(':');
  await useBestBackend({ verbose: false });
  const course = await loadCourseData();
  const run = await trainDepthNet(model!, course, Number(epochs), { runs, seed: Number(seed), width: Number(width) });
  const last = run.history.toRecords().at(-1)!;
  console.log(
    `done: ${run.history.height} epochs, training error ${(100 * Number(last['train_err'])).toFixed(1)}% (running), test error ${(100 * Number(last['test_err'])).toFixed(1)}%`,
  );
  run.model.dispose();
}

/** Train one run in a child process, its output relayed line by line under a tag; resolves with the failure, if any. */
async function trainInChild(r: Run, location: DataLocation, jobs: number, runs: string | undefined): Promise<string | undefined> {
  const tag = `${depthNetLabel(r.model, r.width)}/${r.seed}/${r.epochs}`;
  const env: NodeJS.ProcessEnv = { ...process.env, RESIDUAL_DATA: location.dir }; // found (or downloaded) once, here
  if (env.RESIDUAL_WASM_THREADS === undefined && jobs > 1) env.RESIDUAL_WASM_THREADS = '1';
  const args = [path.join(PACKAGE_ROOT, 'dist', 'cli.js'), 'experiments', '--worker', `${r.model}:${r.seed}:${r.width}:${r.epochs}`];
  let tail = '';
  const relay = (chunk: string): void => {
    tail = (tail + chunk).slice(-2000);
    for (const line of chunk.split(/\r|\n/)) if (line.trim() !== '') console.log(`[${tag}] ${line}`);
  };
  const { code } = await runChild(process.execPath, [...args, ...(runs ? ['--runs', runs] : [])], {
    env,
    onOutput: relay,
    running: children,
  });
  return code === 0 ? undefined : `${tag} (exit ${code}): ${tail.trim().split('\n').at(-1)}`;
}

const children = new Set<ChildProcess>();

/** Entry point of `residual experiments`. */
export async function main(argv: string[]): Promise<void> {
  const a = parseFlags(
    argv,
    {
      jobs: { type: 'string' },
      models: { type: 'string' },
      seeds: { type: 'string' },
      width: { type: 'string' },
      epochs: { type: 'string' },
      runs: { type: 'string' },
      results: { type: 'string' },
      collect: { type: 'boolean', default: false },
      worker: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
  if (a.help) return console.log(USAGE);
  const runs = a.runs === undefined ? undefined : path.resolve(a.runs);
  if (a.worker !== undefined) return worker(a.worker, runs);

  const models = parseModels(a.models);
  const width = intArg(a.width, 'width') ?? 16;
  const jobs = intArg(a.jobs, 'jobs') ?? availableParallelism();
  if (quickMode())
    throw new UsageError('RESIDUAL_QUICK is set: quick runs keep no checkpoints, so there is nothing to train ahead (unset it)');
  if (a.collect && a.results === undefined) throw new UsageError('--collect merges runs into the --results file: name one');
  const location = await findOrDownloadCifar10();
  const asked = a.seeds !== undefined || a.width !== undefined || a.epochs !== undefined;
  const groups: DepthRunGroup[] = asked
    ? [
        {
          width,
          budgets: a.epochs === undefined ? [depthExperimentEpochs(location)] : integers('epochs', a.epochs),
          seeds: integers('seeds', a.seeds ?? '0,1,2'),
        },
      ]
    : depthExperimentPlan(location);
  if (groups.some((g) => g.budgets.includes(0))) throw new UsageError('--epochs: a budget must be at least 1 epoch');

  const all: Run[] = groups.flatMap((g) =>
    g.budgets.flatMap((epochs) => g.seeds.flatMap((seed) => models.map((model) => ({ model, seed, width: g.width, epochs })))),
  );
  console.log(`${all.length} runs of ${models.length} nets, ${Math.min(jobs, all.length)} at a time, on ${location.description}`);
  for (const r of all) {
    const dir = depthRunDir(r.model, location, r.epochs, { runs, seed: r.seed, width: r.width });
    console.log(`  ${depthNetLabel(r.model, r.width)} seed ${r.seed}, ${r.epochs} epochs → ${path.relative(process.cwd(), dir)}`);
  }
  // Stopping this command stops its trainings (each keeps its last finished epoch for a later call).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const child of children) child.kill('SIGTERM');
      console.error(`residual experiments: stopped by ${signal}; run it again to continue from the last finished epochs`);
      process.exit(130);
    });
  }
  // The longest first (depth × width × epochs), so that the last job to start is a short one.
  const cost = (r: Run) => parseCifarNetName(r.model)!.depth * r.width * r.epochs;
  const queue = a.collect ? [] : [...all].sort((x, y) => cost(y) - cost(x));
  const failed: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
        const failure = await trainInChild(r, location, jobs, runs);
        if (failure !== undefined) failed.push(failure);
      }
    }),
  );
  if (a.results !== undefined) {
    const rows = groups.flatMap((g) => collectDepthRuns(location, { models, seeds: g.seeds, widths: [g.width], budgets: g.budgets, runs }));
    if (rows.length > 0) {
      await mergeCsv(a.results, pl.DataFrame(rows), ['model', 'width', 'seed', 'budget', 'epoch']);
      console.log(`${rows.length} rows (every epoch of the runs on disk) merged into ${a.results}`);
    }
  }
  if (failed.length > 0) throw new UsageError(`${failed.length} run(s) failed:\n  ${failed.join('\n  ')}`);
  console.log(a.collect ? 'collected the runs on disk' : 'all runs finished: the notebooks 02 and 03 now load them');
}
