/**
 * What every notebook of the course needs to know about where it runs: quick mode for CI, and
 * which CIFAR-10 data set it trains on (the full set once downloaded, else the shared subset).
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type ChannelStats, type Cifar10, channelStats, loadCifar10 } from './data/cifar10';
import { UsageError } from './errors';

/** True when `RESIDUAL_QUICK=1`: notebooks shrink data and epochs so the course runs in minutes. */
export function quickMode(): boolean {
  const v = process.env.RESIDUAL_QUICK;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** A CIFAR-10 folder found by {@link findCifar10}. */
export interface DataLocation {
  /** The folder holding `data_batch_1.bin` … `test_batch.bin`. */
  dir: string;
  /** `'full'`: the official 50 000 + 10 000 images; `'subset'`: the course's 5 000 + 500. */
  kind: 'full' | 'subset';
  /** One line for a reader: which data, and where. */
  description: string;
}

const FILES = ['data_batch_1.bin', 'test_batch.bin'];
const FULL_TRAIN_BYTES = 10000 * 3073;

function looksLikeCifar(dir: string): boolean {
  return FILES.every((f) => existsSync(join(dir, f)));
}

/**
 * Find CIFAR-10 (binary version): the folder `RESIDUAL_DATA` names if it is set (and only there),
 * else `data/cifar10` of the repository, else the shared subset beside the repository
 * (`../shared/datasets/cifar10-subset`).
 *
 * @param root the repository root (default: the folder this package is installed in)
 */
export function findCifar10(root: string = resolve(__dirname, '..')): DataLocation {
  const asked = process.env.RESIDUAL_DATA;
  // A folder the reader named is the only place looked at: no silent fallback to other data.
  const candidates =
    asked !== undefined && asked !== ''
      ? [asked]
      : [join(root, 'data', 'cifar10'), join(root, '..', 'shared', 'datasets', 'cifar10-subset')];
  for (const dir of candidates) {
    if (!looksLikeCifar(dir)) continue;
    const shown = relative(process.cwd(), resolve(dir)) || '.';
    const kind = statSync(join(dir, 'data_batch_1.bin')).size >= FULL_TRAIN_BYTES ? 'full' : 'subset';
    const description =
      kind === 'full'
        ? `the full CIFAR-10 (50 000 training and 10 000 test images) in ${shown}`
        : `a subset of real CIFAR-10 (the first images of each official batch) in ${shown}`;
    return { dir: resolve(dir), kind, description };
  }
  const where = asked ? `RESIDUAL_DATA=${asked} has no CIFAR-10 files; ` : '';
  throw new UsageError(
    `${where}CIFAR-10 was not found (looked in ${candidates.join(', ')}). ` +
      'Download it with `npx residual data download --dir data/cifar10`, or set RESIDUAL_DATA to a folder holding data_batch_1.bin … test_batch.bin.',
  );
}

/** What {@link loadCourseData} returns. */
export interface CourseData {
  /** Where the data came from (full set or subset), with a line for the reader. */
  location: DataLocation;
  /** The images (uint8) and labels; in quick mode the first 512 training and 200 test images. */
  cifar: Cifar10;
  /** Per-channel mean and std of the training images, for normalising. */
  stats: ChannelStats;
  /** Whether `RESIDUAL_QUICK` is set. */
  quick: boolean;
}

/** The data every training chapter uses: {@link findCifar10}, shrunk in quick mode. */
export async function loadCourseData(root?: string): Promise<CourseData> {
  const location = findCifar10(root);
  const quick = quickMode();
  const cifar = await loadCifar10(location.dir, quick ? { limitTrain: 512, limitTest: 200 } : {});
  return { location, cifar, stats: channelStats(cifar.train), quick };
}

/**
 * Epochs of the depth experiments (chapter 2, degradation; chapter 3 compares with them, so both
 * train with this budget): 1 in quick mode, 12 on the shared subset (480 iterations; the four nets
 * take about 2.5 hours of one CPU core, so `npm run experiments` trains them side by side first),
 * 30 on the full set.
 */
export function depthExperimentEpochs(location: DataLocation): number {
  return quickMode() ? 1 : location.kind === 'full' ? 30 : 12;
}
