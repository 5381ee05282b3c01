/**
 * CIFAR-10 (Krizhevsky, 2009), the data set of He et al. (2015) §4.2, read from the
 * official binary version: `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`
 * and `batches.meta.txt`. Each record is 3073 bytes: one label byte (0–9), then the
 * 1024 red, 1024 green and 1024 blue values of a 32×32 image, row by row.
 *
 * Images stay uint8 (the 60 000 images as float32 would take 700 MB) and are turned once,
 * on load, into HWC order per image (NHWC for the whole split), the layout TensorFlow.js
 * convolutions take. Batches are normalised to float32 on the fly (see {@link batches}).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/errors';
import { CHANNELS, IMAGE_SIZE, IMAGE_VALUES } from './augment';

/** Bytes per record in the binary files: 1 label + 32·32·3 pixels. */
export const RECORD_BYTES = 1 + IMAGE_VALUES;

/** The training files of the binary version, in order. */
export const CIFAR10_TRAIN_FILES: readonly string[] = Object.freeze([
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
]);
/** The test file of the binary version. */
export const CIFAR10_TEST_FILES: readonly string[] = Object.freeze(['test_batch.bin']);

/** The ten class names, by label (as in `batches.meta.txt`). */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

/** One split (train or test): uint8 images in NHWC order and their labels. */
export interface Cifar10Split {
  /** n·32·32·3 raw pixel values 0–255, HWC per image. */
  images: Uint8Array;
  /** n labels 0–9. */
  labels: Uint8Array;
  /** Number of images. */
  n: number;
}

/** The whole data set as loaded by {@link loadCifar10}. */
export interface Cifar10 {
  /** The training images (from data_batch_1..5.bin). */
  train: Cifar10Split;
  /** The test images (from test_batch.bin). */
  test: Cifar10Split;
  /** Class names by label, from `batches.meta.txt`. */
  classNames: string[];
  /** The folder the files were read from (absolute). */
  dir: string;
}

/** Where a user gets the data, for error messages. */
function howToGet(dir: string): string {
  return (
    `Get the data with \`residual data download --dir ${dir}\`, or point --data at a folder ` +
    `holding ${CIFAR10_TRAIN_FILES[0]} … ${CIFAR10_TRAIN_FILES[4]}, ${CIFAR10_TEST_FILES[0]} and batches.meta.txt ` +
    `(the CIFAR-10 binary version).`
  );
}

function checkLimit(limit: number | undefined, what: string): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new UsageError(`${what} must be a positive whole number, got ${limit}`);
  }
}

async function recordsIn(file: string, dir: string): Promise<number> {
  let size: number;
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new UsageError(`CIFAR-10 file ${file} is not a file. ${howToGet(dir)}`);
    size = st.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`CIFAR-10 file ${file} is missing. ${howToGet(dir)}`);
    throw new UsageError(`CIFAR-10 file ${file} cannot be read: ${(err as Error).message}`);
  }
  if (size === 0) throw new UsageError(`CIFAR-10 file ${file} is empty (no records)`);
  if (size % RECORD_BYTES !== 0) {
    throw new UsageError(
      `CIFAR-10 file ${file} has ${size} bytes, not a whole number of ${RECORD_BYTES}-byte records ` +
        `(1 label byte + 32×32×3 pixels): is it truncated, or not the binary version?`,
    );
  }
  return size / RECORD_BYTES;
}

/**
 * Copy `count` records of `buf` into the split at image `at`, turning each image from
 * the file's CHW order (1024 R, 1024 G, 1024 B) into HWC.
 */
function unpackRecords(buf: Uint8Array, count: number, split: Cifar10Split, at: number, file: string): void {
  const P = IMAGE_SIZE * IMAGE_SIZE;
  const { images, labels } = split;
  for (let r = 0; r < count; r++) {
    const rec = r * RECORD_BYTES;
    const label = buf[rec];
    if (label > 9) {
      throw new UsageError(
        `CIFAR-10 file ${file}: record ${r} (byte ${rec}) has label ${label}, but labels are 0–9 ` +
          `(is it the CIFAR-100 binary version, or a damaged file?)`,
      );
    }
    labels[at + r] = label;
    const red = rec + 1;
    const green = red + P;
    const blue = green + P;
    let o = (at + r) * IMAGE_VALUES;
    for (let p = 0; p < P; p++, o += CHANNELS) {
      images[o] = buf[red + p];
      images[o + 1] = buf[green + p];
      images[o + 2] = buf[blue + p];
    }
  }
}

/**
 * Read one split from `dir`: `'train'` reads data_batch_1..5.bin, `'test'` test_batch.bin.
 * Any whole number of records per file is accepted.
 *
 * @param limit read only the first `limit` images (whole files are skipped once reached)
 * @throws UsageError naming the file when one is missing, has a size that is not a
 *   multiple of 3073 bytes, or holds a label above 9.
 */
