/**
 * Download CIFAR-10 (binary version) into a folder, whole or not at all: the archive is
 * fetched (or taken from a local file) into a temporary folder beside the target, its size
 * and md5 checked, extracted there, and only then renamed into place. Any failure removes
 * the temporary folder, so no partial data set is ever left behind.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../util/errors';
import { CIFAR10_TEST_FILES, CIFAR10_TRAIN_FILES, RECORD_BYTES } from './cifar10';
import { progressBar, type ProgressCallback } from './progress';
import { extractTarGz } from './tar';

/** The official CIFAR-10 binary archive. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** md5 of {@link CIFAR10_URL}'s archive. */
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/** Size in bytes of {@link CIFAR10_URL}'s archive. */
export const CIFAR10_BYTES = 170_052_171;
/** The top folder inside the archive. */
export const CIFAR10_ARCHIVE_FOLDER = 'cifar-10-batches-bin';
/** Default target folder. */
export const CIFAR10_DEFAULT_DIR = 'data/cifar10';

/** The files a complete data set folder holds. */
const REQUIRED = [...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES, 'batches.meta.txt'];

/** Options of {@link downloadCifar10}. */
export interface DownloadOptions {
  /** Target folder; will hold the .bin files directly (default `data/cifar10`). */
  dir?: string;
  /** A mirror URL (http/https) or a local `.tar.gz` already downloaded (default the official URL). */
  from?: string;
  /** Expected md5 of the archive (default {@link CIFAR10_MD5}); null skips the check. */
  md5?: string | null;
  /** Expected size of the archive in bytes (default {@link CIFAR10_BYTES}); null skips the check. */
  size?: number | null;
  /** Progress: a stream for a bar (e.g. `process.stderr`), a callback, or false (default: none). */
  progress?: (NodeJS.WritableStream & { isTTY?: boolean }) | ProgressCallback | false;
  /** Replace a complete data set already in `dir` (default false: keep it and return). */
  force?: boolean;
  /** Abort the download (the temporary files are removed). */
  signal?: AbortSignal;
  /** Give up when no data arrives for this long (default 60 000 ms). */
  idleTimeoutMs?: number;
}

/** What {@link downloadCifar10} did. */
export interface DownloadResult {
  /** The data set folder (absolute). */
  dir: string;
  /** The files now in it (names). */
  files: string[];
  /** Where the archive came from (URL or file), or the folder when it was already present. */
  source: string;
  /** Archive size in bytes (0 when already present). */
  bytes: number;
  /** Archive md5 ('' when already present). */
  md5: string;
  /** True when `dir` already held a complete data set and nothing was done. */
  alreadyPresent: boolean;
}

/**
 * Download, check and extract CIFAR-10 (binary version) into `opts.dir`.
 *
 * ```ts
 * await downloadCifar10({ dir: 'data/cifar10', progress: process.stderr });
 * ```
 *
 * @throws UsageError on an HTTP error, a dropped connection, a wrong size or checksum,
 *   a truncated or unsafe archive (entries outside the folder, links), or a target folder
 *   in the way; nothing partial is left behind.
 */
