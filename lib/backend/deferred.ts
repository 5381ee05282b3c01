/**
 * Results a training step does not wait for. Two kinds:
 *
 * - In the background: a convolution's filter gradient dW is read by nothing in the backward pass
 *   (the optimiser takes it afterwards), so on the threaded wasm backend the helper threads compute
 *   it while this thread goes on down the tape (native-conv.ts); they fill the time they would
 *   otherwise wait, for the JavaScript between kernels and the end of a job shared unevenly. On
 *   the way forward, the convolutions, batch norms, ReLUs and additions start the same way: the
 *   helpers begin while this thread runs the JavaScript up to the next kernel, which then joins in.
 * - When read: a convolution's input gradient dx is computed when something first reads it, and
 *   never if it is disposed unread. tfjs's fused convolution (every tfjs-layers `Conv2D`) computes
 *   dx and dW together, even where its input is not a function of the weights, as the first
 *   layer's image is not: that dx was a whole convolution thrown away at every step. Likewise
 *   batch norm's output, which the ReLU or the sum F(x) + x after it computes in its own pass
 *   (pending-affine.ts), so that it is never written.
 *
 * Such a tensor is pending until it is settled. Every kernel the engine runs settles its pending
 * inputs first (but for the kernels a result computed when read names as taking it as it is), and
 * so does every read of a tensor's data ({@link installSettleOnRead}), so no one can see a result
 * before it is written; the training step settles whatever is still pending before it returns
 * ({@link withDeferredResults}).
 */

/**
 * A pending result: how to finish it; for one computed when read, whether it was disposed unread
 * and how to let it go then, and the kernels that take it as it is (they do not read its data, or
 * compute what they need from what it would be computed from).
 */
interface Pending {
  settle: () => void;
  unread?: () => boolean;
  abandon?: () => void;
  takenBy?: ReadonlySet<string>;
}

/** Pending results: a tensor's dataId → its Pending, oldest first. */
const pending = new Map<object, Pending>();
let open = 0;

/**
 * Run `f` (a training step's forward and backward pass) with results allowed to be deferred; then
 * (also when `f` throws) settle every one still pending, except results computed when read that
 * `f`'s tidying disposed unread: those are never computed. Call it outside the backward pass's
 * `tidy`, so that they are disposed by then.
 */
export function withDeferredResults<T>(f: () => T): T {
  open++;
  try {
    return f();
  } finally {
    open--;
    if (open === 0) settleAll();
  }
}

/** Whether a kernel may leave its result pending now (inside {@link withDeferredResults}). */
export function mayDefer(): boolean {
  return open > 0;
}

/** Register a result on `dataId` that is finishing in the background; `settle` waits for it and tidies up. */
export function defer(dataId: object, settle: () => void): void {
  pending.set(dataId, { settle });
}

/**
 * Register a result on `dataId` that `compute` writes when it is first read. `unread()`: whether
 * only this registration still holds it (it was disposed unread); `abandon` lets go of what
 * compute would have read, in place of computing; `takenBy`: kernels that the engine gives it
 * unsettled (each then settles it itself if it reads it).
 */
export function deferUntilRead(
  dataId: object,
  compute: () => void,
  unread: () => boolean,
  abandon: () => void,
  takenBy?: ReadonlySet<string>,
): void {
  pending.set(dataId, { settle: compute, unread, abandon, takenBy });
}

/** Finish the result on `dataId` if it is pending (no-op otherwise). */
export function settle(dataId: object): void {
  const p = pending.get(dataId);
  if (p === undefined) return;
  pending.delete(dataId);
  p.settle();
}

/** Wait for the oldest result finishing in the background; false if there is none. */
export function settleOldest(): boolean {
  for (const [dataId, p] of pending) {
    if (p.unread !== undefined) continue;
    settle(dataId);
    return true;
  }
  return false;
}

/**
 * Abandon every pending result disposed unread ({@link abandonUnread}), then finish the others
 * (each even if an earlier one failed; the first error is thrown).
 */
function settleAll(): void {
  abandonUnread();
  let error: unknown;
  for (const dataId of pending.keys()) {
    try {
      settle(dataId);
    } catch (e) {
      error ??= e;
    }
  }
  if (error !== undefined) throw error;
}

/**
 * Let go of every result computed when read that has been disposed unread: call it once a pass's
 * intermediates are disposed (after the forward pass's tidy), so that what they would have been
 * computed from is freed then, not at the end of the step.
 */
export function abandonUnread(): void {
  for (const [dataId, p] of pending) {
    if (p.unread?.() !== true) continue;
    pending.delete(dataId);
    p.abandon!();
  }
}

/** What {@link installSettleOnRead} wraps: the engine's kernel calls and data reads (tfjs-core's `Engine`). */
export interface ReadingEngine {
  runKernel(kernelName: string, inputs: object, attrs?: object): unknown;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
}

/** Settle the pending result on `dataId` unless it is one that kernel `kernelName` takes as it is. */
function settleFor(kernelName: string, dataId: object): void {
  if (pending.get(dataId)?.takenBy?.has(kernelName) !== true) settle(dataId);
}

/**
 * Make the engine settle a pending tensor before any kernel takes it as an input (but kernels
 * that take it as it is) and before its data is read (`dataSync`, `data`, `array`, …); returns
 * what puts the engine back. Without a pending result, one check per kernel call.
 */
export function installSettleOnRead(engine: ReadingEngine): () => void {
  const { runKernel, readSync, read } = engine;
  engine.runKernel = function (kernelName, inputs, attrs) {
    if (pending.size > 0) for (const t of Object.values(inputs)) if (t != null) settleFor(kernelName, (t as { dataId: object }).dataId);
    return runKernel.call(this, kernelName, inputs, attrs);
  };
  engine.readSync = function (dataId) {
    settle(dataId);
    return readSync.call(this, dataId);
  };
  engine.read = function (dataId) {
    settle(dataId);
    return read.call(this, dataId);
  };
  return () => Object.assign(engine, { runKernel, readSync, read });
}
