// Rich output in notebooks: a MIME bundle (several representations of one thing, the frontend
// picks the richest it can show) sent straight to the running tslab kernel, and plain text
// anywhere else (tests, scripts, the CLI).
import { randomBytes } from 'node:crypto';

/**
 * A MIME bundle: representations of one output keyed by MIME type, e.g.
 * `{ 'text/html': '<b>hi</b>', 'text/plain': 'hi' }`. Text types take strings; JSON types
 * (`application/json`, `application/vnd.plotly.v1+json`, ...) take plain objects; binary image
 * types (`image/png`, ...) take base64 strings or `Uint8Array`s.
 */
export type MimeBundle = Record<string, unknown>;

/** A display that can be replaced in place (a progress table, a live training curve). */
export interface LiveDisplay {
  /** Shows `bundle` in this display's place, replacing what it showed before. */
  update(bundle: MimeBundle): void;
  /** The Jupyter display id (also set outside tslab, where it is unused). */
  readonly id: string;
}

/** What tslab's kernel sends for one display (its `DisplayData` message content). */
interface TslabDisplayData {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type TslabWriter = (data: TslabDisplayData, update: boolean) => void;
interface TslabJupyterModule {
  lastWriteDisplayData: TslabWriter | null;
}

const JUPYTER_JS = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * The `tslab/dist/jupyter` module instance that runs the current cell, or undefined when the
 * process is not a tslab kernel. tslab keeps the writer of the cell being executed in that
 * module's `lastWriteDisplayData`; it must be the kernel's own instance (a second copy of tslab
 * resolved from this library would never be set), so it is looked up among the modules the
 * process has already loaded rather than required. A process can hold two copies: the `tslab`
 * that Jupyter launched (registered from one project) hands the kernel over to the `tslab`
 * installed where the notebook is; the one whose writer is set is the one running cells.
 */
function tslabJupyter(): TslabJupyterModule | undefined {
  if (typeof require === 'undefined' || require.cache === undefined) return undefined;
  let loaded: TslabJupyterModule | undefined;
  for (const [filename, mod] of Object.entries(require.cache)) {
    if (mod === undefined || !JUPYTER_JS.test(filename)) continue;
    const exported: unknown = mod.exports;
    if (typeof exported !== 'object' || exported === null || !('lastWriteDisplayData' in exported)) continue;
    loaded = exported as TslabJupyterModule;
    if (typeof loaded.lastWriteDisplayData === 'function') return loaded;
  }
  return loaded;
}

type SendFn = (this: object, message: unknown) => unknown;
const QUEUED = Symbol.for('residual-learning.queuedSend');
let sendsQueued = false;

/**
 * tslab (1.0.22) sends its messages on zeromq sockets without waiting for the previous send, and
 * zeromq 6 *throws* EBUSY ("Socket is busy writing; only one send operation may be in progress")
 * when one is still in progress. Under load (a training step holding the CPU between two progress
 * updates) a progress update then threw out of the training loop and failed the cell, and the
 * error's own text, sent on the same busy socket, was lost: the cell failed with no message. Here
 * each socket's sends are chained one after the other, in the zeromq module the kernel loaded.
 * Idempotent; does nothing where zeromq is not loaded. Called on the first display in a kernel
 * (exported for the tests only).
 *
 * @internal
 */
export function queueKernelSends(): void {
  if (sendsQueued || typeof require === 'undefined' || require.cache === undefined) return;
  for (const [filename, mod] of Object.entries(require.cache)) {
    if (mod === undefined || !/[\\/]zeromq[\\/]lib[\\/]index\.js$/.test(filename)) continue;
    const zmq = mod.exports as Record<string, { prototype?: Record<string | symbol, unknown> } | undefined>;
    for (const name of ['Publisher', 'Router', 'Reply', 'Dealer']) {
      const proto = zmq[name]?.prototype;
      const send = proto?.['send'];
      if (proto === undefined || typeof send !== 'function' || proto[QUEUED] === true) continue;
      const pending = new WeakMap<object, Promise<unknown>>();
      const original = send as SendFn;
      // The native `send` is inherited and read-only: define an own property on the subclass.
      Object.defineProperty(proto, 'send', {
        configurable: true,
        writable: true,
        value: function queuedSend(this: object, message: unknown): Promise<unknown> {
          const previous = pending.get(this) ?? Promise.resolve();
          const sent = previous.then(() => original.call(this, message));
          pending.set(
            this,
            sent.catch(() => undefined),
          );
          return sent;
        },
      });
      Object.defineProperty(proto, QUEUED, { value: true });
      sendsQueued = true;
    }
  }
}

/** The writer of the cell now running in tslab, or undefined outside a tslab kernel. */
function currentWriter(): TslabWriter | undefined {
  const writer = tslabJupyter()?.lastWriteDisplayData;
  if (typeof writer !== 'function') return undefined;
  queueKernelSends();
  return writer;
}

/** True when this process is a tslab kernel that has started executing cells. */
export function insideTslab(): boolean {
  return currentWriter() !== undefined;
}

/** Binary values become base64, as the Jupyter protocol wants them. */
function encodeBundle(bundle: MimeBundle): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(bundle)) {
    data[mime] = value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
  }
  return data;
}

/** The text a terminal shows for a bundle: its `text/plain`, else a note of what it holds. */
export function bundleText(bundle: MimeBundle): string {
  const plain = bundle['text/plain'];
  if (typeof plain === 'string') return plain;
  return `<display: ${Object.keys(bundle).join(', ')}>`;
}

function write(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
  const writer = currentWriter();
  if (writer === undefined) {
    console.log(bundleText(bundle));
    return;
  }
  writer({ data: encodeBundle(bundle), metadata: {}, transient: displayId === undefined ? {} : { display_id: displayId } }, update);
}

/**
 * Shows a MIME bundle as one output of the running notebook cell (all its types in one
 * `display_data` message, so the frontend picks the best). Outside tslab it prints the
 * bundle's `text/plain` (or a one-line note) with `console.log`.
 */
export function displayBundle(bundle: MimeBundle): void {
  write(bundle, undefined, false);
}

/**
 * A new display that is updated in place: the first `update` shows it, later ones replace it
 * (Jupyter's `update_display_data`). Outside tslab each update prints its text.
 */
export function newLiveDisplay(): LiveDisplay {
  const id = randomBytes(8).toString('hex');
  let shown = false;
  return {
    id,
    update(bundle: MimeBundle): void {
      try {
        write(bundle, id, shown);
        shown = true;
      } catch {
        // A live display is repainted by its next update: losing one must never stop the work
        // it reports on (a training loop).
      }
    },
  };
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
