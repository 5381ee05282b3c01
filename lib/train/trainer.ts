/**
 * The training loop of §4.2 for the CIFAR nets: mini-batch SGD with momentum and weight decay
 * ({@link SgdMomentum}), softmax cross-entropy from logits, batch norm in training mode (batch
 * statistics; the moving averages are updated for inference), a learning-rate schedule per step,
 * evaluation in inference mode after each epoch, a checkpoint per epoch, resume, and a stop on a
 * non-finite loss.
 */
import * as tf from '@tensorflow/tfjs';
import type pl from 'nodejs-polars';
import * as path from 'node:path';
import { batches } from '../data/batches';
import { channelStats, type ChannelStats, type Cifar10Split } from '../data/cifar10';
import { UsageError } from '../util/errors';
import {
  checkCheckpointTopology,
  loadCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  type Checkpoint,
  type CheckpointState,
} from './checkpoint';
import { batchLossAndCorrect, evaluate } from './evaluate';
import { historyFrame, writeHistoryCsv, type HistoryRow } from './history';
import { lockRunDir } from './lock';
import { inspectRunDir, removeUnusedRunDir } from './run-dir';
import { formatDuration, ProgressBar, type ProgressOptions } from './progress';
import { scheduleByName, type Schedule, type ScheduleName, type WarmupOptions } from './schedule';
import { SgdMomentum, type WeightDecayScope } from './sgd';
import { topologyFingerprint } from './topology';
import { installLeanBackward } from '../backend/lean-backward';

/** The data a run trains and evaluates on (the data module's `Cifar10`, or any two splits). */
export interface TrainData {
  train: Cifar10Split;
  /** Evaluated after each epoch; omit to skip evaluation (test columns are then NaN). */
  test?: Cifar10Split;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Epochs to train in total (a resumed run continues up to this; it must be the same number). */
  epochs: number;
  /** Mini-batch size, default 128 (§4.2). */
  batchSize?: number;
  /** Initial learning rate, default 0.1 (§4.2). */
  lr?: number;
  /**
   * `'cosine'` (default, as the PyTorch reference), `'step'` (÷10 at 1/2 and 3/4 of the run: the
   * paper's 32k/48k of 64k), or a function of the step.
   */
  schedule?: ScheduleName | Schedule;
  /** The §4.2 warm-up (`true` for its defaults: 0.01 until the training error is below 80%, or 400 steps). */
  warmup?: boolean | WarmupOptions;
  /** Momentum, default 0.9. */
  momentum?: number;
  /** Weight decay, default 1e-4. */
  weightDecay?: number;
  /** Parameters weight decay applies to, default `'all'` (as PyTorch's reference); see {@link WeightDecayScope}. */
  weightDecayScope?: WeightDecayScope;
  /** Seed of shuffling and augmentation, default 0. */
  seed?: number;
  /** Random crop (4-pixel padding) and horizontal flip (§4.2), default true. */
  augment?: boolean;
  /** Normalisation statistics, default: those of `data.train` (per-pixel mean subtraction, §4.2, per channel). */
  stats?: ChannelStats;
  /** Run folder: a checkpoint per epoch and `history.csv`. Without it nothing is written. */
  outDir?: string;
  /** Continue the run in `outDir` from its checkpoint (default false: refuse a folder holding a run). */
  resume?: boolean;
  /** Progress display; `false` for none. Default: the automatic {@link ProgressBar}. */
  progress?: boolean | ProgressOptions;
  /** Images per evaluation pass, default 250. */
  evalBatchSize?: number;
  /** Settings recorded in the checkpoint and checked on resume (e.g. the model name). */
  config?: Record<string, string | number | boolean>;
}

/** What {@link TrainCallbacks.onStep} receives. */
export interface StepInfo {
  epoch: number;
  /** Steps completed in the run. */
  step: number;
  lr: number;
  loss: number;
  /** Error of this batch, fraction. */
  err: number;
}

