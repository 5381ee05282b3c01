/**
 * The kernels of lib/backend/conv-kernels.c (WebAssembly SIMD: convolutions and batch norm's
 * passes), run on the wasm backend's own memory: no copy in or out, the tensors are read and
 * written where tfjs keeps them.
 *
 * With the threaded backend (its memory is shared) the work is split over as many threads as the
 * backend has: this thread plus worker threads that run the same module on the same memory,
 * woken and awaited through `Atomics` (a job is a few milliseconds; a message round trip through
 * the event loop would cost as much). Besides the jobs this thread shares out and waits for, the
 * helpers take background jobs (units of work) whenever they have nothing else: a filter gradient,
 * which nothing reads until the backward pass is over (see deferred.ts).
 */
import * as tf from '@tensorflow/tfjs';
import * as v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { CONV_KERNELS_WASM } from './conv-kernels-wasm';
import { defer, deferUntilRead, mayDefer, settleOldest } from './deferred';
import { wasmThreadsCount } from './wasm-threads';

/** The functions conv-kernels.c exports (all arguments are i32: byte offsets and sizes). */
interface ConvExports {
  conv_filter_grad(...args: number[]): void;
  conv_filter_grad_winograd(...args: number[]): void;
  winograd_filter_grad_finish(...args: number[]): void;
  conv2d(...args: number[]): void;
  conv2d_winograd(...args: number[]): void;
  conv_input_grad(...args: number[]): void;
  swap_filter(...args: number[]): void;
  take_channels(...args: number[]): void;
  channel_affine(...args: number[]): void;
  channel_sums(...args: number[]): void;
  channel_moments(...args: number[]): void;
  batch_norm_input_grad(...args: number[]): void;
  add_same(...args: number[]): void;
  relu_grad(...args: number[]): void;
  relu(...args: number[]): void;
  copy_runs(...args: number[]): void;
  sgd_step(...args: number[]): void;
}
/** A module whose one function is an `f32x4.relaxed_madd` (opcode 0xfd 0x85 0x02). */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a,
  0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);
let relaxed: boolean | undefined;

/**
 * Whether this Node compiles relaxed SIMD (fused multiply-adds): Node ≥ 22 does; Node 20's V8
 * has it behind --experimental-wasm-relaxed-simd, which is turned on here (it only lets wasm
 * modules use those instructions).
 */
export function relaxedSimd(): boolean {
  if (relaxed === undefined) {
    relaxed = WebAssembly.validate(RELAXED_PROBE);
    if (!relaxed) {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxed = WebAssembly.validate(RELAXED_PROBE);
    }
  }
  return relaxed;
}

/** Function ids, as the workers know them. */
const FUNCTIONS = [
  'conv_filter_grad',
  'conv_filter_grad_winograd',
  'winograd_filter_grad_finish',
  'conv2d',
  'conv2d_winograd',
  'conv_input_grad',
  'swap_filter',
  'take_channels',
  'channel_affine',
  'channel_sums',
  'channel_moments',
  'batch_norm_input_grad',
  'add_same',
  'relu_grad',
  'relu',
  'copy_runs',
  'sgd_step',
] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/** One job for one thread: a function and its arguments. */
export interface Job {
  fn: FunctionName;
  args: number[];
}

// Control block of a worker (Int32): [state, function id, argument count, chunks, substitutions,
// wake, arguments (MAX_ARGS), substitutions (4 numbers each, MAX_SUBS)]. A job of 0 chunks is one
// call; a job of K chunks is claimed a chunk at a time by all threads (claimChunks). A posted job
// is taken by the helper (POSTED → RUNNING) or, if it has not started when this thread is done
// with its own share, taken back (POSTED → IDLE; see join). `wake` is bumped whenever there is
// something new for the helper (a job, background work, QUIT): an idle helper sleeps on it.
const IDLE = 0;
const POSTED = 1;
const DONE = 2;
const QUIT = 3;
const FAILED = 4;
const RUNNING = 5;
const MAX_ARGS = 32;
const MAX_SUBS = 4;
const WAKE_AT = 5;
const ARGS_AT = 6;
const SUBS_AT = ARGS_AT + MAX_ARGS;
// Background jobs (Int32, BG_STRIDE numbers each, shared by all threads): [state (0 free, 1
// active), function id, argument count, units, substitutions, next unit to claim, units done,
// failed, sequence number, arguments (MAX_ARGS), substitutions (4 each, MAX_SUBS)]. Unit k is one
// call, its arguments substituted as chunk k of a chunked job (see claimChunks). Helpers take units
// whenever they have no job, oldest job first; this thread takes the rest when it settles one.
const BG_JOBS = 4;
const BG_STRIDE = 64;
const [BG_FN, BG_ARGC, BG_UNITS, BG_NSUBS, BG_NEXT, BG_DONE, BG_FAILED, BG_SEQ, BG_ARGS] = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const BG_SUBS = BG_ARGS + MAX_ARGS;
/** `next` of a free background slot: no unit to claim while it is being written. */
const BG_CLOSED = 0x3fffffff;
// Milliseconds a waiting thread keeps checking its state before it sleeps (Atomics.wait): in a
// training step the next job, or a helper's end, usually comes sooner, and waking a sleeping thread
// took 0.1 ms and more here, longer than many a job (5 ms spun trained faster than 1 ms).
const SPIN_MS = 5;
// Chunked jobs of fewer chunks run on this thread alone: a helper that has gone to sleep (after
// SPIN_MS without work, as between the backward pass and the optimiser's steps) takes longer to
// wake than a few chunks take (a ResNet-20 step's 65 optimiser steps waited 3 ms for helpers).
const MIN_SHARED_CHUNKS = 4;
/**
 * Call `fn` as chunk k of a chunked job: argument `index` of each substitution set to
 * min(base + k·step, max) (offsets and sizes as unsigned 32-bit). Runs on the helpers too (its
 * source is copied into theirs): it uses nothing from outside.
 */
function callChunk(fn: (...args: number[]) => void, args: number[], subs: ArrayLike<number>, k: number): void {
  for (let j = 0; j < subs.length; j += 4) args[subs[j]] = Math.min((subs[j + 1] >>> 0) + k * subs[j + 2], subs[j + 3] >>> 0);
  fn(...args);
}

/**
 * Chunks of one job, claimed one at a time by every thread from a counter they share (starting at
 * 0), so that a slower thread takes fewer (see callChunk). Runs on the helpers too.
 */
function claimChunks(fn: (...args: number[]) => void, args: number[], counter: Int32Array, count: number, subs: ArrayLike<number>): void {
  for (let k = Atomics.add(counter, 0, 1); k < count; k = Atomics.add(counter, 0, 1)) callChunk(fn, args, subs, k);
}