export async function loadCifar10Split(dir: string, split: 'train' | 'test', limit?: number): Promise<Cifar10Split> {
  if (split !== 'train' && split !== 'test') {
    throw new UsageError(`split must be 'train' or 'test', got '${String(split)}'`);
  }
  checkLimit(limit, `limit for the ${split} split`);
  await checkDir(dir);
  const names = split === 'train' ? CIFAR10_TRAIN_FILES : CIFAR10_TEST_FILES;
  const files = names.map((f) => path.join(dir, f));
  // Check every file's size before reading any, so a bad file is named before work is done.
  const counts: number[] = [];
  for (const f of files) counts.push(await recordsIn(f, dir));
  const total = counts.reduce((a, b) => a + b, 0);
  const n = limit === undefined ? total : Math.min(limit, total);
  const out: Cifar10Split = { images: new Uint8Array(n * IMAGE_VALUES), labels: new Uint8Array(n), n };
  let at = 0;
  for (let i = 0; i < files.length && at < n; i++) {
    const take = Math.min(counts[i], n - at);
    const buf = await readBytes(files[i], take * RECORD_BYTES);
    unpackRecords(buf, take, out, at, files[i]);
    at += take;
  }
  return out;
}

async function readBytes(file: string, bytes: number): Promise<Uint8Array> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = new Uint8Array(bytes);
    let done = 0;
    while (done < bytes) {
      const { bytesRead } = await fh.read(buf, done, bytes - done, done);
      if (bytesRead === 0) throw new UsageError(`CIFAR-10 file ${file} ended early (changed while reading?)`);
      done += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

async function checkDir(dir: string): Promise<void> {
  let st;
  try {
    st = await fsp.stat(dir);
  } catch {
    throw new UsageError(`CIFAR-10 folder ${dir} does not exist. ${howToGet(dir)}`);
  }
  if (!st.isDirectory()) throw new UsageError(`CIFAR-10 folder ${dir} is not a folder. ${howToGet(dir)}`);
}

/**
 * Read the class names from `batches.meta.txt` (one per line; at least 10 non-empty).
 * A folder without the file gets {@link CIFAR10_CLASSES}.
 */
export async function loadCifar10ClassNames(dir: string): Promise<string[]> {
  const file = path.join(dir, 'batches.meta.txt');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [...CIFAR10_CLASSES];
    throw new UsageError(`CIFAR-10 file ${file} cannot be read: ${(err as Error).message}`);
  }
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length < 10) {
    throw new UsageError(`CIFAR-10 file ${file} has ${names.length} class names, expected 10 (one per line)`);
  }
  return names.slice(0, 10);
}

/**
 * Load CIFAR-10 from `dir` (the binary version's files directly inside it).
 *
 * ```ts
 * const data = await loadCifar10('data/cifar10');
 * data.train.n; // 50000
 * ```
 *
 * @param opts.limitTrain / opts.limitTest keep only the first images of a split
 * @throws UsageError naming the file and the fault (missing, bad size, bad label)
 */
export async function loadCifar10(dir: string, opts: { limitTrain?: number; limitTest?: number } = {}): Promise<Cifar10> {
  const abs = path.resolve(dir);
  const train = await loadCifar10Split(abs, 'train', opts.limitTrain);
  const test = await loadCifar10Split(abs, 'test', opts.limitTest);
  const classNames = await loadCifar10ClassNames(abs);
  return { train, test, classNames, dir: abs };
}

/** Per-channel mean and standard deviation, on the [0, 1] pixel scale, in RGB order. */
export interface ChannelStats {
  /** Mean of each channel over all images and pixels. */
  mean: [number, number, number];
  /** Population standard deviation (as numpy's `.std()`) of each channel. */
  std: [number, number, number];
}

/**
 * Per-channel mean and population std of a split (use the training split): the
 * "per-pixel mean subtracted" preprocessing of §4.2, here per channel as in the
 * PyTorch reference. Exact sums (integers in float64), so no drift on 50 000 images.
 */
export function channelStats(split: Cifar10Split): ChannelStats {
  if (split.n === 0) throw new UsageError('channelStats needs at least one image');
  const { images } = split;
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  // Histogram per channel: exact and cheap (one increment per value).
  const hist = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)]; // ≤ 2^32 − 1 values per channel
  const [h0, h1, h2] = hist;
  const len = split.n * IMAGE_VALUES;
  for (let i = 0; i < len; i += 3) {
    h0[images[i]]++;
    h1[images[i + 1]]++;
    h2[images[i + 2]]++;
  }
  const count = split.n * IMAGE_SIZE * IMAGE_SIZE;
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) sum[c] += hist[c][v] * v;
  }
  const mean = sum.map((s) => s / count);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) sq[c] += hist[c][v] * (v - mean[c]) * (v - mean[c]);
  }
  const std = sq.map((s) => Math.sqrt(s / count));
  return {
    mean: [mean[0] / 255, mean[1] / 255, mean[2] / 255],
    std: [std[0] / 255, std[1] / 255, std[2] / 255],
  };
}