/** Hooks into the loop. An exception thrown by a hook ends the run (the last checkpoint stays). */
export interface TrainCallbacks {
  /** After each optimisation step. */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** After each epoch, once its checkpoint is written. */
  onEpochEnd?: (row: HistoryRow) => void | Promise<void>;
}

/** The loss became NaN or infinite: the run stopped, the last checkpoint is kept. */
export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
}

function positiveInt(v: number, what: string): number {
  if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`${what} must be a positive integer, got ${v}`);
  return v;
}

/**
 * One optimisation step: forward in training mode, loss, gradients, update. Returns the loss and
 * the number of correct predictions of the batch (still on the device).
 */
export function trainStep(
  model: tf.LayersModel,
  optimizer: SgdMomentum,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
): { loss: tf.Scalar; correct: tf.Scalar } {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    // training: true → batch statistics, and the BN moving averages are updated (§3.4).
    const logits = model.apply(x, { training: true }) as tf.Tensor;
    const r = batchLossAndCorrect(logits, y);
    correct = tf.keep(r.correct);
    return r.loss;
  }, variables);
  optimizer.applyGradients(variables, grads, lr);
  tf.dispose(grads);
  if (correct === undefined) throw new Error('training step produced no prediction');
  return { loss: value, correct };
}

/**
 * Train `model` on `data` (see {@link TrainOptions}) and return the history, one row per epoch,
 * as a DataFrame with columns epoch, step, lr, train_loss, train_err, test_loss, test_err,
 * img_per_s, seconds.
 *
 * @throws TrainingDivergedError when the loss becomes NaN/∞ (the last good checkpoint is kept).
 * @example
 * ```ts
 * const data = await loadCifar10('data/cifar-10-batches-bin');
 * const history = await train(resnetCifar(20), data, { epochs: 30, outDir: 'runs/r20' });
 * ```
 */
export async function train(
  model: tf.LayersModel,
  data: TrainData,
  options: TrainOptions,
  callbacks: TrainCallbacks = {},
): Promise<pl.DataFrame> {
  installLeanBackward(); // whatever backend the caller chose (lib/backend/lean-backward.ts)
  // A folder that is not a run of ours, or a damaged run, is refused before anything is written.
  const fresh = options.outDir !== undefined && inspectRunDir(options.outDir).absent;
  // One process per run folder: another one writing the same checkpoints is refused (lib/train/lock.ts).
  const unlock = options.outDir !== undefined ? lockRunDir(options.outDir) : undefined;
  try {
    return await trainInRunDir(model, data, options, callbacks);
  } finally {
    unlock?.();
    // A run that failed before its first checkpoint leaves no folder it made behind.
    if (fresh) removeUnusedRunDir(options.outDir!);
  }
}

/** Steps after which a run estimates how long it will take. */
const ETA_STEPS = 5;

/** One line up front when the run will take more than a day at the speed of its first steps. */
function warnIfLong(seconds: number, images: number, imagesLeft: number): void {
  const ips = images / Math.max(seconds, 1e-9);
  const left = imagesLeft / ips;
  if (left > 86_400) {
    console.warn(
      `at ${Math.round(ips)} images/s (the first ${ETA_STEPS} steps) this run needs about ${(left / 86_400).toFixed(left > 864_000 ? 0 : 1)} more days; stop it (Ctrl-C) and choose fewer epochs if that is not what you want`,
    );
  }
}

function warmupOf(options: TrainOptions): Required<WarmupOptions> | undefined {
  if (options.warmup === undefined || options.warmup === false) return undefined;
  return { lr: 0.01, untilTrainErr: 0.8, maxSteps: 400, ...(options.warmup === true ? {} : options.warmup) };
}

/**
 * The settings a run records in its checkpoints and checks when it is continued: those that change
 * the result (the batch, the schedule and its length, the optimiser, augmentation, warm-up) and
 * `options.config` (e.g. the model's name).
 */
