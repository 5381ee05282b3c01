/**
 * The depth experiments of chapters 2 and 3 (plain-8/20/56, ResNet-20/56 with one recipe): where
 * each run keeps its checkpoints, and training one net so that a notebook and
 * `npm run experiments` (which trains several side by side, one per core) share the same runs.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as pl from 'nodejs-polars';
import { type CourseData, type DataLocation, quickMode } from './course-data';
import type { ChannelStats } from '../data/cifar10';
import { initializeWeights } from '../model/init';
import { cifarNetByName } from '../model/nets';
import { layerResponseStd } from '../model/analysis';
import { loadCheckpoint, restoreCheckpoint } from '../train/checkpoint';
import { SgdMomentum } from '../train/sgd';
import { readHistoryCsv } from '../train/history';
import { formatDuration } from '../train/progress';
import { train } from '../train/trainer';
import { PACKAGE_ROOT } from '../util/package-root';
import { batches } from '../data/batches';
import { UsageError } from '../util/errors';

/** The nets the depth experiments train: chapter 3's shallow net, then chapter 2's four. */
export const DEPTH_EXPERIMENT_MODELS = ['plain8', 'plain20', 'plain56', 'resnet20', 'resnet56'] as const;

/**
 * Epochs of the paper's full-width nets in the depth experiments on the full set (30: 11 700
 * iterations of batch 128); 1 in quick mode. On a subset the experiments train reduced-width
 * replicas instead (see {@link depthExperimentPlan}).
 */
export function depthExperimentEpochs(location: DataLocation): number {
  return quickMode() ? 1 : location.kind === 'full' ? 30 : 100;
}

/** One group of runs of the depth experiments: nets of one width, trained for each budget and seed. */
export interface DepthRunGroup {
  /** Filters of the first stage: 16 is the paper's nets, less a reduced-width replica. */
  width: number;
  /** Budgets in epochs (each its own run: the cosine schedule spans the run). */
  budgets: number[];
  seeds: number[];
}

/**
 * The runs chapter 2 shows (and `npm run experiments` trains); the last group is the main one, three
 * seeds at the longest budget, which chapter 3 and Fig. 7 use too. On the full set: the paper's nets
 * (width 16) for {@link depthExperimentEpochs} epochs. On a subset: replicas at a quarter of the width
 * (4/8/16 filters, a sixteenth of the multiply-adds), cheap enough on a CPU to train ~4 000
 * iterations, with one seed at two shorter budgets (how the gaps move) and three seeds at the
 * longest. Quick mode: two seeds of a 1-epoch replica.
 */
export function depthExperimentPlan(location: DataLocation): DepthRunGroup[] {
  if (quickMode()) return [{ width: 4, budgets: [1], seeds: [0, 1] }];
  if (location.kind === 'full') return [{ width: 16, budgets: [depthExperimentEpochs(location)], seeds: [0, 1, 2] }];
  return [
    { width: 4, budgets: [25, 50], seeds: [0] },
    { width: 4, budgets: [depthExperimentEpochs(location)], seeds: [0, 1, 2] },
  ];
}

/** The repository's `runs/` folder (ignored by git), where the depth experiments keep their runs. */
export const RUNS_DIR = resolve(PACKAGE_ROOT, 'runs');

/** Which run of a net: its seed (initialisation, shuffling, augmentation) and its width. */
export interface DepthRunOptions {
  /** Seed of the weights, the shuffling and the augmentation, default 0. */
  seed?: number;
  /** Filters of the first stage (see `CifarNetOptions.width`), default 16: the paper's nets. */
  width?: number;
  /** The runs folder, default {@link RUNS_DIR}. */
  runs?: string;
}

/** The net of the depth experiments: plain, or a ResNet with the paper's option A shortcuts (§4.2). */
export function depthNet(model: string, width: number = 16): tf.LayersModel {
  // Option A (zero-padded identity) keeps a ResNet's parameters exactly its plain twin's (§4.2).
  return cifarNetByName(model, { width, ...(model.startsWith('resnet') ? { shortcut: 'zero-pad' as const } : {}) });
}

