/**
 * Results a backward pass lets finish in the background. A convolution's filter gradient dW is
 * read by nothing in the backward pass (the optimiser takes it afterwards), so on the threaded
 * wasm backend it is computed by the helper threads while this thread goes on down the tape
 * (native-conv.ts): the helpers fill the time they would otherwise wait, for the JavaScript
 * between kernels and the end of a job shared unevenly. Such a tensor is pending until it is
 * settled (waited for): the backward pass (frugal-backward.ts) settles a gradient before any
 * kernel reads it, and every pending one before it returns, so that nothing outside the pass can
 * see a result before it is written.
 */

/** Pending results: a tensor's dataId → how to wait for it, oldest first. */
const pending = new Map<object, () => void>();
let open = 0;

/**
 * Run `f` (a backward pass) with results allowed to be deferred, then settle every one still
 * pending (also when `f` throws), so that none outlives it.
 */
export function withDeferredResults<T>(f: () => T): T {
  open++;
  try {
    return f();
  } finally {
    open--;
    settleAll();
  }
}

/** Whether a kernel may leave its result pending now (inside {@link withDeferredResults}). */
export function mayDefer(): boolean {
  return open > 0;
}

/** Register the pending result whose data is `dataId`, and `settle`, which waits for it and tidies up. */
export function defer(dataId: object, settle: () => void): void {
  pending.set(dataId, settle);
}

/** Wait for the result on `dataId` if it is pending (no-op otherwise). */
export function settle(dataId: object): void {
  const f = pending.get(dataId);
  if (f === undefined) return;
  pending.delete(dataId);
  f();
}

/** Wait for the oldest pending result; false if there is none. */
export function settleOldest(): boolean {
  const first = pending.keys().next();
  if (first.done === true) return false;
  settle(first.value);
  return true;
}

/** Wait for every pending result (each is settled even if an earlier one failed; the first error is thrown). */
export function settleAll(): void {
  let error: unknown;
  while (pending.size > 0) {
    try {
      settleOldest();
    } catch (e) {
      error ??= e;
    }
  }
  if (error !== undefined) throw error;
}