export function runSettings(options: TrainOptions): Record<string, string | number | boolean> {
  const warm = warmupOf(options);
  return {
    batchSize: options.batchSize ?? 128,
    epochs: options.epochs, // the schedule spans the whole run: resuming with another length would bend it
    lr: options.lr ?? 0.1,
    schedule: typeof options.schedule === 'function' ? 'custom' : (options.schedule ?? 'cosine'),
    // Runs saved before these were recorded are not checked on them.
    momentum: options.momentum ?? 0.9,
    weightDecay: options.weightDecay ?? 1e-4,
    weightDecayScope: options.weightDecayScope ?? 'all',
    augment: options.augment ?? true,
    warmup: warm === undefined ? 'off' : `${warm.lr} until ${warm.untilTrainErr} or ${warm.maxSteps} steps`,
    ...options.config,
  };
}

/**
 * Refuse to continue the run in `outDir` (its checkpoint `ckpt`) with other settings or another
 * seed: a `UsageError` naming the folder and the first setting that differs.
 */
export function checkResumable(ckpt: Checkpoint, settings: Record<string, string | number | boolean>, seed: number, outDir: string): void {
  for (const [k, v] of Object.entries(settings)) {
    const was = ckpt.state.config[k];
    if (was !== undefined && was !== v) {
      const why = k === 'epochs' ? ' (the learning-rate schedule spans the planned epochs)' : '';
      throw new UsageError(`cannot continue ${outDir}: it was trained with ${k}=${String(was)}, not ${String(v)}${why}`);
    }
  }
  if (ckpt.state.seed !== seed) throw new UsageError(`cannot continue ${outDir}: it was trained with seed ${ckpt.state.seed}, not ${seed}`);
}

/** What a run is, fixed before its first step: its length, batch, schedule, warm-up and recorded settings. */
interface RunPlan {
  epochs: number;
  batchSize: number;
  /** The initial learning rate. */
  lr0: number;
  seed: number;
  stepsPerEpoch: number;
  totalSteps: number;
  schedule: Schedule;
  warm: Required<WarmupOptions> | undefined;
  config: Record<string, string | number | boolean>;
}

function planRun(data: TrainData, options: TrainOptions): RunPlan {
  const epochs = positiveInt(options.epochs, 'epochs');
  const batchSize = positiveInt(options.batchSize ?? 128, 'batch size');
  const lr0 = options.lr ?? 0.1;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new UsageError(`seed must be an integer, got ${seed}`);
  if (data.train.n === 0) throw new UsageError('the training split is empty');
  const stepsPerEpoch = Math.ceil(data.train.n / batchSize); // the last, smaller batch is kept (as PyTorch)
  const totalSteps = epochs * stepsPerEpoch;
  const schedule: Schedule =
    typeof options.schedule === 'function' ? options.schedule : scheduleByName(options.schedule ?? 'cosine', lr0, totalSteps);
  return { epochs, batchSize, lr0, seed, stepsPerEpoch, totalSteps, schedule, warm: warmupOf(options), config: runSettings(options) };
}

/** Where a run stands: nothing yet, or what its last checkpoint holds. */
interface RunState {
  stats: ChannelStats;
  history: HistoryRow[];
  /** Epochs done. */
  epoch: number;
  /** Steps done. */
  step: number;
  /** Seconds of training before this call. */
  seconds: number;
  warmupDone: boolean;
}

