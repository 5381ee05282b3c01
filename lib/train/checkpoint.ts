/**
 * Saving models and training checkpoints to disk without tfjs-node.
 *
 * - {@link fileModelHandler}: a `tf.io.IOHandler` writing/reading `model.json` + `weights.bin` in the
 *   standard layers-model format (what `tf.loadLayersModel('…/model.json')` reads over HTTP).
 * - {@link saveCheckpoint} / {@link loadCheckpoint}: one folder per epoch under `RUN/checkpoints/`,
 *   holding the model, the optimiser's momentum buffers and the run state (epoch, step, seed,
 *   history, normalisation statistics). The folder is written under a temporary name, renamed, and
 *   only then made current by atomically replacing the pointer file `RUN/LATEST`: a kill at any
 *   point leaves either the old checkpoint or the new one, never a mix.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/errors';
import { syncDir, writeFileAtomic, writeFileSynced } from '../util/atomic';
import type { ChannelStats } from '../data/cifar10';
import type { HistoryRow } from './history';
import type { SgdMomentum, SgdState } from './sgd';
import { CHECKPOINT_NAME, CHECKPOINT_TEMPORARY, inspectRunDir } from './run-dir';
import { checkSameTopology } from './topology';

/** Name of the model topology file. */
export const MODEL_JSON = 'model.json';
/** Name of the weights file (one shard). */
export const WEIGHTS_BIN = 'weights.bin';

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const joined = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(joined);
}

/**
 * An IOHandler that saves a model as `DIR/model.json` + `DIR/weights.bin` (the format of
 * `tf.io.http`/`model.save('file://…')`) and loads it back. Each file is replaced atomically.
 *
 * @example
 * ```ts
 * await model.save(fileModelHandler('runs/r20/model'));
 * const again = await tf.loadLayersModel(fileModelHandler('runs/r20/model'));
 * ```
 */
export function fileModelHandler(dir: string): FileModelHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileModelHandler saves layers models (JSON topology), not binary graph models');
      }
      await fsp.mkdir(dir, { recursive: true });
      const weights = weightBytes(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig !== undefined) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata !== undefined) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      // Weights first: model.json names them, so a reader never sees model.json without its weights.
      await writeFileAtomic(path.join(dir, WEIGHTS_BIN), weights);
      await writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(modelJson.modelTopology).length,
          weightSpecsBytes: JSON.stringify(modelJson.weightsManifest).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = path.join(dir, MODEL_JSON);
      let text: string;
      try {
        text = await fsp.readFile(jsonPath, 'utf8');
      } catch {
        throw new UsageError(`${jsonPath}: no saved model there (expected ${MODEL_JSON} and ${WEIGHTS_BIN})`);
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new UsageError(`${jsonPath}: not valid JSON (${(err as Error).message})`);
      }
      if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
        throw new UsageError(`${jsonPath}: not a layers-model file (needs modelTopology and weightsManifest)`);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const shards: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const file = path.join(dir, p);
          try {
            shards.push(await fsp.readFile(file));
          } catch {
            throw new UsageError(`${file}: weights file named by ${jsonPath} is missing`);
          }
        }
      }
      const total = shards.reduce((s, b) => s + b.byteLength, 0);
      const all = new Uint8Array(total);
      let off = 0;
      for (const b of shards) {
        all.set(b, off);
        off += b.byteLength;
      }
      const expected = specs.reduce((s, w) => s + w.shape.reduce((a, c) => a * c, 1) * 4, 0);
      if (expected !== total) {
        throw new UsageError(`${dir}: weights hold ${total} bytes but ${MODEL_JSON} describes ${expected}`);
      }
      return tf.io.getModelArtifactsForJSON(json, async () => [specs, all.buffer]);
    },
  };
}

/** An IOHandler with both halves. */
export type FileModelHandler = tf.io.IOHandler & { save: tf.io.SaveHandler; load: tf.io.LoadHandler };

/** Save `model` (topology + weights) into `dir` as `model.json` + `weights.bin`. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileModelHandler(dir));
}

/**
 * Load a model saved by {@link saveModel} or a checkpoint: `dir` is either a folder with
 * `model.json`, or a run folder (its latest checkpoint is used).
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const modelDir = existsSync(path.join(dir, MODEL_JSON)) ? dir : latestCheckpointDir(dir);
  if (modelDir === undefined) {
    throw new UsageError(`${dir}: neither a saved model (${MODEL_JSON}) nor a run folder with a checkpoint`);
  }
  return tf.loadLayersModel(fileModelHandler(modelDir));
}

/** What a run needs to continue, besides the weights and momentum buffers. */
export interface CheckpointState {
  /** Format version, 1. */
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Steps completed. */
  step: number;
  /** Seed of shuffling and augmentation. */
  seed: number;
  /** Normalisation statistics of the training split (evaluation needs the same). */
  stats: ChannelStats;
  /** History rows so far. */
  history: HistoryRow[];
  /** Seconds spent so far. */
  seconds: number;
  /** True once the §4.2 warm-up is over (or when there is none). */
  warmupDone: boolean;
  /** The settings of the run, to refuse resuming with different ones. */
  config: Record<string, string | number | boolean>;
  /**
   * Fingerprint of the model's topology (`topologyFingerprint`), for readers of the run; the check
   * on resume compares the checkpoint's whole `model.json` with the model (absent in older runs).
   */
  topology?: string;
}

