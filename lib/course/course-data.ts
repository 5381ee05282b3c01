/**
 * What every notebook of the course needs to know about where it runs: quick mode for CI, and
 * which CIFAR-10 data set it trains on (the full set, downloaded on first use; a folder named by
 * `RESIDUAL_DATA`; or the sample that ships with the package).
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { type ChannelStats, type Cifar10, channelStats, loadCifar10 } from '../data/cifar10';
import { downloadCifar10 } from '../data/download';
import { type ProgressCallback } from '../data/progress';
import { escapeHtml, insideTslab, newLiveDisplay } from '../notebook/display';
import { UsageError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/package-root';

/** True when `RESIDUAL_QUICK=1`: notebooks shrink data and epochs so the course runs in minutes. */
export function quickMode(): boolean {
  const v = process.env.RESIDUAL_QUICK;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** A CIFAR-10 folder found by {@link findCifar10}. */
export interface DataLocation {
  /** The folder holding `data_batch_1.bin` … `test_batch.bin`. */
  dir: string;
  /**
   * `'full'`: the official 50 000 + 10 000 images; `'sample'`: the 500 + 200 images that ship with
   * the package (`data/cifar10-sample`); `'subset'`: any other smaller set (this repository's
   * committed runs used a 5 000 + 500 subset).
   */
  kind: 'full' | 'subset' | 'sample';
  /** One line for a reader: which data, and where. */
  description: string;
}

const FILES = ['data_batch_1.bin', 'test_batch.bin'];
const FULL_TRAIN_BYTES = 10000 * 3073;

/**
 * The sample of real CIFAR-10 that ships with the package: the first 100 images of each training
 * batch and the first 200 test images, in the official binary layout (2 MB). Tests and quick mode
 * use it; the course falls back to it when the full set cannot be downloaded.
 */
export const CIFAR10_SAMPLE_DIR = join(PACKAGE_ROOT, 'data', 'cifar10-sample');

/**
 * Where the course keeps the full CIFAR-10 once downloaded: `data/cifar10` of the repository in a
 * clone, of the current folder when the package is a dependency (a reader's own project).
 */
export function courseDataDir(): string {
  const insideNodeModules = PACKAGE_ROOT.split(sep).includes('node_modules');
  return join(insideNodeModules ? process.cwd() : PACKAGE_ROOT, 'data', 'cifar10');
}

function looksLikeCifar(dir: string): boolean {
  return FILES.every((f) => existsSync(join(dir, f)));
}

function locate(dir: string): DataLocation {
  const shown = relative(process.cwd(), resolve(dir)) || '.';
  const kind =
    resolve(dir) === resolve(CIFAR10_SAMPLE_DIR)
      ? 'sample'
      : statSync(join(dir, 'data_batch_1.bin')).size >= FULL_TRAIN_BYTES
        ? 'full'
        : 'subset';
  const description = {
    full: `the full CIFAR-10 (50 000 training and 10 000 test images) in ${shown}`,
    sample: `the sample of CIFAR-10 that ships with the course (500 training and 200 test images) in ${shown}`,
    subset: `a subset of real CIFAR-10 (the first images of each official batch) in ${shown}`,
  }[kind];
  return { dir: resolve(dir), kind, description };
}

/**
 * Find CIFAR-10 (binary version) without downloading: the folder `RESIDUAL_DATA` names if it is
 * set (and only there), else the full set in {@link courseDataDir} when it was downloaded, else
 * the bundled sample ({@link CIFAR10_SAMPLE_DIR}).
 *
 * @param dataDir where the full set is looked for (default {@link courseDataDir})
 */
export function findCifar10(dataDir: string = courseDataDir()): DataLocation {
  const asked = process.env.RESIDUAL_DATA;
  if (asked !== undefined && asked !== '') {
    // A folder the reader named is the only place looked at: no silent fallback to other data.
    if (looksLikeCifar(asked)) return locate(asked);
    throw new UsageError(
      `RESIDUAL_DATA=${asked} has no CIFAR-10 files (data_batch_1.bin … test_batch.bin, the binary version): ` +
        'point it at such a folder, or unset it to use data/cifar10.',
    );
  }
  return locate(looksLikeCifar(dataDir) ? dataDir : CIFAR10_SAMPLE_DIR);
}

/** Options of {@link loadCourseData}. */
export interface CourseDataOptions {
  /** Where the full set is kept and downloaded to (default {@link courseDataDir}). */
  dataDir?: string;
  /** Where to download the archive from (default the official address; a mirror or a local file). */
  from?: string;
  /** The archive's md5 and size, for a mirror that serves another archive (default the official's). */
  md5?: string | null;
  size?: number | null;
}

/** The download's progress: one updating display in a notebook, one line rewritten on a terminal. */
function downloadProgress(): ProgressCallback | NodeJS.WritableStream {
  if (!insideTslab()) return process.stderr;
  const live = newLiveDisplay();
  return (received, total) => {
    const text = `Downloading CIFAR-10: ${(received / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(0)}` : ''} MB`;
    live.update({ 'text/plain': text, 'text/html': `<progress max="${total ?? 0}" value="${received}"></progress> ${escapeHtml(text)}` });
  };
}

/**
 * Find CIFAR-10 as the course uses it, downloading the full set (170 MB, md5-checked, installed
 * whole) into {@link courseDataDir} on first use, as d2l does. `RESIDUAL_DATA` names a folder to use
 * instead; quick mode never downloads (the sample, unless the full set is already there). When the
 * download fails (offline), one line says so and the bundled sample is used.
 */
export async function findOrDownloadCifar10(options: CourseDataOptions = {}): Promise<DataLocation> {
  const dataDir = options.dataDir ?? courseDataDir();
  const found = findCifar10(dataDir);
  if (found.kind !== 'sample' || quickMode() || (process.env.RESIDUAL_DATA ?? '') !== '') return found;
  try {
    await downloadCifar10({ dir: dataDir, from: options.from, md5: options.md5, size: options.size, progress: downloadProgress() });
    return locate(dataDir);
  } catch (err) {
    console.log(
      `CIFAR-10 could not be downloaded (${(err as Error).message.split('\n')[0]}): this run uses ${found.description}, ` +
        'so its numbers will differ from the committed ones. Run `npx residual data download` when online, or set RESIDUAL_DATA to a folder of CIFAR-10.',
    );
    return found;
  }
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

/** The data every training chapter uses: {@link findOrDownloadCifar10}, shrunk in quick mode. */
export async function loadCourseData(options: CourseDataOptions = {}): Promise<CourseData> {
  const location = await findOrDownloadCifar10(options);
  const quick = quickMode();
  const cifar = await loadCifar10(location.dir, quick ? { limitTrain: 512, limitTest: 200 } : {});
  return { location, cifar, stats: channelStats(cifar.train), quick };
}
