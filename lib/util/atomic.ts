/**
 * Writing files so that a kill at any moment leaves either the old content or the new one:
 * write a temporary file beside the target, flush it to disk, then rename it over the target.
 */
import { existsSync, mkdirSync, promises as fsp, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Make a folder and its missing parents, one level at a time (Node 20's recursive `mkdirSync`
 * never returns for a path under /proc, where the kernel refuses to create anything).
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) mkdirSync(d);
}

/** Write `data` to a file and flush it to disk before returning. */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    // Writes through a file handle report no path: name the file (a full disk, say).
    (err as NodeJS.ErrnoException).path ??= file;
    throw err;
  } finally {
    await fh.close();
  }
}

/** Flush a directory's entries (renames) to disk; ignored where the platform cannot. */
export async function syncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms cannot open or fsync a directory; the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

/** Replace `file` atomically by `data` (temp file + rename). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    await writeFileSynced(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined); // no stray temporary file
    throw err;
  }
  await syncDir(path.dirname(file));
}

/**
 * {@link writeFileAtomic} for code that cannot wait (a backend starting up): the same temporary
 * file and rename, without the flush to disk (what it writes can be written again).
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true }); // no stray temporary file
    throw err;
  }
}
