/**
 * Backend choice: the fastest TensorFlow.js backend this machine can load.
 *
 * Order: `tensorflow` (native libtensorflow through `@tensorflow/tfjs-node-gpu`, then
 * `@tensorflow/tfjs-node`), then `wasm` (XNNPACK; installed by default, no native download),
 * then `cpu` (plain JavaScript, slow). `RESIDUAL_BACKEND=tensorflow|wasm|cpu` overrides.
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'node:os';
import { UsageError } from '../util/errors';
import { registerWasmTrainingKernels } from './kernels/register-all';
import { useWasmThreads, wasmThreadsCount } from './wasm-threads';
import { installLeanBackward } from './lean-backward';

/** A backend this library knows how to set up. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** What {@link useBestBackend} chose, and why. */
export interface BackendChoice {
  /** The active TensorFlow.js backend. */
  name: BackendName;
  /** One sentence: why this backend (override, or what was tried first and failed). */
  reason: string;
}

/** Options of {@link useBestBackend}. */
export interface BackendOptions {
  /** Force a backend, as `RESIDUAL_BACKEND` does; the argument wins over the variable. */
  prefer?: BackendName;
  /** Print the choice once (default true). */
  verbose?: boolean;
  /** Threads of the wasm backend, as `RESIDUAL_WASM_THREADS` sets them; the argument wins over the variable. */
  threads?: number;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let chosen: Promise<BackendChoice> | undefined;
let chosenFor: string | undefined;
let announced = false;

function errorLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

/** Parse `RESIDUAL_BACKEND`, refusing names we do not know. */
export function backendFromEnv(value: string | undefined = process.env.RESIDUAL_BACKEND): BackendName | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if ((BACKENDS as readonly string[]).includes(v)) return v as BackendName;
  throw new UsageError(`RESIDUAL_BACKEND='${value}' is not a backend: use one of ${BACKENDS.join(', ')}`);
}

async function tryTensorflow(): Promise<string | undefined> {
  const failures: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    try {
      // The native package registers the 'tensorflow' backend on the shared tfjs-core instance.
      require(pkg);
      if (await tf.setBackend('tensorflow')) return undefined;
      failures.push(`${pkg} loaded but its backend did not start`);
    } catch (err) {
      const missing = (err as { code?: string }).code === 'MODULE_NOT_FOUND' && errorLine(err).includes(pkg);
      failures.push(`${pkg} ${missing ? 'not installed' : `failed to load: ${errorLine(err)}`}`);
    }
  }
  return failures.join('; ');
}

/**
 * Threads of the wasm backend (its convolutions and batch norm, lib/backend/native-conv.ts):
 * `RESIDUAL_WASM_THREADS` (a whole number ≥ 1; 1 is the single-threaded build), default the
 * machine's cores (`npm run bench` compares `wasm` with `wasm-threads` on yours); on cores already
 * busy with other work the threads gain nothing, and then `RESIDUAL_WASM_THREADS=1` is the
 * better choice.
 */
export function wasmThreadsFromEnv(value: string | undefined = process.env.RESIDUAL_WASM_THREADS): number {
  if (value === undefined || value.trim() === '') return os.availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`RESIDUAL_WASM_THREADS='${value}' must be a whole number ≥ 1`);
  const cores = os.availableParallelism();
  if (n > cores && !warnedThreads) {
    warnedThreads = true;
    // More threads than cores take turns on them and run slower than one per core.
    console.warn(
      `RESIDUAL_WASM_THREADS=${n} is more than this machine's ${cores} cores: the threads will take turns and run slower; ${cores} is the most that helps`,
    );
  }
  return n;
}
let warnedThreads = false;

async function tryWasm(wanted: number | undefined): Promise<string | undefined> {
  const threads = wanted ?? wasmThreadsFromEnv(); // a bad value is the reader's error, not a reason to fall back
  try {
    require('@tensorflow/tfjs-backend-wasm');
    if (threads > 1) useWasmThreads(threads);
    await registerWasmExtras();
    const started = await withoutNewProcessHandlers(() => tf.setBackend('wasm'));
    return started ? undefined : 'the wasm backend did not start';
  } catch (err) {
    return `@tensorflow/tfjs-backend-wasm: ${errorLine(err)}`;
  }
}

