/**
 * A progress bar for training: epoch, loss, error, images/s and time left.
 * - In a tslab notebook: one display that updates in place (the kernel's own display channel,
 *   found by `insideTslab()`/`newLiveDisplay()` of lib/notebook/display: a `require('tslab')` from here could
 *   load a second copy of tslab that the kernel never connects).
 * - In a terminal (TTY): one line rewritten in place.
 * - Otherwise (logs, CI): a line at most every `intervalSeconds` and at each epoch's end.
 */
import { escapeHtml, insideTslab, newLiveDisplay, type LiveDisplay } from '../notebook/display';
import { textBar } from '../util/text-bar';

/** What the bar shows. */
export interface ProgressInfo {
  /** Current epoch, 1-based. */
  epoch: number;
  epochs: number;
  /** Step within the epoch, 1-based. */
  stepInEpoch: number;
  stepsPerEpoch: number;
  /** Running mean training loss of the epoch. */
  loss: number;
  /** Running training error of the epoch, fraction. */
  err: number;
  imgPerSec: number;
  /** Estimated seconds until the end of the run. */
  secondsLeft: number;
  /** Learning rate of the last step. */
  lr: number;
}

/** Where the bar writes. */
export type ProgressMode = 'tslab' | 'tty' | 'lines' | 'silent';

/** Options of {@link ProgressBar}. */
export interface ProgressOptions {
  /** Force a mode; default: tslab inside a tslab kernel, tty on a terminal, else lines. */
  mode?: ProgressMode;
  /** Least seconds between two lines in `lines` mode, default 30. */
  intervalSeconds?: number;
  /** Stream for `tty`/`lines`, default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** A live display of the running tslab kernel, or undefined outside one (never throws). */
function tslabDisplay(): LiveDisplay | undefined {
  try {
    return insideTslab() ? newLiveDisplay() : undefined;
  } catch {
    return undefined;
  }
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** The bar as text: `epoch 3/30 [#####.....] 120/391 loss 1.234 err 45.6% lr 0.0950 812 img/s 12m30s left`. */
export function formatProgress(p: ProgressInfo, width = 20): string {
  const bar = textBar(p.stepsPerEpoch > 0 ? p.stepInEpoch / p.stepsPerEpoch : 0, width);
  return (
    `epoch ${p.epoch}/${p.epochs} ${bar} ${p.stepInEpoch}/${p.stepsPerEpoch} ` +
    `loss ${p.loss.toFixed(3)} err ${(p.err * 100).toFixed(1)}% lr ${p.lr.toPrecision(3)} ` +
    `${Math.round(p.imgPerSec)} img/s ${formatDuration(p.secondsLeft)} left`
  );
}

/** The training progress display (see the module comment). */
export class ProgressBar {
  readonly mode: ProgressMode;
  private readonly display: LiveDisplay | undefined;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly interval: number;
  private lastLine = 0;
  private log: string[] = [];
  private open = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.interval = (options.intervalSeconds ?? 30) * 1000;
    let mode = options.mode;
    let display: LiveDisplay | undefined;
    if (mode === undefined || mode === 'tslab') {
      display = tslabDisplay();
      if (display !== undefined) mode = 'tslab';
      else if (mode === 'tslab') mode = 'lines';
    }
    this.display = display;
    this.mode = mode ?? (this.stream.isTTY ? 'tty' : 'lines');
  }

  /** Show the state during an epoch. */
  update(p: ProgressInfo): void {
    const line = formatProgress(p);
    if (this.mode === 'tslab') {
      const now = Date.now();
      if (now - this.lastLine >= 250) {
        // A few updates a second: each one is a message to the notebook frontend.
        this.lastLine = now;
        this.render(line);
      }
    } else if (this.mode === 'tty') {
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
      this.open = true;
    } else if (this.mode === 'lines') {
      const now = Date.now();
      if (now - this.lastLine >= this.interval) {
        this.lastLine = now;
        this.stream.write(`${line}\n`);
      }
    }
  }

  /** Record a finished epoch as a permanent line (e.g. with test error). */
  epochEnd(summary: string): void {
    if (this.mode === 'tslab') {
      this.log.push(summary);
      this.render('');
    } else if (this.mode === 'tty') {
      this.stream.write(`\r${summary}\x1b[K\n`);
      this.open = false;
    } else if (this.mode === 'lines') {
      this.stream.write(`${summary}\n`);
      this.lastLine = Date.now();
    }
  }

  /** End the display (leaves the last state visible). */
  close(): void {
    if (this.mode === 'tty' && this.open) this.stream.write('\n');
    this.open = false;
  }

  private render(current: string): void {
    const lines = [...this.log.slice(-50), current].filter((l) => l !== '');
    const text = lines.join('\n');
    this.display?.update({ 'text/html': `<pre style="margin:0">${escapeHtml(text)}</pre>`, 'text/plain': text });
  }
}
