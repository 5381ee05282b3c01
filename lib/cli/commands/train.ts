/**
 * `residual train --model resnet20 --data DIR --epochs N --out DIR [...]`: train a CIFAR net with
 * the recipe of §4.2 (SGD, momentum 0.9, weight decay 1e-4, batch 128, lr 0.1, cosine or the
 * paper's step schedule), a checkpoint per epoch in --out, `--resume` to continue a stopped run.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { useBestBackend } from '../../backend/best-backend';
import { loadCifar10 } from '../../data/cifar10';
import { UsageError } from '../../util/errors';
import { intArg, numArg, parseFlags } from './args';
import { initializeWeights, INIT_SCHEMES, type InitScheme } from '../../model/init';
import { cifarBlocksPerStage, cifarNetByName, parseCifarNetName } from '../../model/nets';
import type { Shortcut } from '../../model/blocks';
import { fileModelHandler, loadCheckpoint, MODEL_JSON } from '../../train/checkpoint';
import { checkRunDirFree } from '../../train/lock';
import { inspectRunDir } from '../../train/run-dir';
import type { WeightDecayScope } from '../../train/sgd';
import { checkResumable, runSettings, train, TrainingDivergedError } from '../../train/trainer';

const USAGE = `usage: residual train --model NAME|DIR --data DIR --epochs N --out DIR [options]

  --model NAME|DIR    resnet20, resnet32, resnet44, resnet56, resnet110, …, plain20, …
                      (depth 6n+2, §4.2), or a folder with a saved model.json to start from
  --data DIR          CIFAR-10 binary folder (data_batch_1..5.bin, test_batch.bin)
  --epochs N          epochs in total (--resume needs the same N: the schedule spans them)
  --out DIR           run folder: checkpoints/, LATEST, history.csv
  --seed N            seed of the initial weights, shuffling and augmentation (default 0)
  --init SCHEME       he (default, §3.4) or pytorch (PyTorch's nn.Conv2d/nn.Linear default,
                      as the reference trainer)
  --batch N           mini-batch size (default 128)
  --lr X              initial learning rate (default 0.1)
  --schedule NAME     cosine (default, per step) or step (÷10 at 1/2 and 3/4 of the run, §4.2)
  --warmup MODE       auto (default: on for depth ≥ 110, §4.2), on or off: lr 0.01 until
                      the training error is below 80% or 400 steps
  --weight-decay X    default 1e-4
  --decay-scope S     all (default, as PyTorch's reference) or kernels
  --shortcut S        auto (default, option B), zero-pad (option A), projection
  --limit-train N     use the first N training images
  --limit-test N      use the first N test images
  --no-augment        no random crop/flip
  --resume            continue the run in --out from its checkpoint
  backend: RESIDUAL_BACKEND=tensorflow|wasm|cpu overrides the automatic choice`;

function parse(argv: string[]) {
  return parseFlags(
    argv,
    {
      model: { type: 'string' },
      data: { type: 'string' },
      epochs: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string', default: '0' },
      init: { type: 'string', default: 'he' },
      batch: { type: 'string', default: '128' },
      lr: { type: 'string', default: '0.1' },
      schedule: { type: 'string', default: 'cosine' },
      warmup: { type: 'string', default: 'auto' },
      'weight-decay': { type: 'string', default: '1e-4' },
      'decay-scope': { type: 'string', default: 'all' },
      shortcut: { type: 'string', default: 'auto' },
      'limit-train': { type: 'string' },
      'limit-test': { type: 'string' },
      'no-augment': { type: 'boolean', default: false },
      resume: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
}

/** The model saved in `dir`, or a UsageError saying why it cannot be read. */
async function loadModelFrom(dir: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(fileModelHandler(dir));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `--model ${dir}: ${MODEL_JSON} cannot be read as a TensorFlow.js layers model (${(err as Error).message.split('\n')[0]})`,
    );
  }
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required\n\n${USAGE}`);
  return value;
}

/** Entry point of `residual train`. */
export async function main(argv: string[]): Promise<void> {
  const a = parse(argv);
  if (a.help) {
    console.log(USAGE);
    return;
  }
  const modelArg = required(a.model, 'model');
  const dataDir = required(a.data, 'data');
  const epochs = intArg(required(a.epochs, 'epochs'), 'epochs')!;
  const out = required(a.out, 'out');
  const seed = intArg(a.seed, 'seed', 0)!;
  const batchSize = intArg(a.batch, 'batch')!;
  const lr = numArg(a.lr, 'lr');
  const weightDecay = numArg(a['weight-decay'], 'weight-decay', true);
  if (a.schedule !== 'cosine' && a.schedule !== 'step') throw new UsageError(`--schedule must be cosine or step, got '${a.schedule}'`);
  if (!['auto', 'on', 'off'].includes(a.warmup)) throw new UsageError(`--warmup must be auto, on or off, got '${a.warmup}'`);
  if (a['decay-scope'] !== 'all' && a['decay-scope'] !== 'kernels')
    throw new UsageError(`--decay-scope must be all or kernels, got '${a['decay-scope']}'`);
  if (!(INIT_SCHEMES as readonly string[]).includes(a.init))
    throw new UsageError(`--init must be ${INIT_SCHEMES.join(' or ')}, got '${a.init}'`);
  if (!['auto', 'zero-pad', 'projection'].includes(a.shortcut))
    throw new UsageError(`--shortcut must be auto, zero-pad or projection, got '${a.shortcut}'`);
  const limitTrain = intArg(a['limit-train'], 'limit-train');
  const limitTest = intArg(a['limit-test'], 'limit-test');
  const fromDir = existsSync(path.join(modelArg, MODEL_JSON));
  const parsed = parseCifarNetName(modelArg);
  if (!fromDir && parsed === undefined) {
    throw new UsageError(`--model '${modelArg}' is neither a CIFAR net name (resnet20, plain56, …) nor a folder with ${MODEL_JSON}`);
  }
  if (parsed !== undefined) {
    try {
      cifarBlocksPerStage(parsed.depth);
    } catch (err) {
      throw new UsageError(`--model ${modelArg}: ${(err as Error).message}`);
    }
  }
  if (!existsSync(dataDir)) throw new UsageError(`--data ${dataDir}: no such folder`);
  // The run folder is checked before anything is loaded or written (lib/train/run-dir.ts).
  const run = inspectRunDir(out);
  if (!run.absent) checkRunDirFree(out); // another process training there
  if (a.resume && run.latest === undefined)
    throw new UsageError(`--resume: nothing to resume in ${out}; drop --resume to start a run there`);
  if (!a.resume && run.latest !== undefined) {
    throw new UsageError(`${out} already holds a run (${run.latest}): pass --resume to continue it, or choose another --out`);
  }
  const depth = parsed?.depth ?? 0;
  const warmup = a.warmup === 'on' || (a.warmup === 'auto' && depth >= 110);
  const options = {
    epochs,
    batchSize,
    lr,
    schedule: a.schedule as 'cosine' | 'step',
    warmup,
    weightDecay,
    weightDecayScope: a['decay-scope'] as WeightDecayScope,
    seed,
    augment: !a['no-augment'],
    outDir: out,
    resume: a.resume,
  };
  const config = {
    model: fromDir ? `dir:${path.resolve(modelArg)}` : modelArg,
    init: fromDir ? 'from model' : a.init,
    augment: !a['no-augment'],
  };
  if (a.resume) {
    // The checkpoint parses and was trained with these settings (the number of training images is
    // checked once the data is loaded).
    const ckpt = await loadCheckpoint(out);
    if (ckpt !== undefined) checkResumable(ckpt, runSettings({ ...options, config }), seed, out);
  }

  const backend = await useBestBackend();
  const model = fromDir ? await loadModelFrom(modelArg) : cifarNetByName(modelArg, { shortcut: a.shortcut as Shortcut });
  const input = model.inputs[0]?.shape ?? [];
  if (input.length !== 4 || input[1] !== 32 || input[2] !== 32 || input[3] !== 3) {
    throw new UsageError(`--model ${modelArg} takes inputs of shape [${input.slice(1).join(', ')}], but CIFAR-10 images are [32, 32, 3]`);
  }
  // A model read from a folder keeps its weights; a new one is initialised from --seed.
  if (!fromDir) initializeWeights(model, { scheme: a.init as InitScheme, seed });
  const data = await loadCifar10(dataDir, { limitTrain, limitTest });
  console.log(
    `training ${fromDir ? `${model.name} from ${modelArg}` : modelArg} (${model.countParams()} parameters) on ${data.train.n} images ` +
      `for ${epochs} epochs, batch ${batchSize}, lr ${lr} (${a.schedule}${warmup ? ', warm-up 0.01' : ''}), ${backend.name} backend → ${out}`,
  );
  try {
    const history = await train(model, data, { ...options, config: { ...config, limitTrain: limitTrain ?? data.train.n } }, {});
    const last = history.height > 0 ? history.row(history.height - 1) : undefined;
    if (last !== undefined) {
      const cols = history.columns;
      const v = (c: string): number => Number(last[cols.indexOf(c)]);
      console.log(
        `done: epoch ${v('epoch')}, test error ${(v('test_err') * 100).toFixed(2)}%, history in ${path.join(out, 'history.csv')}`,
      );
    }
  } catch (err) {
    if (err instanceof TrainingDivergedError) throw new UsageError(err.message);
    // tfjs's layers refuse input of another shape with a ValueError (e.g. a --model folder of another input size).
    if ((err as Error).name === 'ValueError') throw new UsageError(`the model does not fit the data: ${(err as Error).message}`);
    throw err;
  }
}