/** The state to start from: a fresh run, or the checkpoint in `outDir` restored into `model` and `optimizer`. */
async function startOrResume(
  model: tf.LayersModel,
  optimizer: SgdMomentum,
  data: TrainData,
  plan: RunPlan,
  options: TrainOptions,
): Promise<RunState> {
  const fresh: RunState = {
    stats: options.stats ?? channelStats(data.train),
    history: [],
    epoch: 0,
    step: 0,
    seconds: 0,
    warmupDone: plan.warm === undefined,
  };
  const outDir = options.outDir;
  if (outDir === undefined) return fresh;
  const ckpt = await loadCheckpoint(outDir);
  if (ckpt === undefined) return fresh;
  if (!options.resume) {
    throw new UsageError(
      `${outDir} already holds a run (epoch ${ckpt.state.epoch}): continue it (resume: true) or train into another folder`,
    );
  }
  await checkCheckpointTopology(ckpt, model); // first: a run never continues on another architecture
  checkResumable(ckpt, plan.config, plan.seed, outDir);
  await restoreCheckpoint(ckpt, model, optimizer);
  const { stats, history, epoch, step, seconds, warmupDone } = ckpt.state;
  return { stats, history, epoch, step, seconds, warmupDone };
}

/** §4.2's warm-up: lr 0.01 "until the training error is below 80%" (the mean of the last 10 steps), or at most `maxSteps`. */
class Warmup {
  private readonly recent: number[] = [];
  constructor(
    private readonly warm: Required<WarmupOptions> | undefined,
    public done: boolean,
  ) {}
  /** The warm-up's learning rate while it lasts, else the schedule's. */
  lr(scheduled: () => number): number {
    return !this.done && this.warm !== undefined ? this.warm.lr : scheduled();
  }
  /** Record the training error of a step (`step` steps done). */
  observe(err: number, step: number): void {
    if (this.done || this.warm === undefined) return;
    this.recent.push(err);
    if (this.recent.length > 10) this.recent.shift();
    const mean = this.recent.reduce((s, e) => s + e, 0) / this.recent.length;
    if ((this.recent.length >= Math.min(10, this.warm.maxSteps) && mean < this.warm.untilTrainErr) || step >= this.warm.maxSteps)
      this.done = true;
  }
}

/** One SGD step on a batch; its loss and error, read back. */
async function trainBatch(
  model: tf.LayersModel,
  optimizer: SgdMomentum,
  b: { x: Float32Array; y: Int32Array; size: number },
  lr: number,
): Promise<{ loss: number; err: number }> {
  const x = tf.tensor4d(b.x, [b.size, 32, 32, 3]);
  const y = tf.tensor1d(b.y, 'int32');
  const r = trainStep(model, optimizer, x, y, lr);
  tf.dispose([x, y]);
  const [lv, cv] = await Promise.all([r.loss.data(), r.correct.data()]);
  tf.dispose([r.loss, r.correct]);
  return { loss: lv[0]!, err: 1 - cv[0]! / b.size };
}

function divergedError(
  loss: number,
  epoch: number,
  step: number,
  lr: number,
  history: HistoryRow[],
  outDir: string | undefined,
): TrainingDivergedError {
  const kept =
    history.length > 0 ? `the last good checkpoint (epoch ${history[history.length - 1]!.epoch}) is kept` : 'no checkpoint was written yet';
  return new TrainingDivergedError(
    `training diverged: the loss is ${loss} at epoch ${epoch}, step ${step} (lr ${lr}); ${kept}${outDir ? ` in ${outDir}` : ''}. Try a smaller --lr.`,
  );
}

/** The line a finished epoch prints under its progress bar. */
function epochLine(row: HistoryRow, epochs: number, tested: boolean): string {
  return (
    `epoch ${row.epoch}/${epochs} train loss ${row.train_loss.toFixed(4)} err ${(row.train_err * 100).toFixed(2)}%` +
    (tested ? ` | test loss ${row.test_loss.toFixed(4)} err ${(row.test_err * 100).toFixed(2)}%` : '') +
    ` | ${Math.round(row.img_per_s)} img/s | ${formatDuration(row.seconds)}`
  );
}