/** A net's name with its width when that is not the paper's: `resnet56`, `resnet56_w4`. */
export function depthNetLabel(model: string, width: number = 16): string {
  return width === 16 ? model : `${model}_w${width}`;
}

/**
 * The run folder of one net of the depth experiments:
 * `<runs>/depth-<subset|full>-<epochs>/<model>[_w<width>]/seed-<seed>`, `runs` defaulting to
 * {@link RUNS_DIR}. Quick mode keeps no runs (see {@link trainDepthNet}).
 */
export function depthRunDir(model: string, location: DataLocation, epochs: number, options: DepthRunOptions = {}): string {
  return join(
    options.runs ?? RUNS_DIR,
    `depth-${location.kind}-${epochs}`,
    depthNetLabel(model, options.width),
    `seed-${options.seed ?? 0}`,
  );
}

/**
 * The settings a depth run records (and checks on resume), so that a run started by
 * `npm run experiments` can be continued by {@link trainDepthNet} and the other way round.
 */
export function depthRunConfig(model: string, trainImages: number, width: number = 16): Record<string, string | number | boolean> {
  return { model, init: 'he', limitTrain: trainImages, augment: true, width, shortcut: model.startsWith('resnet') ? 'zero-pad' : 'none' };
}

/** What {@link trainDepthNet} returns. */
export interface DepthRun {
  /** The trained net (dispose it when done). */
  model: tf.LayersModel;
  /** One row per epoch (see `HISTORY_COLUMNS`). */
  history: pl.DataFrame;
  /** The run folder, or undefined in quick mode. */
  runDir: string | undefined;
}

/**
 * Train one net of the depth experiments with the course recipe (§4.2 with the cosine schedule of
 * the PyTorch reference: SGD momentum 0.9, weight decay 1e-4, batch 128, lr 0.1, crops and flips,
 * He initialisation; option A shortcuts; §4.2's warm-up for every net alike: lr 0.01 until the
 * training error is below 80%), checkpointing every epoch in {@link depthRunDir}. A run that
 * `npm run experiments` (or an interrupted notebook) started is continued, a finished one is loaded
 * as it is; one saved from another architecture, or before the recipe had its warm-up, is refused.
 * In quick mode nothing is kept.
 */
export async function trainDepthNet(name: string, course: CourseData, epochs: number, options: DepthRunOptions = {}): Promise<DepthRun> {
  const seed = options.seed ?? 0;
  const width = options.width ?? 16;
  const label = `${depthNetLabel(name, width)} seed ${seed}`;
  const model = depthNet(name, width);
  initializeWeights(model, { scheme: 'he', seed });
  const runDir = course.quick ? undefined : depthRunDir(name, course.location, epochs, options);
  if (runDir !== undefined) {
    const ckpt = await loadCheckpoint(runDir);
    const shown = relative(process.cwd(), runDir);
    if (ckpt !== undefined && ckpt.state.config['warmup'] === undefined)
      throw new UsageError(
        `${shown} holds a depth run saved before the course's recipe warmed up (§4.2): move it away, or delete it, to train it again`,
      );
    if (ckpt === undefined) console.log(`${label}: training from scratch, checkpoints in ${shown}`);
    else if (ckpt.state.epoch >= epochs)
      console.log(
        `${label}: the finished run in ${shown} is loaded (${ckpt.state.epoch} epochs, ${formatDuration(ckpt.state.seconds)} of training)`,
      );
    else console.log(`${label}: continuing the run in ${shown} from epoch ${ckpt.state.epoch} of ${epochs}`);
  }
  const history = await train(model, course.cifar, {
    epochs,
    seed,
    stats: course.stats,
    outDir: runDir,
    resume: true,
    warmup: true, // every net alike: without it some ResNet-56 seeds sat at chance for 10+ epochs
    config: depthRunConfig(name, course.cifar.train.n, width),
  });
  return { model, history, runDir };
}