export async function downloadCifar10(opts: DownloadOptions = {}): Promise<DownloadResult> {
  const dir = path.resolve(opts.dir ?? CIFAR10_DEFAULT_DIR);
  const from = opts.from ?? CIFAR10_URL;
  const wantMd5 = opts.md5 === undefined ? CIFAR10_MD5 : opts.md5;
  const wantSize = opts.size === undefined ? (opts.md5 === undefined ? CIFAR10_BYTES : null) : opts.size;

  const existing = await inspectTarget(dir);
  if (existing === 'complete' && !opts.force) {
    return { dir, files: await fsp.readdir(dir), source: dir, bytes: 0, md5: '', alreadyPresent: true };
  }
  if (existing === 'partial' && !opts.force) {
    throw new UsageError(
      `${dir} already exists and does not hold the complete CIFAR-10 binary files; ` +
        `remove it, choose another --dir, or pass --force to replace it`,
    );
  }

  const parent = path.dirname(dir);
  const madeParent = await fsp.mkdir(parent, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(parent, `.${path.basename(dir)}.download-`));
  let ok = false;
  try {
    const remote = /^https?:\/\//i.test(from);
    const archive = remote ? path.join(tmp, 'archive.tar.gz') : localPath(from);
    const fetched = remote
      ? await fetchToFile(from, archive, opts)
      : await hashLocal(archive);
    const source = remote ? from : archive;
    if (wantSize !== null && fetched.bytes !== wantSize) {
      throw new UsageError(
        `${source} is ${fetched.bytes} bytes, expected ${wantSize}: ` +
          (fetched.bytes < wantSize ? 'the archive is truncated' : 'it is not the CIFAR-10 binary archive') +
          '. Nothing was kept.',
      );
    }
    if (wantMd5 !== null && fetched.md5 !== wantMd5.toLowerCase()) {
      throw new UsageError(
        `${source} has md5 ${fetched.md5}, expected ${wantMd5}: the archive is damaged or not the ` +
          `CIFAR-10 binary version. Nothing was kept.`,
      );
    }
    const out = path.join(tmp, 'extract');
    const files = await extractTarGz(archive, out, opts.signal);
    const content = await findContent(out, files, source);
    await checkFiles(content, source);
    if (remote) await fsp.rm(archive, { force: true });
    await moveIntoPlace(content, dir, tmp);
    ok = true;
    return { dir, files: await fsp.readdir(dir), source, bytes: fetched.bytes, md5: fetched.md5, alreadyPresent: false };
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
    if (!ok && madeParent !== undefined) await removeEmptyUpTo(parent, madeParent);
  }
}

function localPath(from: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(from);
  if (scheme !== null && scheme[1]!.toLowerCase() !== 'file') {
    throw new UsageError(`--from ${from}: ${scheme[1]}:// is not supported (give a URL starting with http:// or https://, or a downloaded .tar.gz)`);
  }
  return from.startsWith('file:') ? fileURLToPath(from) : path.resolve(from);
}

type TargetState = 'absent' | 'empty' | 'complete' | 'partial';

async function inspectTarget(dir: string): Promise<TargetState> {
  let entries: string[];
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) throw new UsageError(`${dir} exists and is not a folder; choose another --dir`);
    entries = await fsp.readdir(dir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new UsageError(`cannot read ${dir}: ${(err as Error).message}`);
  }
  if (entries.length === 0) return 'empty';
  try {
    await checkFiles(dir, dir);
    return 'complete';
  } catch {
    return 'partial';
  }
}

/** The folder holding the data files: the archive's `cifar-10-batches-bin/`, or its root. */
async function findContent(out: string, files: string[], source: string): Promise<string> {
  const inTop = REQUIRED.every((f) => files.includes(`${CIFAR10_ARCHIVE_FOLDER}/${f}`));
  if (inTop) return path.join(out, CIFAR10_ARCHIVE_FOLDER);
  if (REQUIRED.every((f) => files.includes(f))) return out;
  const shown = files.slice(0, 8).join(', ') + (files.length > 8 ? ', …' : '');
  throw new UsageError(
    `archive ${source} does not hold the CIFAR-10 binary files in ${CIFAR10_ARCHIVE_FOLDER}/ ` +
      `(expected ${REQUIRED.join(', ')}; found ${shown || 'no files'}). Nothing was kept.`,
  );
}

/** Every required file present, and each .bin a whole number of records. */
async function checkFiles(folder: string, source: string): Promise<void> {
  for (const f of REQUIRED) {
    const file = path.join(folder, f);
    let size: number;
    try {
      size = (await fsp.stat(file)).size;
    } catch {
      throw new UsageError(`${source}: ${f} is missing`);
    }
    if (f.endsWith('.bin') && (size === 0 || size % RECORD_BYTES !== 0)) {
      throw new UsageError(`${source}: ${f} has ${size} bytes, not a whole number of ${RECORD_BYTES}-byte records`);
    }
  }
}

