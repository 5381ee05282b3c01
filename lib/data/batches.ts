/**
 * Mini-batches for training and evaluation: an optionally shuffled order of a split's
 * images, each batch normalised to float32 NHWC (and augmented, §4.2) on the fly.
 *
 * Repeatable: the same (seed, epoch) gives the same order and the same augmentation;
 * another epoch gives another order.
 */
import { UsageError } from '../util/errors';
import { IMAGE_VALUES, drawAugment, fillImage, normalisationTable, NO_AUGMENT } from './augment';
import type { ChannelStats, Cifar10Split } from './cifar10';
import { Rng, mixSeed, permutation } from './random';

/** One mini-batch. */
export interface Batch {
  /** size·32·32·3 normalised (and possibly augmented) pixels, NHWC; a fresh array per batch. */
  x: Float32Array;
  /** size labels 0–9. */
  y: Int32Array;
  /** Number of images in this batch (the last batch may be smaller unless dropLast). */
  size: number;
  /** Which images of the split are in this batch, in order. */
  indices: Int32Array;
}

/** Options of {@link batches}. */
export interface BatchOptions {
  /** Images per batch (the paper uses 128). */
  batchSize: number;
  /** Normalisation: (x/255 − mean) / std per channel, usually the training set's {@link channelStats}. */
  stats: ChannelStats;
  /** Visit the images in a random order drawn from (seed, epoch) (default false: 0, 1, 2, …). */
  shuffle?: boolean;
  /** Pad 4, random 32×32 crop and random horizontal flip per image (§4.2; default false). */
  augment?: boolean;
  /** Seed of the order and the augmentation (default 0). */
  seed?: number;
  /** Epoch number, mixed into the seed so each epoch differs (default 0). */
  epoch?: number;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Stream tags so the order and the augmentation draw from independent generators. */
const ORDER_STREAM = 1;
const AUGMENT_STREAM = 2;

/**
 * The batches of one pass over `split` (one epoch).
 *
 * ```ts
 * const stats = channelStats(data.train);
 * for (const b of batches(data.train, { batchSize: 128, stats, shuffle: true, augment: true, seed: 1, epoch })) {
 *   const x = tf.tensor4d(b.x, [b.size, 32, 32, 3]);
 * }
 * ```
 */
export function* batches(split: Cifar10Split, opts: BatchOptions): Generator<Batch> {
  const { batchSize, stats } = opts;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new UsageError(`batchSize must be a positive whole number, got ${batchSize}`);
  }
  for (const c of [0, 1, 2]) {
    if (!(stats.std[c] > 0) || !Number.isFinite(stats.mean[c])) {
      throw new UsageError(`stats must have a finite mean and a positive std per channel, got channel ${c}: mean ${stats.mean[c]}, std ${stats.std[c]}`);
    }
  }
  const seed = opts.seed ?? 0;
  const epoch = opts.epoch ?? 0;
  const n = split.n;
  const order = opts.shuffle ? permutation(n, new Rng(mixSeed(seed, epoch, ORDER_STREAM))) : identity(n);
  const augRng = opts.augment ? new Rng(mixSeed(seed, epoch, AUGMENT_STREAM)) : undefined;
  const table = normalisationTable(stats.mean, stats.std);
  const end = opts.dropLast ? n - (n % batchSize) : n;
  for (let start = 0; start < end; start += batchSize) {
    const size = Math.min(batchSize, end - start);
    const x = new Float32Array(size * IMAGE_VALUES);
    const y = new Int32Array(size);
    const indices = order.slice(start, start + size);
    for (let i = 0; i < size; i++) {
      const k = indices[i];
      y[i] = split.labels[k];
      fillImage(split.images, k, x, i * IMAGE_VALUES, table, augRng ? drawAugment(augRng) : NO_AUGMENT);
    }
    yield { x, y, size, indices };
  }
}

/** The number of batches {@link batches} yields for `n` images. */
export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