/** A checkpoint read back by {@link loadCheckpoint}. */
export interface Checkpoint {
  /** Its folder. */
  dir: string;
  state: CheckpointState;
  /** Momentum buffers keyed by the weights' original names (as in model.json). */
  optimizer: SgdState;
}

const LATEST = 'LATEST';
const CHECKPOINTS = 'checkpoints';

/** The folder of the current checkpoint of a run, or undefined when it has none. */
export function latestCheckpointDir(runDir: string): string | undefined {
  let rel: string;
  try {
    rel = readFileSync(path.join(runDir, LATEST), 'utf8').trim();
  } catch {
    return undefined;
  }
  const dir = path.join(runDir, rel);
  return existsSync(path.join(dir, 'state.json')) ? dir : undefined;
}

/** Map tf.Variable names (process-specific) to the weights' original names (stable, as saved). */
function variableNames(model: tf.LayersModel): Map<string, string> {
  const toOriginal = new Map<string, string>();
  for (const w of model.trainableWeights) toOriginal.set((w.read() as tf.Variable).name, w.originalName);
  return toOriginal;
}

/** The files of one checkpoint (model, momentum buffers, state) in the folder `dir`, flushed. */
async function writeCheckpointFiles(dir: string, model: tf.LayersModel, optimizer: SgdMomentum, state: CheckpointState): Promise<void> {
  await model.save(fileModelHandler(dir));
  const opt = await optimizer.getState();
  const toOriginal = variableNames(model);
  const manifest: { name: string; shape: number[] }[] = [];
  const bytes = new Uint8Array(opt.buffers.reduce((s, b) => s + b.values.byteLength, 0));
  let off = 0;
  for (const b of opt.buffers) {
    manifest.push({ name: toOriginal.get(b.name) ?? b.name, shape: b.shape });
    bytes.set(new Uint8Array(b.values.buffer, b.values.byteOffset, b.values.byteLength), off);
    off += b.values.byteLength;
  }
  await writeFileSynced(path.join(dir, 'optimizer.bin'), bytes);
  await writeFileSynced(path.join(dir, 'optimizer.json'), JSON.stringify({ iterations: opt.iterations, buffers: manifest }));
  await writeFileSynced(path.join(dir, 'state.json'), JSON.stringify(state));
  await syncDir(dir);
}

/**
 * Save a checkpoint of a run into `runDir`: model, momentum buffers, state. Atomic at the folder
 * level (see the module comment); older checkpoints are removed once the new one is current.
 */
export async function saveCheckpoint(
  runDir: string,
  model: tf.LayersModel,
  optimizer: SgdMomentum,
  state: CheckpointState,
): Promise<string> {
  const root = path.join(runDir, CHECKPOINTS);
  await fsp.mkdir(root, { recursive: true });
  const name = `epoch-${String(state.epoch).padStart(4, '0')}`;
  const tmp = path.join(root, `.${name}.tmp-${process.pid}`);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp);
  try {
    await writeCheckpointFiles(tmp, model, optimizer, state);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined); // nothing half-written stays
    throw err;
  }
  const final = path.join(root, name);
  const current = latestCheckpointDir(runDir);
  if (current !== undefined && path.resolve(current) === path.resolve(final)) {
    throw new Error(`checkpoint ${final} is current and would be overwritten`);
  }
  await fsp.rm(final, { recursive: true, force: true }); // a leftover of a killed save, never current
  await fsp.rename(tmp, final);
  await syncDir(root);
  // The switch: one atomic rename of the pointer file.
  await writeFileAtomic(path.join(runDir, LATEST), `${CHECKPOINTS}/${name}\n`);
  // Only what this library wrote: the checkpoint it superseded (and leftovers of killed saves).
  for (const entry of await fsp.readdir(root)) {
    if (entry !== name && (CHECKPOINT_NAME.test(entry) || CHECKPOINT_TEMPORARY.test(entry))) {
      await fsp.rm(path.join(root, entry), { recursive: true, force: true });
    }
  }
  return final;
}

/** A JSON file of a checkpoint, or a `UsageError` naming it. */
async function readJson<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the checkpoint is damaged`,
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message}): the checkpoint is damaged`);
  }
}