/** One row of {@link collectDepthRuns}: a net's errors at one epoch of one run. */
export interface DepthRunRow {
  model: string;
  width: number;
  seed: number;
  /** The run's budget in epochs (its cosine schedule spans them). */
  budget: number;
  epoch: number;
  /** Running training error of the epoch (augmented batches, training mode), a fraction. */
  train_err: number;
  /** Test error after the epoch (inference mode), a fraction. */
  test_err: number;
}

/**
 * The epochs of every depth run found on disk for these nets, seeds, widths and budgets (runs not
 * started yet are left out; an unfinished run gives the epochs it has), from each run's
 * `history.csv`: the rows `results/degradation.csv` keeps.
 */
export function collectDepthRuns(
  location: DataLocation,
  o: { models: readonly string[]; seeds: readonly number[]; widths: readonly number[]; budgets: readonly number[]; runs?: string },
): DepthRunRow[] {
  const rows: DepthRunRow[] = [];
  for (const budget of o.budgets) {
    for (const width of o.widths) {
      for (const model of o.models) {
        for (const seed of o.seeds) {
          const file = join(depthRunDir(model, location, budget, { runs: o.runs, seed, width }), 'history.csv');
          if (!existsSync(file)) continue;
          for (const r of readHistoryCsv(file).toRecords()) {
            rows.push({
              model,
              width,
              seed,
              budget,
              epoch: Number(r['epoch']),
              train_err: Number(r['train_err']),
              test_err: Number(r['test_err']),
            });
          }
        }
      }
    }
  }
  return rows;
}

/** One row of {@link depthLayerResponses}: Fig. 7's measure for one 3×3 layer of one trained net. */
export interface LayerResponseRow {
  model: string;
  width: number;
  seed: number;
  /** 1-based position of the 3×3 layer, input to output. */
  layer: number;
  /** Standard deviation of the layer's response (after batch norm, before the ReLU or the addition). */
  std: number;
}

/**
 * Fig. 7's measure (§4.4) for one trained net: the standard deviation of each 3×3 layer's response,
 * after batch norm and before the addition and the ReLU, with batch norm in inference mode (its
 * stored statistics), over the first `images` test images normalised with `stats`.
 */
export function netLayerResponses(
  net: tf.LayersModel,
  course: CourseData,
  o: { images?: number; stats?: ChannelStats } = {},
): { layer: number; std: number }[] {
  const n = Math.min(o.images ?? 500, course.cifar.test.n);
  const stats = o.stats ?? course.stats;
  // Normalised as training and evaluation normalise them (the data layer's batches).
  const [first] = batches(course.cifar.test, { batchSize: n, stats, shuffle: false, augment: false });
  const x = tf.tensor4d(first!.x, [first!.size, 32, 32, 3]);
  try {
    return layerResponseStd(net, x).map((s) => ({ layer: s.index, std: s.value }));
  } finally {
    x.dispose();
  }
}

/**
 * {@link netLayerResponses} of the finished runs of the depth experiments, loaded from their
 * checkpoints (normalised with the statistics each run trained with). Runs that have not finished
 * their budget are left out.
 */
export async function depthLayerResponses(
  course: CourseData,
  epochs: number,
  o: { models: readonly string[]; seeds: readonly number[]; width?: number; runs?: string; images?: number },
): Promise<LayerResponseRow[]> {
  const width = o.width ?? 16;
  const rows: LayerResponseRow[] = [];
  for (const model of o.models) {
    for (const seed of o.seeds) {
      const runDir = depthRunDir(model, course.location, epochs, { runs: o.runs, seed, width });
      const ckpt = await loadCheckpoint(runDir);
      if (ckpt === undefined || ckpt.state.epoch < epochs) continue;
      const net = depthNet(model, width);
      const optimizer = new SgdMomentum();
      await restoreCheckpoint(ckpt, net, optimizer);
      optimizer.dispose();
      for (const r of netLayerResponses(net, course, { images: o.images, stats: ckpt.state.stats }))
        rows.push({ model, width, seed, ...r });
      net.dispose();
    }
  }
  return rows;
}
