/**
 * `residual evaluate --model-dir DIR --data DIR [--json]`: test accuracy and loss of a saved model
 * (a folder with model.json, a checkpoint folder, or a run folder) on `DATA/test_batch.bin`, in
 * inference mode, normalised with the statistics the model was trained with.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { useBestBackend } from '../../backend/best-backend';
import { loadCifar10Split, type ChannelStats } from '../../data/cifar10';
import { UsageError } from '../../util/errors';
import { fileModelHandler, latestCheckpointDir, MODEL_JSON } from '../../train/checkpoint';
import { evaluate } from '../../train/evaluate';
import { intArg, parseFlags } from './args';

const USAGE = `usage: residual evaluate --model-dir DIR --data DIR [--json] [--limit N] [--batch N]

  --model-dir DIR   a run folder (its latest checkpoint), a checkpoint folder or a folder with model.json
  --data DIR        folder with test_batch.bin (CIFAR-10 binary)
  --json            print {"accuracy": …, "loss": …, "n": …} as the last line
  --limit N         evaluate the first N test images
  --batch N         images per forward pass (default 250)`;

function parse(argv: string[]) {
  return parseFlags(
    argv,
    {
      'model-dir': { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      batch: { type: 'string', default: '250' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
}

function isStats(v: unknown): v is ChannelStats {
  const s = v as ChannelStats | undefined;
  return s != null && Array.isArray(s.mean) && s.mean.length === 3 && Array.isArray(s.std) && s.std.length === 3;
}

/** A JSON file, or a UsageError naming it. */
function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: cannot be read as JSON (${(err as Error).message})`);
  }
}

/** The normalisation statistics saved with a model: state.json of a checkpoint, or model.json metadata. */
function savedStats(modelDir: string): ChannelStats {
  const state = path.join(modelDir, 'state.json');
  if (existsSync(state)) {
    const s = (readJson(state) as { stats?: unknown } | null)?.stats;
    if (isStats(s)) return s;
  }
  const meta = (readJson(path.join(modelDir, MODEL_JSON)) as { userDefinedMetadata?: { stats?: unknown } } | null)?.userDefinedMetadata
    ?.stats;
  if (isStats(meta)) return meta;
  throw new UsageError(`--model-dir ${modelDir}: no normalisation statistics (state.json or userDefinedMetadata.stats in ${MODEL_JSON})`);
}

/** Entry point of `residual evaluate`. */
export async function main(argv: string[]): Promise<void> {
  const a = parse(argv);
  if (a.help) {
    console.log(USAGE);
    return;
  }
  if (a['model-dir'] === undefined) throw new UsageError(`--model-dir is required\n\n${USAGE}`);
  if (a.data === undefined) throw new UsageError(`--data is required\n\n${USAGE}`);
  const given = a['model-dir'];
  const modelDir = existsSync(path.join(given, MODEL_JSON)) ? given : latestCheckpointDir(given);
  if (modelDir === undefined) {
    throw new UsageError(`--model-dir ${given}: neither a saved model (${MODEL_JSON}) nor a run folder with a checkpoint`);
  }
  const testFile = path.join(a.data, 'test_batch.bin');
  if (!existsSync(testFile)) throw new UsageError(`--data ${a.data}: no test_batch.bin there`);
  const limit = intArg(a.limit, 'limit');
  const batchSize = intArg(a.batch, 'batch')!;
  const stats = savedStats(modelDir);
  await useBestBackend({ verbose: !a.json });
  const model = await tf.loadLayersModel(fileModelHandler(modelDir));
  const split = await loadCifar10Split(a.data, 'test', limit);
  const r = await evaluate(model, split, { stats, batchSize });
  if (a.json) {
    console.log(JSON.stringify({ accuracy: r.accuracy, loss: r.loss, n: r.n }));
  } else {
    console.log(`${modelDir} on ${testFile}: accuracy ${(r.accuracy * 100).toFixed(2)}% (${r.n} images), loss ${r.loss.toFixed(4)}`);
  }
}