/**
 * Read the current checkpoint of `runDir`, or undefined when there is none. A damaged run (see
 * `inspectRunDir`: a dangling `LATEST`, files that are not a run) or a checkpoint file that does
 * not parse is refused with a `UsageError` naming the file.
 */
export async function loadCheckpoint(runDir: string): Promise<Checkpoint | undefined> {
  const { latest } = inspectRunDir(runDir);
  if (latest === undefined) return undefined;
  const dir = path.join(runDir, latest);
  const state = await readJson<CheckpointState>(path.join(dir, 'state.json'));
  if (typeof state !== 'object' || state === null || state.version !== 1) {
    throw new UsageError(
      `${dir}/state.json: not a checkpoint state of this library (version ${String((state as { version?: unknown } | null)?.version)})`,
    );
  }
  const optJson = await readJson<{ iterations: number; buffers: { name: string; shape: number[] }[] }>(path.join(dir, 'optimizer.json'));
  if (!Array.isArray(optJson?.buffers) || optJson.buffers.some((b) => !Array.isArray(b?.shape))) {
    throw new UsageError(
      `${dir}/optimizer.json: not an optimizer state of this library (no buffers with shapes): the checkpoint is damaged`,
    );
  }
  let raw: Buffer;
  try {
    raw = await fsp.readFile(path.join(dir, 'optimizer.bin'));
  } catch (err) {
    throw new UsageError(
      `${dir}/optimizer.bin: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the checkpoint is damaged`,
    );
  }
  const floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  let off = 0;
  const buffers: SgdState['buffers'] = optJson.buffers.map((b) => {
    const size = b.shape.reduce((a, c) => a * c, 1);
    const values = floats.slice(off, off + size);
    off += size;
    return { name: b.name, shape: b.shape, values };
  });
  if (off !== floats.length) throw new UsageError(`${dir}/optimizer.bin: ${floats.length} values, optimizer.json describes ${off}`);
  return { dir, state, optimizer: { iterations: optJson.iterations, buffers } };
}

/**
 * Refuse a checkpoint whose saved topology (its `model.json`) is not `model`'s: a `UsageError`
 * naming the run folder and the first layer that differs. Weights of the same count and shapes
 * can belong to another architecture (a plain net and its option-A ResNet twin, or strided
 * convolutions padded another way), so comparing weights is not enough.
 */
export async function checkCheckpointTopology(checkpoint: Checkpoint, model: tf.LayersModel): Promise<void> {
  const saved = await readJson<{ modelTopology?: unknown } | null>(path.join(checkpoint.dir, MODEL_JSON));
  checkSameTopology(saved?.modelTopology, model, path.dirname(path.dirname(checkpoint.dir)));
}

/**
 * Put a checkpoint's weights into `model` (which must have the same architecture: checked with
 * {@link checkCheckpointTopology}) and its momentum buffers into `optimizer`.
 */
export async function restoreCheckpoint(checkpoint: Checkpoint, model: tf.LayersModel, optimizer: SgdMomentum): Promise<void> {
  await checkCheckpointTopology(checkpoint, model);
  const artifacts = await fileModelHandler(checkpoint.dir).load();
  const specs = artifacts.weightSpecs ?? [];
  const named = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), specs);
  // Saved name → the model's weight: by name when the names match (nets built with fixed names),
  // else by position (same architecture, auto-generated layer names differ between instances).
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  const sameNames = specs.length === model.weights.length && specs.every((s) => byName.has(s.name));
  const target = new Map<string, tf.LayerVariable>();
  try {
    if (specs.length !== model.weights.length) {
      throw new UsageError(`${checkpoint.dir}: ${specs.length} weights saved, the model has ${model.weights.length} (another --model?)`);
    }
    specs.forEach((s, i) => {
      const w = sameNames ? byName.get(s.name)! : model.weights[i]!;
      const t = named[s.name]!;
      if (w.shape.length !== t.shape.length || w.shape.some((d, k) => d !== t.shape[k])) {
        throw new UsageError(
          `${checkpoint.dir}: weight '${s.name}' [${t.shape.join(', ')}] does not fit this model's [${w.shape.join(', ')}] (another --model?)`,
        );
      }
      target.set(s.name, w);
    });
    for (const [name, w] of target) w.write(named[name]!);
  } finally {
    tf.dispose(Object.values(named));
  }
  optimizer.setState({
    iterations: checkpoint.optimizer.iterations,
    buffers: checkpoint.optimizer.buffers.map((b) => {
      const w = target.get(b.name);
      if (w === undefined) throw new UsageError(`${checkpoint.dir}/optimizer.json: momentum for unknown weight '${b.name}'`);
      return { ...b, name: (w.read() as tf.Variable).name };
    }),
  });
}
