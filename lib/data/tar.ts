/**
 * A small, strict reader of `.tar.gz` archives (ustar/GNU/pax headers) over node's zlib,
 * enough for the CIFAR-10 archive, and safe on hostile input: it refuses any entry whose
 * path would land outside the target folder (absolute paths, `..` components), and any
 * link or special file.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../util/errors';

const BLOCK = 512;

/** Pulls exact byte counts out of a stream of chunks. */
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes handed out so far (offset into the uncompressed stream). */
  offset = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }

  /** Exactly n bytes, or null at a clean end of stream (no bytes left); throws on a partial read. */
  async exact(n: number, what: string): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (!(await this.fill())) {
        if (this.buf.length === 0) return null;
        throw new TarError(`ends in the middle of ${what} (truncated?)`);
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Between 1 and max bytes; throws at end of stream. */
  async some(max: number, what: string): Promise<Buffer> {
    if (this.buf.length === 0 && !(await this.fill())) throw new TarError(`ends in the middle of ${what} (truncated?)`);
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Read and discard everything left (so the gzip trailer and CRC are checked). */
  async drain(): Promise<void> {
    while (await this.fill()) this.buf = Buffer.alloc(0);
  }
}

/** A fault in the archive's content (wrapped into a UsageError naming the archive). */
class TarError extends Error {}

function cString(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function octal(b: Buffer, start: number, len: number, what: string): number {
  if (b[start] & 0x80) {
    // GNU base-256 for large values.
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i];
    return v;
  }
  const s = cString(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`has a bad ${what} field '${s}' in a header (not a tar archive?)`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const want = octal(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === want;
}

/** pax extended header records: "LEN key=value\n". */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = parseInt(data.subarray(i, sp).toString('ascii'), 10);
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Where entry `name` goes inside `dest`, or a TarError when it would land outside
 * (absolute path, drive letter, `..` component) or is empty.
 */
export function safeEntryPath(dest: string, name: string): string {
  if (name === '' || name.includes('\0')) throw new TarError(`has an entry with an empty or invalid name`);
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) {
    throw new TarError(`has an entry with an absolute path '${name}', refused`);
  }
  const parts = name.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new TarError(`has an entry '${name}' that climbs out of the folder with '..', refused`);
  const root = path.resolve(dest);
  const target = path.resolve(root, ...parts);
  if (target !== root && !target.startsWith(root + path.sep)) {
    throw new TarError(`has an entry '${name}' that would land outside the target folder, refused`);
  }
  return target;
}

/** Entry types that carry no file content we write. */
const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
};

/**
 * Extract the `.tar.gz` file `archive` into the folder `dest` (created if missing).
 * Regular files and folders only; refuses links, special files and any path that would
 * land outside `dest`. Reads the gzip stream to its end so a truncated or corrupt archive
 * is reported rather than half-used.
 *
 * @param signal stop early (the caller removes what was written)
 * @returns the extracted regular files, relative to `dest`, with '/' separators
 * @throws UsageError naming the archive and the fault
 */
export async function extractTarGz(archive: string, dest: string, signal?: AbortSignal): Promise<string[]> {
  const input = createReadStream(archive);
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  const it = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const reader = new ChunkReader(it);
  try {
    await fsp.mkdir(dest, { recursive: true });
    const files = await readEntries(reader, dest, signal);
    await reader.drain();
    return files;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    let why: string;
    if (err instanceof TarError) why = err.message;
    else if (e.code === 'Z_BUF_ERROR' || e.message === 'unexpected end of file') why = 'is truncated (the gzip stream ends early)';
    else if (typeof e.code === 'string' && e.code.startsWith('Z_')) why = `is not a valid gzip file (${e.message})`;
    else if (err instanceof UsageError) throw err;
    else why = `cannot be extracted: ${e.message}`;
    throw new UsageError(`archive ${archive} ${why}`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

async function readEntries(reader: ChunkReader, dest: string, signal: AbortSignal | undefined): Promise<string[]> {
  const files: string[] = [];
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  let sawHeader = false;
  for (;;) {
    if (signal?.aborted) throw new TarError('extraction was interrupted');
    const h = await reader.exact(BLOCK, 'a header');
    if (h === null) {
      if (!sawHeader) throw new TarError('is empty (no tar entries)');
      throw new TarError('ends without the end-of-archive marker (truncated?)');
    }
    if (h.every((b) => b === 0)) return files; // end-of-archive marker
    if (!checksumOk(h)) throw new TarError(`has a damaged header at byte ${reader.offset - BLOCK} (checksum mismatch; not a tar archive?)`);
    sawHeader = true;
    const type = String.fromCharCode(h[156] || 0x30);
    let size = octal(h, 124, 12, 'size');
    const magic = cString(h, 257, 6);
    let name = cString(h, 0, 100);
    const prefix = magic.startsWith('ustar') ? cString(h, 345, 155) : '';
    if (prefix !== '' && magic === 'ustar') name = `${prefix}/${name}`;
    if (longName !== undefined) name = longName;
    if (pax.path !== undefined) name = pax.path;
    if (pax.size !== undefined) size = Number(pax.size);
    longName = undefined;
    pax = {};

    if (type === 'L' || type === 'x' || type === 'g' || type === 'K') {
      const data = await readData(reader, size, `the ${type} header of '${name}'`);
      if (type === 'L') longName = cString(data, 0, data.length);
      else if (type === 'x') pax = parsePax(data);
      continue;
    }
    if (TYPE_NAMES[type] !== undefined) {
      const link = cString(h, 157, 100);
      throw new TarError(`has an entry '${name}' that is ${TYPE_NAMES[type]}${link ? ` to '${link}'` : ''}, refused (only plain files and folders are extracted)`);
    }
    const target = safeEntryPath(dest, name);
    if (type === '5') {
      await fsp.mkdir(target, { recursive: true });
      await skipData(reader, size, name);
      continue;
    }
    if (type !== '0' && type !== '7') {
      throw new TarError(`has an entry '${name}' of unknown type '${type}', refused`);
    }
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const fh = await fsp.open(target, 'w', 0o644);
    try {
      let left = size;
      while (left > 0) {
        const chunk = await reader.some(left, `the file '${name}'`);
        await fh.write(chunk);
        left -= chunk.length;
      }
    } finally {
      await fh.close();
    }
    await skipPadding(reader, size, name);
    files.push(path.relative(dest, target).split(path.sep).join('/'));
  }
}

async function readData(reader: ChunkReader, size: number, what: string): Promise<Buffer> {
  if (size > 1 << 20) throw new TarError(`has an oversized ${what} (${size} bytes)`);
  const data = size === 0 ? Buffer.alloc(0) : await reader.exact(size, what);
  if (data === null) throw new TarError(`ends in the middle of ${what} (truncated?)`);
  const copy = Buffer.from(data);
  await skipPadding(reader, size, what);
  return copy;
}

async function skipData(reader: ChunkReader, size: number, name: string): Promise<void> {
  let left = size;
  while (left > 0) left -= (await reader.some(left, `'${name}'`)).length;
  await skipPadding(reader, size, name);
}

async function skipPadding(reader: ChunkReader, size: number, name: string): Promise<void> {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad > 0 && (await reader.exact(pad, `the padding after '${name}'`)) === null) {
    throw new TarError(`ends after '${name}' without the end-of-archive marker (truncated?)`);
  }
}