/**
 * Claim and run one unit of the oldest background job that has units left (see BG_STRIDE);
 * false if there was none. Runs on the helpers (its source is copied into theirs).
 */
function backgroundUnit(bg: Int32Array, fns: ((...args: number[]) => void)[]): boolean {
  let o = -1;
  for (let p = 0; p < bg.length; p += BG_STRIDE) {
    if (Atomics.load(bg, p) === 1 && Atomics.load(bg, p + BG_NEXT) < bg[p + BG_UNITS] && (o < 0 || bg[p + BG_SEQ] < bg[o + BG_SEQ])) o = p;
  }
  if (o < 0) return false;
  const k = Atomics.add(bg, o + BG_NEXT, 1);
  if (k >= bg[o + BG_UNITS]) return true; // taken meanwhile: look again
  try {
    const args = Array.from(bg.subarray(o + BG_ARGS, o + BG_ARGS + bg[o + BG_ARGC]));
    callChunk(fns[bg[o + BG_FN]], args, bg.subarray(o + BG_SUBS, o + BG_SUBS + bg[o + BG_NSUBS]), k);
  } catch {
    Atomics.store(bg, o + BG_FAILED, 1);
  }
  Atomics.add(bg, o + BG_DONE, 1);
  Atomics.notify(bg, o + BG_DONE);
  return true;
}

/**
 * Keep checking `waiting` while it holds, for at most `ms` milliseconds (the caller then sleeps on
 * Atomics.wait if it still holds). Runs on the helpers too (its source is copied into theirs).
 */
function spin(waiting: () => boolean, ms: number): void {
  const t0 = performance.now();
  for (let k = 1; waiting(); k++) if (k % 1024 === 0 && performance.now() - t0 > ms) return;
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, chunkCounter, background } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = ${JSON.stringify(FUNCTIONS)}.map((name) => exports[name]);
const c = new Int32Array(ctrl);
const counter = new Int32Array(chunkCounter);
const bg = new Int32Array(background);
const [BG_STRIDE, BG_FN, BG_ARGC, BG_UNITS, BG_NSUBS, BG_NEXT, BG_DONE, BG_FAILED, BG_SEQ, BG_ARGS, BG_SUBS] =
  ${JSON.stringify([BG_STRIDE, BG_FN, BG_ARGC, BG_UNITS, BG_NSUBS, BG_NEXT, BG_DONE, BG_FAILED, BG_SEQ, BG_ARGS, BG_SUBS])};