/**
 * Run `start`, then remove the `uncaughtException` / `unhandledRejection` listeners it added.
 * The Emscripten modules of the wasm backend install one that rethrows, which turns any stray
 * exception into the death of the process: in a Jupyter kernel (tslab), a status message that
 * collided with a display update killed the kernel in the middle of a training run.
 */
async function withoutNewProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  const events: readonly string[] = ['uncaughtException', 'unhandledRejection'];
  const emitter = process as unknown as NodeJS.EventEmitter; // the plain EventEmitter view of process
  const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
  try {
    return await start();
  } finally {
    for (const e of events) {
      for (const listener of emitter.listeners(e)) {
        if (!before.get(e)!.has(listener)) emitter.removeListener(e, listener as (...args: unknown[]) => void);
      }
    }
  }
}

/** Kernels the library adds to the wasm backend so that it can train (lib/backend/kernels/). */
async function registerWasmExtras(): Promise<void> {
  registerWasmTrainingKernels();
}

async function tryCpu(): Promise<string | undefined> {
  return (await tf.setBackend('cpu')) ? undefined : 'the cpu backend did not start';
}

const attempts: Record<BackendName, (threads: number | undefined) => Promise<string | undefined>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

async function choose(prefer: BackendName | undefined, threads: number | undefined): Promise<BackendChoice> {
  if (prefer !== undefined) {
    const failure = await attempts[prefer](threads);
    if (failure !== undefined) throw new UsageError(`backend '${prefer}' was asked for but cannot start: ${failure}`);
    await tf.ready();
    return { name: prefer, reason: `asked for (${process.env.RESIDUAL_BACKEND ? 'RESIDUAL_BACKEND' : 'prefer'}=${prefer})` };
  }
  const skipped: string[] = [];
  for (const name of BACKENDS) {
    const failure = await attempts[name](threads);
    if (failure === undefined) {
      await tf.ready();
      const why =
        name === 'tensorflow'
          ? 'native TensorFlow is installed (fastest)'
          : name === 'wasm'
            ? `no native TensorFlow (tfjs-node) installed; wasm (SIMD convolutions and XNNPACK, ${wasmThreadsCount()} thread${wasmThreadsCount() > 1 ? 's' : ''}) is the fastest portable backend`
            : 'neither native TensorFlow nor wasm could start';
      return { name, reason: skipped.length ? `${why} [skipped ${skipped.join(' | ')}]` : why };
    }
    skipped.push(`${name}: ${failure}`);
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

/**
 * tfjs's cpu backend prints a banner on its first use in Node ("install our node backend"), on
 * stderr, also under the wasm backend (some small ops run there) and in the middle of a command's
 * one-line error. The choice made here already says which backend runs and why.
 */
function quietCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as (tf.KernelBackend & { firstUse?: boolean }) | null;
  if (cpu !== null && cpu.firstUse === true) cpu.firstUse = false;
}

/**
 * Pick and activate the fastest backend, once per process: `tensorflow` (tfjs-node-gpu, then
 * tfjs-node, when importable), else `wasm`, else `cpu`. `RESIDUAL_BACKEND` (or `prefer`) overrides,
 * and an override that cannot start is an error rather than a silent fallback.
 * Says once which backend it chose and why. It also installs this library's leaner backward pass
 * on TensorFlow.js's engine (the same gradients, less memory held: lib/backend/lean-backward.ts).
 *
 * @example
 * ```ts
 * import { useBestBackend, tf } from 'residual-learning';
 * const { name, reason } = await useBestBackend();
 * ```
 */
export async function useBestBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const prefer = options.prefer ?? backendFromEnv();
  const key = `${prefer ?? 'auto'}/${options.threads ?? ''}`;
  if (chosen === undefined || chosenFor !== key) {
    chosenFor = key;
    chosen = choose(prefer, options.threads);
    announced = false;
  }
  const choice = await chosen;
  installLeanBackward(); // the same gradients, less memory held for the backward pass
  quietCpuBanner();
  if (!announced && options.verbose !== false) {
    announced = true;
    console.log(`residual-learning: using the ${choice.name} backend (${choice.reason})`);
  }
  return choice;
}
