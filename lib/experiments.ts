/**
 * The depth experiments of chapters 2 and 3 (plain-8/20/56, ResNet-20/56 with one recipe): where
 * each run keeps its checkpoints, and training one net so that a notebook and
 * `npm run experiments` (which trains several side by side, one per core) share the same runs.
 */
import * as tf from '@tensorflow/tfjs';
import { join, relative, resolve } from 'node:path';
import * as pl from 'nodejs-polars';
import { type CourseData, type DataLocation } from './course';
import { initializeWeights } from './init';
import { cifarNetByName } from './nets';
import { loadCheckpoint } from './train/checkpoint';
import { formatDuration } from './train/progress';
import { train } from './train/trainer';

/** The nets the depth experiments train: chapter 3's shallow net, then chapter 2's four. */
export const DEPTH_EXPERIMENT_MODELS = ['plain8', 'plain20', 'plain56', 'resnet20', 'resnet56'] as const;

/** The repository's `runs/` folder (ignored by git), where the depth experiments keep their runs. */
export const RUNS_DIR = resolve(__dirname, '..', 'runs');

/**
 * The run folder of one net of the depth experiments: `<runs>/depth-<subset|full>-<epochs>/<model>`,
 * `runs` defaulting to {@link RUNS_DIR}. Quick mode keeps no runs (see {@link trainDepthNet}).
 */
export function depthRunDir(model: string, location: DataLocation, epochs: number, runs: string = RUNS_DIR): string {
  return join(runs, `depth-${location.kind}-${epochs}`, model);
}

/**
 * The settings `residual train` records for a CIFAR net built by name (and checks on `--resume`),
 * so that a run started by the CLI can be continued by {@link trainDepthNet} and the other way round.
 */
export function depthRunConfig(model: string, trainImages: number): Record<string, string | number | boolean> {
  return { model, init: 'he', limitTrain: trainImages, augment: true };
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
 * He initialisation and seed 0), checkpointing every epoch in {@link depthRunDir}. A run that
 * `npm run experiments` (or an interrupted notebook) started is continued, a finished one is
 * loaded as it is. In quick mode nothing is kept on disk.
 */
export async function trainDepthNet(name: string, course: CourseData, epochs: number, options: { runs?: string } = {}): Promise<DepthRun> {
  const model = cifarNetByName(name);
  initializeWeights(model, { scheme: 'he', seed: 0 });
  const runDir = course.quick ? undefined : depthRunDir(name, course.location, epochs, options.runs);
  if (runDir !== undefined) {
    const ckpt = await loadCheckpoint(runDir);
    const shown = relative(process.cwd(), runDir);
    if (ckpt === undefined) console.log(`${name}: training from scratch, checkpoints in ${shown}`);
    else if (ckpt.state.epoch >= epochs) console.log(`${name}: the finished run in ${shown} is loaded (${ckpt.state.epoch} epochs, ${formatDuration(ckpt.state.seconds)} of training)`);
    else console.log(`${name}: continuing the run in ${shown} from epoch ${ckpt.state.epoch} of ${epochs}`);
  }
  const history = await train(model, course.cifar, {
    epochs,
    seed: 0,
    stats: course.stats,
    outDir: runDir,
    resume: true,
    config: depthRunConfig(name, course.cifar.train.n),
  });
  return { model, history, runDir };
}
