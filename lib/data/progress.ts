/**
 * A download progress bar on a text stream (stderr): one line updated in place on a
 * terminal, a sparse line every 10% otherwise (logs, CI).
 */
import { textBar } from '../util/text-bar';

/** Something that takes progress reports: bytes received so far, and the total when known. */
export type ProgressCallback = (received: number, total: number | undefined) => void;

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * A {@link ProgressCallback} drawing a bar on `stream`; call `done()` when the transfer ends.
 *
 * @param label what is being downloaded (shown at the start of the line)
 */
export function progressBar(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  label: string,
): { update: ProgressCallback; done: () => void } {
  const tty = stream.isTTY === true;
  const start = Date.now();
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  const line = (received: number, total: number | undefined): string => {
    const secs = Math.max((Date.now() - start) / 1000, 1e-3);
    const rate = `${mb(received / secs)} MB/s`;
    if (total === undefined || total <= 0) return `${label}  ${mb(received)} MB  ${rate}`;
    const frac = Math.min(1, received / total);
    return `${label}  ${textBar(frac, 24)} ${(frac * 100).toFixed(0).padStart(3)}%  ${mb(received)}/${mb(total)} MB  ${rate}`;
  };
  const update: ProgressCallback = (received, total) => {
    if (tty) {
      const now = Date.now();
      if (now - lastDraw < 100 && received !== total) return;
      lastDraw = now;
      stream.write(`\r${line(received, total)}\x1b[K`);
      drawn = true;
    } else {
      const tenth = total ? Math.floor((received / total) * 10) : Math.floor(received / 20e6);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${line(received, total)}\n`);
    }
  };
  const done = (): void => {
    if (tty && drawn) stream.write('\n');
  };
  return { update, done };
}