/** Rename `content` to `dir`; an existing `dir` (empty, or replaced with force) is moved aside first. */
async function moveIntoPlace(content: string, dir: string, tmp: string): Promise<void> {
  let old: string | undefined;
  try {
    await fsp.rmdir(dir); // only succeeds when empty
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      old = path.join(tmp, 'previous');
      await fsp.rename(dir, old);
    }
  }
  try {
    await fsp.rename(content, dir);
  } catch (err) {
    if (old !== undefined) await fsp.rename(old, dir).catch(() => undefined);
    throw new UsageError(`cannot move the data set into ${dir}: ${(err as Error).message}`);
  }
}

/** Remove the folders this call created (from `leaf` up to `top`), if they are empty. */
async function removeEmptyUpTo(leaf: string, top: string): Promise<void> {
  let d = leaf;
  for (;;) {
    try {
      await fsp.rmdir(d);
    } catch {
      return;
    }
    if (path.resolve(d) === path.resolve(top)) return;
    d = path.dirname(d);
  }
}

async function hashLocal(file: string): Promise<{ bytes: number; md5: string }> {
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new UsageError(`--from ${file} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--from ${file} does not exist (give a URL starting with http:// or https://, or a downloaded .tar.gz)`);
  }
  const hash = createHash('md5');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, md5: hash.digest('hex') };
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.name === 'AbortError') return 'aborted';
  return e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
}

/** GET `url` following up to 5 redirects; resolves with a 200 response. */
function get(url: string, opts: DownloadOptions, redirects = 5): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new UsageError(`--from ${url} is not a valid URL`));
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(u, { signal: opts.signal, headers: { 'user-agent': 'residual-learning' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        if (redirects === 0) {
          reject(new UsageError(`download of ${url} failed: too many redirects`));
          return;
        }
        get(new URL(res.headers.location, u).toString(), opts, redirects - 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(
          new UsageError(
            `download of ${url} failed: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() +
              '. Nothing was kept; check the URL, or download the archive yourself and use --from FILE.',
          ),
        );
        return;
      }
      resolve(res);
    });
    const idle = opts.idleTimeoutMs ?? 60_000;
    req.setTimeout(idle, () => req.destroy(new Error(`no data for ${idle / 1000} s`)));
    req.on('error', (err) =>
      reject(new UsageError(`download of ${url} failed: ${describe(err)}. Nothing was kept; check the network, or use --from FILE.`)),
    );
  });
}

async function fetchToFile(url: string, file: string, opts: DownloadOptions): Promise<{ bytes: number; md5: string }> {
  const res = await get(url, opts);
  const header = res.headers['content-length'];
  const total = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  const hash = createHash('md5');
  let bytes = 0;
  let report: ProgressCallback | undefined;
  let finish: (() => void) | undefined;
  if (typeof opts.progress === 'function') report = opts.progress;
  else if (opts.progress) {
    const bar = progressBar(opts.progress, `downloading ${path.basename(new URL(url).pathname) || url}`);
    report = bar.update;
    finish = bar.done;
  }
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      report?.(bytes, total);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(res, tap, createWriteStream(file));
  } catch (err) {
    if (opts.signal?.aborted) throw new UsageError(`download of ${url} interrupted after ${bytes} bytes. Nothing was kept.`);
    throw new UsageError(
      `download of ${url} broke off after ${bytes}${total !== undefined ? ` of ${total}` : ''} bytes: ${describe(err)}. ` +
        'Nothing was kept; run the command again, or download the archive yourself and use --from FILE.',
    );
  } finally {
    finish?.();
  }
  if (total !== undefined && bytes !== total) {
    throw new UsageError(`download of ${url} broke off after ${bytes} of ${total} bytes. Nothing was kept; run the command again.`);
  }
  return { bytes, md5: hash.digest('hex') };
}