const callChunk = ${callChunk.toString()};
const claimChunks = ${claimChunks.toString()};
const backgroundUnit = ${backgroundUnit.toString()};
const spin = ${spin.toString()};
for (;;) {
  const wake = Atomics.load(c, ${WAKE_AT});
  const s = Atomics.load(c, 0);
  if (s === ${QUIT}) break;
  if (s === ${POSTED} && Atomics.compareExchange(c, 0, ${POSTED}, ${RUNNING}) === ${POSTED}) {
    let state = ${DONE};
    try {
      const args = Array.from(c.subarray(${ARGS_AT}, ${ARGS_AT} + c[2]));
      if (c[3] === 0) fns[c[1]](...args);
      else claimChunks(fns[c[1]], args, counter, c[3], c.subarray(${SUBS_AT}, ${SUBS_AT} + c[4]));
    } catch (e) {
      state = ${FAILED};
    }
    Atomics.store(c, 0, state);
    Atomics.notify(c, 0);
    continue;
  }
  if (backgroundUnit(bg, fns)) continue;
  // Nothing to do: spin a little before sleeping (the next job usually comes within a
  // millisecond, and waking a sleeping thread takes longer than many a job).
  spin(() => Atomics.load(c, ${WAKE_AT}) === wake, ${SPIN_MS});
  Atomics.wait(c, ${WAKE_AT}, wake);
}
`;

/** A job split in chunks (see claimChunks): their number, and the arguments set per chunk. */
export interface Chunks {
  count: number;
  /** [argument index, base, step, max] of each argument that changes from chunk to chunk. */
  at: [index: number, base: number, step: number, max: number][];
}

/** Hand a job (of `chunks` chunks, 0 for one call) to the helper whose control block is ctrl. */
function post(ctrl: Int32Array, { fn, args }: Job, chunks = 0, subs: number[] = []): void {
  ctrl[1] = FUNCTIONS.indexOf(fn);
  ctrl[2] = args.length;
  ctrl[3] = chunks;
  ctrl[4] = subs.length;
  ctrl.set(args, ARGS_AT);
  ctrl.set(subs, SUBS_AT);
  Atomics.store(ctrl, 0, POSTED);
  wake(ctrl);
}

/** Tell a helper there is something new for it (see WAKE_AT). */
function wake(ctrl: Int32Array): void {
  Atomics.add(ctrl, WAKE_AT, 1);
  Atomics.notify(ctrl, WAKE_AT);
}

/** The kernels bound to one wasm memory, with their helper threads. */
export class NativeConv {
  private readonly exports: ConvExports;
  /** The exports by function id (FUNCTIONS' order), as the helpers hold them. */
  private readonly fns: ((...args: number[]) => void)[];
  private readonly workers: { worker: Worker; ctrl: Int32Array }[] = [];
  /** The counter the threads of a chunked job claim chunks from. */
  private readonly chunkCounter = new Int32Array(new SharedArrayBuffer(4));
  /** Background jobs (see BG_STRIDE). */
  private readonly bg = new Int32Array(new SharedArrayBuffer(4 * BG_JOBS * BG_STRIDE));
  /** Sequence number of the next background job (the helpers take the oldest first). */
  private bgSeq = 0;

  /**
   * @param memory The wasm backend's memory (shared for the threaded backend).
   * @param threads Threads to split a job over (1 without a shared memory).
   * @param fma Use the build with fused multiply-adds (default: where {@link relaxedSimd}).
   */
  constructor(memory: WebAssembly.Memory, threads: number, fma = relaxedSimd()) {
    const shared = memory.buffer instanceof SharedArrayBuffer;
    const build = `${shared ? 'shared' : 'single'}${fma ? '-fma' : ''}` as const;
    const module = new WebAssembly.Module(Buffer.from(CONV_KERNELS_WASM[build], 'base64'));
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as ConvExports;
    this.fns = FUNCTIONS.map((name) => this.exports[name]);
    for (let p = 0; p < this.bg.length; p += BG_STRIDE) this.bg[p + BG_NEXT] = BG_CLOSED;
    const helpers = shared ? Math.max(0, threads - 1) : 0;
    for (let i = 0; i < helpers; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(4 * (SUBS_AT + 4 * MAX_SUBS)));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // Not the parent's options: with --input-type=module (node -e …) the source would be read as
        // an ES module, where `require` is not defined (V8's flags are the process's anyway).
        execArgv: [],
        workerData: { module, memory, ctrl: ctrl.buffer, chunkCounter: this.chunkCounter.buffer, background: this.bg.buffer },
      });
      worker.unref(); // idle helpers must not keep the process alive
      this.workers.push({ worker, ctrl });
    }
  }

  /** Threads a job can be split over (this one included). */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Run jobs[0] on this thread and jobs[i] on helper i, all at once, and return when all are done
   * (a helper's job that has not started when this thread is done with its own runs here). There
   * must be at most {@link threads} jobs.
   */
  run(jobs: Job[]): void {
    if (jobs.length > this.threads) throw new Error(`native conv: ${jobs.length} jobs for ${this.threads} threads`);
    const posted = this.workers.slice(0, Math.max(0, jobs.length - 1));
    posted.forEach(({ ctrl }, i) => post(ctrl, jobs[i + 1]));
    const call = ({ fn, args }: Job): void => this.exports[fn](...args);
    this.join(
      posted,
      () => jobs.length > 0 && call(jobs[0]),
      (i) => call(jobs[i + 1]),
    );
  }

  /**
   * Run one job in `chunks.count` chunks, claimed a chunk at a time by every thread (see
   * claimChunks; by this thread alone below MIN_SHARED_CHUNKS chunks); return when all are done.
   */
  runChunked(job: Job, chunks: Chunks): void {
    if (chunks.at.length > MAX_SUBS) throw new Error(`native conv: ${chunks.at.length} substitutions (at most ${MAX_SUBS})`);
    Atomics.store(this.chunkCounter, 0, 0);
    const helpers = chunks.count < MIN_SHARED_CHUNKS ? 0 : Math.min(this.workers.length, chunks.count - 1);
    const posted = this.workers.slice(0, helpers);
    const subs = chunks.at.flat();
    posted.forEach(({ ctrl }) => post(ctrl, job, chunks.count, subs));
    // A helper that has not started finds no chunk left: nothing to take back.
    this.join(posted, () => claimChunks(this.exports[job.fn], [...job.args], this.chunkCounter, chunks.count, subs));
  }

  /**
   * Run `own` on this thread, then wait for the posted helpers (even if `own` failed); a helper
   * that has not started its job by then is released from it, and `takeBack(i)` runs helper i's
   * job here.
   */
  private join(posted: { ctrl: Int32Array }[], own: () => void, takeBack?: (i: number) => void): void {
    let failed = false;
    const taken: number[] = [];
    try {
      own();
    } finally {
      // Even if this thread's share failed: a helper must be idle before it is given a new job.
      posted.forEach(({ ctrl }, i) => {
        if (Atomics.compareExchange(ctrl, 0, POSTED, IDLE) === POSTED) return void taken.push(i);
        let s: number;
        spin(() => Atomics.load(ctrl, 0) === RUNNING, SPIN_MS);
        while ((s = Atomics.load(ctrl, 0)) === RUNNING) Atomics.wait(ctrl, 0, s);
        failed ||= s === FAILED;
        Atomics.store(ctrl, 0, IDLE);
      });
    }
    if (failed) throw new Error('native conv: a helper thread failed (out-of-bounds memory access?)');
    if (takeBack !== undefined) for (const i of taken) takeBack(i);
  }

  /**
   * Start `job` as `chunks.count` units that the helpers run in the background, whenever they
   * have no other job (see backgroundUnit); {@link settleBackground} waits for them. Returns its
   * slot, or undefined where there are no helpers or all BG_JOBS slots are taken.
   */
  runInBackground(job: Job, chunks: Chunks): number | undefined {
    if (this.workers.length === 0) return undefined;
    if (job.args.length > MAX_ARGS || chunks.at.length > MAX_SUBS) throw new Error('native conv: background job too large');
    const bg = this.bg;
    let o = 0;
    while (o < bg.length && Atomics.load(bg, o) !== 0) o += BG_STRIDE;
    if (o >= bg.length) return undefined;
    const subs = chunks.at.flat();
    bg[o + BG_FN] = FUNCTIONS.indexOf(job.fn);
    bg[o + BG_ARGC] = job.args.length;
    bg[o + BG_UNITS] = chunks.count;
    bg[o + BG_NSUBS] = subs.length;
    bg[o + BG_SEQ] = this.bgSeq++;
    bg.set(job.args, o + BG_ARGS);
    bg.set(subs, o + BG_SUBS);
    Atomics.store(bg, o + BG_DONE, 0);
    Atomics.store(bg, o + BG_FAILED, 0);
    Atomics.store(bg, o + BG_NEXT, 0);
    Atomics.store(bg, o, 1);
    for (const { ctrl } of this.workers) wake(ctrl);
    return o / BG_STRIDE;
  }

  /** Run the units of background job `slot` that no helper has taken, wait for the others, free the slot. */
  settleBackground(slot: number): void {
    const bg = this.bg;
    const o = slot * BG_STRIDE;
    const units = bg[o + BG_UNITS];
    const fn = this.fns[bg[o + BG_FN]];
    const args = Array.from(bg.subarray(o + BG_ARGS, o + BG_ARGS + bg[o + BG_ARGC]));
    const subs = bg.subarray(o + BG_SUBS, o + BG_SUBS + bg[o + BG_NSUBS]);
    let failed = false;
    for (let k = Atomics.add(bg, o + BG_NEXT, 1); k < units; k = Atomics.add(bg, o + BG_NEXT, 1)) {
      try {
        callChunk(fn, args, subs, k);
      } catch {
        failed = true;
      }
      Atomics.add(bg, o + BG_DONE, 1);
    }
    // While a helper ends its last unit of this job, take units of later ones rather than wait.
    while (Atomics.load(bg, o + BG_DONE) < units && backgroundUnit(bg, this.fns));
    let d: number;
    spin(() => Atomics.load(bg, o + BG_DONE) < units, SPIN_MS);
    while ((d = Atomics.load(bg, o + BG_DONE)) < units) Atomics.wait(bg, o + BG_DONE, d);
    failed ||= Atomics.load(bg, o + BG_FAILED) !== 0;
    Atomics.store(bg, o + BG_NEXT, BG_CLOSED);
    Atomics.store(bg, o, 0);
    if (failed) throw new Error('native conv: a background job failed (out-of-bounds memory access?)');
  }

  /** Stop the helper threads. */
  dispose(): void {
    for (const { worker, ctrl } of this.workers) {
      Atomics.store(ctrl, 0, QUIT);
      wake(ctrl);
      void worker.terminate();
    }
    this.workers.length = 0;
  }
}

/** What the native paths need of the wasm backend object (`BackendWasm`). */
interface WasmBackend {
  incRef(dataId: object): void;
  /** References to a data buffer (0 once freed). */
  refCount(dataId: object): number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** The Emscripten module: its memory is `wasmMemory` (threaded build) or `asm.memory`. */
  wasm?: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
}

const bound = new WeakMap<object, NativeConv | null>();

/** The kernels bound to this backend's memory (made on first use), or undefined if it has none. */
function nativeFor(backend: WasmBackend): NativeConv | undefined {
  let native = bound.get(backend);
  if (native === undefined) {
    const memory = backend.wasm?.wasmMemory ?? backend.wasm?.asm?.memory;
    native = memory instanceof WebAssembly.Memory ? new NativeConv(memory, wasmThreadsCount()) : null;
    bound.set(backend, native);
  }
  return native ?? undefined;
}

/** The kernels bound to this backend's memory; an error where there is none (not a wasm backend). */
function requireNative(backend: WasmBackend): NativeConv {
  const native = nativeFor(backend);
  if (native === undefined) throw new Error('native kernels: the wasm backend has no memory to run them on');
  return native;
}

/** Rows (every axis but the last) and channels (the last axis; 0 for a scalar) of a tensor. */
export function rowsOf(t: tf.TensorInfo): [rows: number, channels: number] {
  const c = t.shape[t.shape.length - 1] ?? 0;
  return [c > 0 ? tf.util.sizeFromShape(t.shape) / c : 0, c];
}

/** Byte offset of a tensor's data in the wasm memory. */
function at(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.typedArrayFromHeap(t).byteOffset;
}

/**
 * Whether these native kernels cover a convolution: float32 tensors, no dilation, and a multiple of
 * 4 channels on the side they vectorise (the output's: channels out; dx's: channels in).
 */
function covered(info: tf.backend_util.Conv2DInfo, channels: number, ...ts: tf.TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32') && info.dilationHeight === 1 && info.dilationWidth === 1 && channels % 4 === 0;
}

/** Shape of a forward convolution, as conv2d takes it: [H, W, Cin, OH, OW, Cout, KH, KW, sh, sw, pt, pl]. */
export type ConvShape = [number, number, number, number, number, number, number, number, number, number, number, number];

/** The ConvShape of tfjs's description of a convolution. */
function convShape(info: tf.backend_util.Conv2DInfo): ConvShape {
  const { inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  return [h, w, cin, oh, ow, cout, kh, kw, sh, sw, info.padInfo.top, info.padInfo.left];
}

/** Whether Winograd's kernels take a convolution: 3×3, stride 1, input channels a multiple of 4. */
function winogradShape([, , cin, , , , kh, kw, sh, sw]: ConvShape): boolean {
  return kh === 3 && kw === 3 && sh === 1 && sw === 1 && cin % 4 === 0;
}

/**
 * Tile rows conv2d_winograd takes at a time (`rows`, or about 32 tiles of 4×4 outputs), and the
 * floats of one thread's scratch room (see conv2d_winograd in c/winograd.c: U, then V and M for a
 * block of tiles, then one border tile's patch); undefined where the convolution is not 3×3 with
 * stride 1, or where the input channels are not a multiple of 4 (the first layer's 3: conv2d is
 * faster there).
 */
export function winogradPlan(shape: ConvShape, rows?: number): { rb: number; floats: number } | undefined {
  if (!winogradShape(shape)) return undefined;
  const [, , cin, oh, ow, cout] = shape;
  const tw = Math.ceil(ow / 4);
  const rb = rows ?? Math.max(1, Math.min(Math.ceil(oh / 4), Math.floor(32 / tw)));
  const tiles = Math.ceil((rb * tw) / 4) * 4;
  const floats = 36 * cin * cout + 36 * (tiles * cin + 16) + 36 * (tiles * cout + 16) + 36 * cin;
  return { rb, floats };
}

/**
 * A counter the threads of one job claim their work from, a unit at a time (see claim in
 * c/common.h): an int32 at 0 in the backend's memory. Dispose of it with `backend.disposeData`.
 */
function claimCounter(backend: WasmBackend): tf.TensorInfo {
  const t = backend.makeOutput([1], 'int32');
  backend.typedArrayFromHeap(t)[0] = 0;
  return t;
}

/**
 * Run `fn` on min(threads, units) threads that share the work through a counter (claimCounter),
 * `args(counter)` the arguments of their calls; with a `room`, each thread gets its own scratch
 * room of `room.floats` floats on the heap, its offset argument `room.at`, freed afterwards. For
 * work whose results do not depend on which thread did which unit (each unit written by one
 * thread alone). With `background`, see runOrDefer: one unit per thread.
 */
function runClaimed(
  backend: WasmBackend,
  native: NativeConv,
  fn: FunctionName,
  units: number,
  args: (counter: number) => number[],
  room?: { floats: number; at: number },
  background?: Background,
): void {
  const threads = Math.max(1, Math.min(native.threads, units));
  const scratch = room === undefined ? undefined : backend.makeOutput([threads * room.floats], 'float32');
  const counter = claimCounter(backend);
  const job: Job = { fn, args: args(at(backend, counter)) };
  const rooms: Chunks['at'] = room === undefined ? [] : [[room.at, at(backend, scratch!), 4 * room.floats, 0xffffffff]];
  const free = (): void => {
    backend.disposeData(counter.dataId);
    if (scratch !== undefined) backend.disposeData(scratch.dataId);
  };
  const roomOf = (i: number): number[] => {
    const a = [...job.args];
    for (const [j, base, step] of rooms) a[j] = base + i * step;
    return a;
  };
  const now = (): void => native.run(Array.from({ length: threads }, (_, i) => ({ fn, args: roomOf(i) })));
  runOrDefer(backend, native, job, { count: threads, at: rooms }, threads > 1 ? background : undefined, now, free);
}

/**
 * A kernel's output that may be left pending while its job runs in the background, and the
 * tensors that job reads; `freeSlot`: where all background slots are taken, settle the oldest
 * pending results until one is free (rather than run the job now).
 */
interface Background {
  out: tf.TensorInfo;
  inputs: tf.TensorInfo[];
  freeSlot?: boolean;
}

/**
 * Run `job` in `chunks` by `now` (default: NativeConv.runChunked), then `finish`. Or, where
 * `background` is given and a pass allows it (deferred.ts), start it in the background and return
 * at once: the helpers work on it while this thread goes back to the JavaScript between kernels,
 * and the output is pending (its buffer and the inputs' held) until something reads it.
 */
function runOrDefer(
  backend: WasmBackend,
  native: NativeConv,
  job: Job,
  chunks: Chunks,
  background: Background | undefined,
  now = (): void => native.runChunked(job, chunks),
  finish = (): void => undefined,
): void {
  const deferrable = background !== undefined && mayDefer();
  let slot = deferrable ? native.runInBackground(job, chunks) : undefined;
  while (slot === undefined && deferrable && background.freeSlot === true && native.threads > 1 && settleOldest())
    slot = native.runInBackground(job, chunks);
  if (slot === undefined) {
    try {
      now();
    } finally {
      finish();
    }
    return;
  }
  const taken = slot;
  // The output too: the backward pass's tidy may dispose it before it is settled (a dW where the weights are not trained).
  const release = hold(backend, [background!.out, ...background!.inputs]);
  defer(background!.out.dataId, () => {
    try {
      native.settleBackground(taken);
    } finally {
      finish();
      release();
    }
  });
}

/**
 * Take a reference of the backend's to each tensor's buffer, so that it outlives the tensor's
 * disposal; returns what lets them go (and makes the engine forget a buffer the backend frees).
 */
export function hold(b: object, ts: tf.TensorInfo[]): () => void {
  const backend = b as WasmBackend;
  for (const t of ts) backend.incRef(t.dataId);
  return () => {
    for (const t of ts) if (backend.disposeData(t.dataId)) engineOf().removeDataId(t.dataId, backend);
  };
}

/**
 * Run a forward convolution y = act(conv(x, wt) + bias) (offsets in the backend's memory; bias 0
 * for none), the threads claiming the batch's images one at a time: 3×3 of stride 1 by
 * Winograd's F(4×4, 3×3) (conv2d_winograd), any other by conv2d. Each thread gets scratch room on
 * the heap (conv2d: one interleaved image of ((OH − 1)·sh + KH) · ⌈OW / 4⌉ · KW · Cin · 4 floats).
 */
function runForward(
  backend: WasmBackend,
  native: NativeConv,
  [xo, fo, bo, yo]: number[],
  n: number,
  shape: ConvShape,
  relu: boolean,
  background?: Background,
): void {
  const [, , cin, oh, ow, , kh, kw, sh] = shape;
  const [pt, pl] = shape.slice(10);
  const plan = winogradPlan(shape);
  const floats = plan?.floats ?? ((oh - 1) * sh + kh) * Math.ceil(ow / 4) * kw * cin * 4;
  runClaimed(
    backend,
    native,
    plan ? 'conv2d_winograd' : 'conv2d',
    n,
    (next) =>
      plan
        ? [xo, fo, bo, yo, 0, next, 0, n, ...shape.slice(0, 6), pt, pl, plan.rb, relu ? 1 : 0]
        : [xo, fo, bo, yo, 0, next, 0, n, ...shape, relu ? 1 : 0],
    { floats, at: 4 }, // the room: argument 4 of both
    background,
  );
}

/**
 * Tile rows conv_filter_grad_winograd takes at a time (`rows`, or about 32 tiles of 4×4 outputs),
 * and the floats of one thread's room: its S (36·Cin·Cout), then V and Ũ for a block, then one
 * border tile's patch (see c/winograd.c); undefined where the convolution is not 3×3 with stride 1
 * or the input channels are not a multiple of 4.
 */
export function winogradGradPlan(shape: ConvShape, rows?: number): { rb: number; floats: number } | undefined {
  if (!winogradShape(shape)) return undefined;
  const [, , cin, , ow, cout] = shape;
  const tw = Math.ceil(ow / 4);
  const rb = rows ?? Math.max(1, Math.floor(32 / tw));
  return { rb, floats: 36 * cin * cout + 36 * (rb * tw * cin + 16) + 36 * (rb * tw * cout + 16) + 36 * cin };
}

/**
 * dW of a convolution, undefined where not covered. 3×3 of stride 1 (input channels a multiple of
 * 4): Winograd's F(3×3, 4×4) (winogradFilterGrad). Others: conv_filter_grad in units of the input
 * channels (or of the batch, where there are too few channels). The units run as filterGradUnits
 * says: now, or in the background of a backward pass.
 */
export function nativeFilterGrad(
  b: object,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  const backend = b as WasmBackend;
  const native = covered(info, info.outChannels, x, dy) ? nativeFor(backend) : undefined;
  if (native === undefined) return undefined;
  const { batchSize: n, inChannels: cin, outChannels: cout, filterHeight: kh, filterWidth: kw } = info;
  const shape = convShape(info);
  const plan = winogradGradPlan(shape);
  const out = backend.makeOutput([kh, kw, cin, cout], 'float32');
  if (plan) return winogradFilterGrad(backend, native, x, dy, out, plan, n, shape);
  const [xo, dyo] = [at(backend, x), at(backend, dy)];
  if (cin >= 4 * FILTER_GRAD_UNITS) {
    // Units of input channels, each writing its own part of dW.
    const g = 4 * Math.ceil(cin / 4 / FILTER_GRAD_UNITS);
    backend.typedArrayFromHeap(out).fill(0); // conv_filter_grad accumulates
    const job: Job = { fn: 'conv_filter_grad', args: [xo, dyo, at(backend, out), 0, n, 0, g, ...shape] };
    return filterGradUnits(backend, native, x, dy, out, job, rangeChunks(cin, g, 5), () => undefined);
  }
  // Too few channels (the first layer's 3): units of the batch, each into its own dW, summed in order.
  const units = Math.min(FILTER_GRAD_UNITS, n);
  const per = Math.ceil(n / units);
  const size = kh * kw * cin * cout;
  const scratch = backend.makeOutput([units * size], 'float32');
  backend.typedArrayFromHeap(scratch).fill(0);
  const so = at(backend, scratch);
  const job: Job = { fn: 'conv_filter_grad', args: [xo, dyo, so, 0, per, 0, cin, ...shape] };
  const chunks = rangeChunks(n, per, 3);
  chunks.at.push([2, so, 4 * size, 0xffffffff]);
  return filterGradUnits(backend, native, x, dy, out, job, chunks, () => {
    try {
      const [partial, dw] = [backend.typedArrayFromHeap(scratch), backend.typedArrayFromHeap(out)];
      for (let j = 0; j < size; j++) {
        let sum = 0;
        for (let i = 0; i < units; i++) sum += partial[i * size + j];
        dw[j] = sum;
      }
    } finally {
      backend.disposeData(scratch.dataId);
    }
  });
}

/** Parts a filter gradient is computed in (of the batch, or of the input channels), whatever the number of threads. */
const FILTER_GRAD_UNITS = 4;

/**
 * dW by Winograd's F(3×3, 4×4): the batch in FILTER_GRAD_UNITS fixed parts, each summed into its
 * own S (conv_filter_grad_winograd), claimed by the threads; then dW = Gᵀ (ΣS) G, the parts summed
 * in order (winograd_filter_grad_finish). dW does not depend on which thread ran which part, nor
 * on how many threads there are (see filterGradUnits).
 */
function winogradFilterGrad(
  backend: WasmBackend,
  native: NativeConv,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
  { rb, floats }: { rb: number; floats: number },
  n: number,
  shape: ConvShape,
): tf.TensorInfo {
  const [h, w, cin, oh, ow, cout, , , , , top, left] = shape;
  const units = Math.min(FILTER_GRAD_UNITS, n);
  const per = Math.ceil(n / units);
  const scratch = backend.makeOutput([units * floats], 'float32');
  const so = at(backend, scratch);
  const sFloats = 36 * cin * cout;
  const job: Job = {
    fn: 'conv_filter_grad_winograd',
    args: [at(backend, x), at(backend, dy), so, so + 4 * sFloats, 0, per, h, w, cin, oh, ow, cout, top, left, rb],
  };
  const chunks: Chunks = {
    count: units,
    at: [
      [2, so, 4 * floats, 0xffffffff],
      [3, so + 4 * sFloats, 4 * floats, 0xffffffff],
      [4, 0, per, n],
      [5, per, per, n],
    ],
  };
  return filterGradUnits(backend, native, x, dy, out, job, chunks, () => {
    try {
      native.run([{ fn: 'winograd_filter_grad_finish', args: [so, units, floats, at(backend, out), cin, cout] }]);
    } finally {
      backend.disposeData(scratch.dataId);
    }
  });
}

/**
 * Run a filter gradient's units (`job` in `chunks`, each unit writing only its own part of dW or
 * of a scratch room), then `finish` (which frees what the units needed). Now, the threads claiming
 * the units; or, in a backward pass on more than one thread, in the background (see deferred.ts):
 * this thread goes on, and dW, x and dy are kept (a reference of the backend's) until dW is settled.
 * Where all background slots are taken, the oldest pending result is settled first.
 */
function filterGradUnits(
  backend: WasmBackend,
  native: NativeConv,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
  job: Job,
  chunks: Chunks,
  finish: () => void,
): tf.TensorInfo {
  runOrDefer(backend, native, job, chunks, { out, inputs: [x, dy], freeSlot: true }, undefined, finish);
  return out;
}

/** tfjs's engine, with the method that forgets a data buffer once its backend has freed it. */
function engineOf(): { removeDataId(dataId: object, backend: object): void } {
  return tf.engine() as unknown as { removeDataId(dataId: object, backend: object): void };
}

/**
 * A forward convolution, with an optional per-channel bias and ReLU (see conv2d in
 * conv-kernels.c), the threads claiming the images; undefined where not covered.
 */
export function nativeConv2D(
  b: object,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  bias?: tf.TensorInfo,
  relu = false,
  background = false,
): tf.TensorInfo | undefined {
  const backend = b as WasmBackend;
  const okBias = bias === undefined || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === info.outChannels);
  const native = okBias && covered(info, info.outChannels, x, filter) ? nativeFor(backend) : undefined;
  if (native === undefined) return undefined;
  const { batchSize: n, outChannels: cout, outHeight: oh, outWidth: ow } = info;
  const out = backend.makeOutput([n, oh, ow, cout], 'float32');
  const offsets = [at(backend, x), at(backend, filter), bias === undefined ? 0 : at(backend, bias), at(backend, out)];
  const inputs = bias === undefined ? [x, filter] : [x, filter, bias];
  runForward(backend, native, offsets, n, convShape(info), relu, background ? { out, inputs } : undefined);
  return out;
}

/**
 * dx of a convolution (see inputGradInto); undefined where not covered (strided, with input
 * channels not a multiple of 4). In a backward pass, computed only when first read (deferred.ts):
 * never where the input is not a function of the weights (the first layer's image), which tfjs's
 * fused convolution asks for anyway.
 */
export function nativeInputGrad(
  b: object,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  const backend = b as WasmBackend;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin } = info;
  const native = covered(info, inputGradChannels(info), dy, filter) ? nativeFor(backend) : undefined;
  if (native === undefined) return undefined;
  const dx = backend.makeOutput([n, h, w, cin], 'float32');
  if (!mayDefer()) {
    inputGradInto(backend, native, dy, filter, info, dx);
    return dx;
  }
  const release = hold(backend, [dx, dy, filter]);
  const compute = (): void => {
    try {
      inputGradInto(backend, native, dy, filter, info, dx);
    } finally {
      release();
    }
  };
  deferUntilRead(dx.dataId, compute, () => backend.refCount(dx.dataId) === 1, release);
  return dx;
}

/** Channels dx is computed with: Cin, or for stride 1 Cin rounded up to a multiple of 4 (see inputGradInto). */
function inputGradChannels({ inChannels: cin, strideHeight: sh, strideWidth: sw }: tf.backend_util.Conv2DInfo): number {
  return sh > 1 || sw > 1 ? cin : Math.ceil(cin / 4) * 4;
}

/**
 * Write dx of a convolution to `dx` ([N, H, W, Cin]). Stride 1: the forward convolution of dy
 * with the filter rotated 180° and its channel axes swapped, padded KH − 1 − top above and
 * KW − 1 − left on the left. Larger strides: conv_input_grad (each dy pixel adds its taps to the
 * dx pixels it came from), with the filter's channel axes swapped.
 */
function inputGradInto(
  backend: WasmBackend,
  native: NativeConv,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  dx: tf.TensorInfo,
): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outChannels: cout, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const strided = sh > 1 || sw > 1;
  // Stride 1 takes any Cin: the convolution computes c4 channels (a multiple of 4, the extra ones
  // from zero filters) and dx keeps the first Cin.
  const c4 = inputGradChannels(info);
  // [KH, KW, Cout, c4]: swapped channel axes; for stride 1 also rotated 180°.
  const swapped = backend.makeOutput([kh, kw, cout, c4], 'float32');
  native.run([{ fn: 'swap_filter', args: [at(backend, filter), at(backend, swapped), kh, kw, cin, cout, c4, strided ? 0 : 1] }]);
  const out = c4 === cin ? dx : backend.makeOutput([n, h, w, c4], 'float32');
  const [dyo, fo, xo] = [at(backend, dy), at(backend, swapped), at(backend, out)];
  const { top, left } = info.padInfo;
  const shape = convShape(info);
  if (strided) runClaimed(backend, native, 'conv_input_grad', n, (next) => [dyo, fo, xo, next, 0, n, ...shape]);
  else runForward(backend, native, [dyo, fo, 0, xo], n, [oh, ow, cout, h, w, c4, kh, kw, 1, 1, kh - 1 - top, kw - 1 - left], false);
  backend.disposeData(swapped.dataId);
  if (out === dx) return;
  native.run([{ fn: 'take_channels', args: [at(backend, out), at(backend, dx), n * h * w, c4, cin] }]);
  backend.disposeData(out.dataId);
}

/**
 * Floats in a chunk of an elementwise pass (a multiple of 16: whole cache lines, so that no two
 * threads write one line): small enough that the threads end together, large enough that claiming
 * costs nothing.
 */
const CHUNK_FLOATS = 16384;

/** [0, n) in chunks of `step`: arguments `at` and `at + 1` set to each chunk's start and end. */
function rangeChunks(n: number, step: number, at: number): Chunks {
  return {
    count: Math.ceil(n / step),
    at: [
      [at, 0, step, n],
      [at + 1, step, step, n],
    ],
  };
}

/** Rows of C floats in a chunk of about CHUNK_FLOATS floats. */
function chunkRows(c: number): number {
  return Math.max(1, Math.floor(CHUNK_FLOATS / c));
}

/** The rows of an [R, C] tensor in chunks of chunkRows(C) rows (see rangeChunks). */
function rowChunks(rows: number, c: number, at: number): Chunks {
  return rangeChunks(rows, chunkRows(c), at);
}

/**
 * The terms of a per-channel affine map y = act((x + add) · scale + shift + plus): add, scale and
 * shift per channel (the last axis), plus a tensor of x's shape; each optional (0, 1, 0, 0).
 */
export interface AffineTerms {
  add?: tf.TensorInfo;
  scale?: tf.TensorInfo;
  shift?: tf.TensorInfo;
  plus?: tf.TensorInfo;
}

/** The tensors of `terms` that are given. */
export function termsOf({ add, scale, shift, plus }: AffineTerms): tf.TensorInfo[] {
  return [add, scale, shift, plus].filter((t) => t !== undefined) as tf.TensorInfo[];
}

/** Whether {@link nativeChannelAffine} covers x and `terms`: native kernels, float32, a multiple of 4 channels. */
export function channelAffineCovers(b: object, x: tf.TensorInfo, { add, scale, shift, plus }: AffineTerms): boolean {
  const [, c] = rowsOf(x);
  const size = tf.util.sizeFromShape(x.shape);
  return (
    x.dtype === 'float32' &&
    c > 0 &&
    c % 4 === 0 &&
    [add, scale, shift].every((t) => t === undefined || (t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === c)) &&
    (plus === undefined || (plus.dtype === 'float32' && tf.util.sizeFromShape(plus.shape) === size)) &&
    nativeFor(b as WasmBackend) !== undefined
  );
}

/**
 * y = act((x + a) · k + b + s) with a, k, b per channel and s a tensor of x's shape (see
 * {@link AffineTerms}), act ReLU or the identity: batch norm's elementwise step and its pieces, and
 * with the ReLU or the sum F(x) + x after it (see channel_affine in c/batch-norm.c), the threads
 * claiming chunks of rows. Written to `into` where given, else to a new tensor. Undefined where
 * not covered ({@link channelAffineCovers}).
 */
export function nativeChannelAffine(
  b: object,
  x: tf.TensorInfo,
  terms: AffineTerms,
  relu = false,
  background = false,
  into?: tf.TensorInfo,
): tf.TensorInfo | undefined {
  const backend = b as WasmBackend;
  if (!channelAffineCovers(backend, x, terms)) return undefined;
  const native = requireNative(backend);
  const [rows, c] = rowsOf(x);
  const out = into ?? backend.makeOutput(x.shape, 'float32');
  const { add, scale, shift, plus } = terms;
  const [xo, yo, ao, ko, bo, so] = [x, out, add, scale, shift, plus].map((t) => (t === undefined ? 0 : at(backend, t)));
  const job: Job = { fn: 'channel_affine', args: [xo, ao, ko, bo, so, yo, 0, 0, c, relu ? 1 : 0] };
  runOrDefer(backend, native, job, rowChunks(rows, c, 6), background ? { out, inputs: [x, ...termsOf(terms)] } : undefined);
  return out;
}

/**
 * Batch norm's per-channel sums over all rows of x (see channel_sums in c/batch-norm.c), the threads
 * claiming chunks of rows: Σ x (no dy, no mu), Σ (x − mu)² (mu), or Σ dy then Σ dy · (x − mu) (dy
 * and mu). Float32 tensors with the channels last.
 */
export function nativeChannelSums(b: object, x: tf.TensorInfo, dy?: tf.TensorInfo, mu?: tf.TensorInfo): Float64Array {
  const backend = b as WasmBackend;
  const [xo, dyo, muo] = [x, dy, mu].map((t) => (t === undefined ? 0 : at(backend, t)));
  const { slots, count, per } = sumChunks(backend, x, 'channel_sums', [xo, dyo, muo], dy === undefined ? 1 : 2);
  const sums = new Float64Array(per);
  for (let k = 0; k < count; k++) for (let j = 0; j < per; j++) sums[j] += slots[k * per + j];
  return sums;
}

/**
 * Batch norm's batch mean and biased variance of x, per channel (the last axis), in one pass from
 * memory: each chunk of rows gives its Σ x and its squares about its own mean (channel_moments in
 * c/batch-norm.c, the threads claiming the chunks), combined here in the chunks' order, in double
 * precision (Chan, Golub & LeVeque's pairwise update). Float32 tensors with the channels last.
 */
export function nativeChannelMoments(b: object, x: tf.TensorInfo): { mean: Float64Array; variance: Float64Array } {
  const backend = b as WasmBackend;
  const [rows, c] = rowsOf(x);
  // A chunk's slot: Σ x, Σ (x − a)² (doubles), then its rounded mean a (C floats, in C/2 doubles).
  const { slots, count, per } = sumChunks(backend, x, 'channel_moments', [at(backend, x)], 2.5);
  const step = chunkRows(c);
  const mean = new Float64Array(c);
  for (let k = 0; k < count; k++) for (let j = 0; j < c; j++) mean[j] += slots[k * per + j];
  for (let j = 0; j < c; j++) mean[j] /= rows;
  const means = new Float32Array(slots.buffer, slots.byteOffset); // the chunks' a, as floats
  const variance = new Float64Array(c);
  for (let k = 0; k < count; k++) {
    const n = Math.min(step, rows - k * step);
    for (let j = 0; j < c; j++) {
      const [sum, squares, a] = [slots[k * per + j], slots[k * per + c + j], means[2 * (k * per + 2 * c) + j]];
      const d = a - mean[j];
      variance[j] += squares + 2 * d * (sum - n * a) + n * d * d;
    }
  }
  for (let j = 0; j < c; j++) variance[j] = Math.max(0, variance[j] / rows);
  return { mean, variance };
}

/**
 * Run `fn`(...head, slot, r0, r1, C) over the rows of x in chunks the threads claim, each chunk
 * writing its sums to a slot of its own (`room`·C doubles); return a copy of the
 * slots, in the chunks' order, so that the sums do not depend on which thread took which chunk.
 */
function sumChunks(
  backend: WasmBackend,
  x: tf.TensorInfo,
  fn: 'channel_sums' | 'channel_moments',
  head: number[],
  room: number,
): { slots: Float64Array; count: number; per: number } {
  const native = requireNative(backend);
  const [rows, c] = rowsOf(x);
  const per = Math.ceil(room * c);
  const chunks = rowChunks(rows, c, head.length + 1);
  const scratch = backend.makeOutput([Math.max(1, chunks.count) * per * 2], 'float32'); // doubles
  const so = at(backend, scratch);
  chunks.at.push([head.length, so, 8 * per, 0xffffffff]);
  native.runChunked({ fn, args: [...head, so, 0, 0, c] }, chunks);
  const buffer = (backend.typedArrayFromHeap(scratch) as Float32Array).buffer;
  const slots = new Float64Array(buffer, so, chunks.count * per).slice();
  backend.disposeData(scratch.dataId);
  return { slots, count: chunks.count, per };
}

/**
 * Batch norm's input gradient dx = (dy − a − (x − mu) · b) · k with per-channel mu, a, b, k (see
 * batch_norm_input_grad in conv-kernels.c), the threads claiming chunks of rows.
 */
export function nativeBatchNormInputGrad(
  b: object,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  { mu, a, b: slope, k }: { mu: tf.TensorInfo; a: tf.TensorInfo; b: tf.TensorInfo; k: tf.TensorInfo },
): tf.TensorInfo {
  const backend = b as WasmBackend;
  const native = requireNative(backend);
  const [rows, c] = rowsOf(x);
  const out = backend.makeOutput(x.shape, 'float32');
  const offsets = [x, dy, mu, a, slope, k, out].map((t) => at(backend, t));
  native.runChunked({ fn: 'batch_norm_input_grad', args: [...offsets, 0, 0, c] }, rowChunks(rows, c, 7));
  return out;
}

/**
 * An elementwise pass of conv-kernels.c over float32 tensors of one shape (`relu`: max(a, 0), with
 * b = a; `add_same`: a + b; `relu_grad`: a · [b > 0], a = dy, b = ReLU's output), the threads
 * claiming chunks of floats; undefined where there are no native kernels or the inputs are not float32 of one shape.
 */
export function nativeElementwise(
  b: object,
  fn: 'relu' | 'add_same' | 'relu_grad',
  x1: tf.TensorInfo,
  x2: tf.TensorInfo,
  background = false,
): tf.TensorInfo | undefined {
  const backend = b as WasmBackend;
  if (x1.dtype !== 'float32' || x2.dtype !== 'float32' || !tf.util.arraysEqual(x1.shape, x2.shape)) return undefined;
  const native = nativeFor(backend);
  if (native === undefined) return undefined;
  const out = backend.makeOutput(x1.shape, 'float32');
  const [o1, o2, oo] = [at(backend, x1), at(backend, x2), at(backend, out)];
  const size = tf.util.sizeFromShape(x1.shape);
  const chunks = rangeChunks(size, CHUNK_FLOATS, 3);
  runOrDefer(backend, native, { fn, args: [o1, o2, oo, 0, 0] }, chunks, background ? { out, inputs: [x1, x2] } : undefined);
  return out;
}

/** Runs of floats to copy (see copy_runs in c/copy.c): strides and offsets in floats, all multiples of 4. */
export interface Runs {
  outer: number;
  inner: number;
  run: number;
  /** Strides of the outer and inner runs in the source, and where the first starts. */
  src: { outer: number; inner: number; at: number };
  /** The same in the output; `zero`: zero each outer block (`outer` floats) first. */
  dst: { outer: number; inner: number; at: number; zero: boolean };
}

/**
 * Copy runs of floats from x into a new float32 tensor of `shape` (a zero padding, a crop), the
 * threads claiming the outer blocks one at a time; undefined where there are no native kernels or
 * a stride, run or offset is not a multiple of 4.
 */
export function nativeCopyRuns(b: object, x: tf.TensorInfo, shape: number[], r: Runs): tf.TensorInfo | undefined {
  const backend = b as WasmBackend;
  const sizes = [r.run, r.src.outer, r.src.inner, r.src.at, r.dst.outer, r.dst.inner, r.dst.at];
  const native = x.dtype === 'float32' && sizes.every((v) => v % 4 === 0) ? nativeFor(backend) : undefined;
  if (native === undefined) return undefined;
  const out = backend.makeOutput(shape, 'float32');
  const [xo, yo] = [at(backend, x) + 4 * r.src.at, at(backend, out)];
  const args = [xo, yo, r.dst.at, 0, 0, r.inner, r.run, r.src.outer, r.src.inner, r.dst.outer, r.dst.inner, r.dst.zero ? 1 : 0];
  native.runChunked({ fn: 'copy_runs', args }, rangeChunks(r.outer, 1, 3));
  return out;
}

/**
 * One SGD step of a float32 variable (see sgd_step in c/elementwise.c), the threads claiming chunks
 * of floats: [w', v'] from w, g and v (undefined at the first step); undefined where there are no
 * native kernels or the tensors are not float32 of one shape.
 */
export function nativeSgdStep(
  b: object,
  { w, g, v }: { w: tf.TensorInfo; g: tf.TensorInfo; v?: tf.TensorInfo },
  { lr, momentum, weightDecay }: { lr: number; momentum: number; weightDecay: number },
): [tf.TensorInfo, tf.TensorInfo] | undefined {
  const backend = b as WasmBackend;
  const same = [g, ...(v ? [v] : [])].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, w.shape));
  const native = w.dtype === 'float32' && same ? nativeFor(backend) : undefined;
  if (native === undefined) return undefined;
  const params = backend.makeOutput([3], 'float32');
  backend.typedArrayFromHeap(params).set([lr, momentum, weightDecay]);
  const [w2, v2] = [backend.makeOutput(w.shape, 'float32'), backend.makeOutput(w.shape, 'float32')];
  const args = [w, g].map((t) => at(backend, t));
  args.push(v === undefined ? 0 : at(backend, v), at(backend, params), at(backend, w2), at(backend, v2), 0, 0);
  native.runChunked({ fn: 'sgd_step', args }, rangeChunks(tf.util.sizeFromShape(w.shape), CHUNK_FLOATS, 6));
  backend.disposeData(params.dataId);
  return [w2, v2];
}