async function trainInRunDir(
  model: tf.LayersModel,
  data: TrainData,
  options: TrainOptions,
  callbacks: TrainCallbacks,
): Promise<pl.DataFrame> {
  const plan = planRun(data, options);
  const { epochs, batchSize, seed, stepsPerEpoch, totalSteps } = plan;
  const optimizer = new SgdMomentum({
    momentum: options.momentum,
    weightDecay: options.weightDecay,
    weightDecayScope: options.weightDecayScope,
  });
  const outDir = options.outDir;
  const topology = outDir !== undefined ? topologyFingerprint(model) : undefined;
  const run = await startOrResume(model, optimizer, data, plan, options);
  const { stats, history } = run;
  // Saved with the model (model.json userDefinedMetadata) so that evaluation normalises the same way.
  model.setUserDefinedMetadata({ ...(model.getUserDefinedMetadata() ?? {}), stats });

  const progressOpts = options.progress === undefined || options.progress === true ? {} : options.progress;
  const bar = progressOpts === false ? undefined : new ProgressBar(progressOpts);
  const started = Date.now();
  const firstStep = run.step;
  const warmup = new Warmup(plan.warm, run.warmupDone);
  try {
    for (let epoch = run.epoch + 1; epoch <= epochs; epoch++) {
      const t0 = Date.now();
      let [lossSum, wrong, seen, stepInEpoch, lr] = [0, 0, 0, 0, plan.lr0];
      for (const b of batches(data.train, {
        batchSize,
        stats,
        shuffle: true,
        augment: options.augment ?? true,
        seed,
        epoch,
        dropLast: false,
      })) {
        lr = warmup.lr(() => plan.schedule(run.step));
        const { loss, err } = await trainBatch(model, optimizer, b, lr);
        run.step += 1;
        stepInEpoch += 1;
        if (!Number.isFinite(loss)) throw divergedError(loss, epoch, run.step, lr, history, outDir);
        lossSum += loss * b.size;
        wrong += err * b.size;
        seen += b.size;
        warmup.observe(err, run.step);
        if (bar !== undefined) {
          const ips = seen / Math.max((Date.now() - t0) / 1000, 1e-9);
          const secondsLeft = ((totalSteps - run.step) * batchSize) / ips;
          bar.update({
            epoch,
            epochs,
            stepInEpoch,
            stepsPerEpoch,
            loss: lossSum / seen,
            err: wrong / seen,
            lr,
            imgPerSec: ips,
            secondsLeft,
          });
          if (run.step === firstStep + ETA_STEPS)
            warnIfLong((Date.now() - started) / 1000, ETA_STEPS * batchSize, (totalSteps - run.step) * batchSize);
        }
        await callbacks.onStep?.({ epoch, step: run.step, lr, loss, err });
      }
      const trainSeconds = (Date.now() - t0) / 1000;
      const test = data.test !== undefined ? await evaluate(model, data.test, { stats, batchSize: options.evalBatchSize }) : undefined;
      const row: HistoryRow = {
        epoch,
        step: run.step,
        lr,
        train_loss: lossSum / seen,
        train_err: wrong / seen,
        test_loss: test?.loss ?? NaN,
        test_err: test !== undefined ? 1 - test.accuracy : NaN,
        img_per_s: seen / Math.max(trainSeconds, 1e-9),
        seconds: run.seconds + (Date.now() - started) / 1000,
      };
      history.push(row);
      if (outDir !== undefined) {
        const state: CheckpointState = {
          version: 1,
          epoch,
          step: run.step,
          seed,
          stats,
          history,
          seconds: row.seconds,
          warmupDone: warmup.done,
          config: plan.config,
          topology,
        };
        await saveCheckpoint(outDir, model, optimizer, state);
        await writeHistoryCsv(path.join(outDir, 'history.csv'), history);
      }
      bar?.epochEnd(epochLine(row, epochs, test !== undefined));
      await callbacks.onEpochEnd?.(row);
    }
  } finally {
    bar?.close();
    optimizer.dispose();
  }
  return historyFrame(history);
}
