/**
 * The multi-threaded build of the wasm backend, in Node.
 *
 * tfjs-backend-wasm ships a threaded SIMD binary (XNNPACK on a pthreads pool of Web Workers) but
 * never uses it in Node: its feature check answers "no threads" under Node, and its loader starts
 * the workers from `blob:` URLs, which Node's `worker_threads` cannot load. This module loads
 * that build itself: the worker script is written to a file, the pthread pool size is chosen, and
 * a `BackendWasm` is registered under the name `wasm` (so every wasm kernel, including
 * {@link registerWasmTrainingKernels}'s, applies unchanged).
 *
 * What the threads run: the convolutions and batch norm (most of a ResNet's training step)
 * are the library's own kernels (lib/backend/native-conv.ts), which split each call over `threads`
 * threads on the backend's shared memory. XNNPACK itself, now left with the other elementwise kernels,
 * gets a pool of one thread: its idle pool threads spin for a while after every call, and on a
 * machine with as many cores as threads they took the cores from the convolutions (inference was
 * faster with no XNNPACK pool than with one of two threads on 2 cores).
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../util/atomic';

/** The parts of the Emscripten module the backend needs (see tfjs-backend-wasm's `init`). */
interface EmscriptenModule {
  PThread?: { runningWorkers: Array<{ unref(): void }> };
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

interface WasmPackage {
  BackendWasm: new (module: EmscriptenModule) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

const WASM_PRIORITY = 2;

/** Write `text` to `file` atomically, unless it holds that already. */
function writeAtomically(file: string, text: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  writeFileAtomicSync(file, text);
}

async function loadThreaded(threads: number): Promise<EmscriptenModule> {
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js'));
  const version = (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;
  // The worker script ships as a JS string; Emscripten's loader needs it as a file.
  const contents = (require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string })
    .wasmWorkerContents;
  const workerFile = path.join(os.tmpdir(), `residual-tfjs-wasm-${version}-threaded-simd.worker.js`);
  // A template literal turned the script's "\n" escapes into newlines: put them back (as tfjs does).
  writeAtomically(workerFile, contents.replace(/\n/g, '\\n'));
  const factory = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.js')) as Factory;
  // XNNPACK's pool is created when the module starts, sized from emscripten_num_logical_cores() / 2,
  // which Node answers with os.cpus().length: report 2×threads "logical cores" while it starts.
  // (Called with 1: the convolutions' threads are native-conv.ts's, see above.)
  // The module object itself (the `import *` namespace is read-only).
  const nodeOs = require('node:os') as { cpus: () => os.CpuInfo[] };
  const realCpus = nodeOs.cpus;
  const keepAlive = setInterval(() => undefined, 1000); // the event loop must run while workers load
  try {
    nodeOs.cpus = () => {
      const one = realCpus()[0];
      return Array.from({ length: 2 * threads }, () => one);
    };
    const module = await factory({
      locateFile: (file: string) => (file.endsWith('.worker.js') ? workerFile : path.join(dir, file)),
      mainScriptUrlOrBlob: path.join(dir, 'tfjs-backend-wasm-threaded-simd.js'),
    });
    // The same bindings tfjs-backend-wasm's own init() adds.
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    return module;
  } finally {
    nodeOs.cpus = realCpus;
    clearInterval(keepAlive);
  }
}

/**
 * Make the `wasm` backend the multi-threaded build, its convolutions run on `threads` threads
 * (default: the machine's cores). Call it before the wasm backend starts (before `tf.setBackend('wasm')`);
 * afterwards `tf.setBackend('wasm')` loads the threaded binary. Returns false, changing nothing,
 * when the wasm backend has already started.
 *
 * @example
 * ```ts
 * useWasmThreads(2);
 * registerWasmTrainingKernels();
 * await tf.setBackend('wasm');
 * ```
 */
export function useWasmThreads(threads: number = os.availableParallelism()): boolean {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`useWasmThreads: threads must be a positive integer, got ${threads}`);
  const pkg = require('@tensorflow/tfjs-backend-wasm') as WasmPackage;
  if (tf.engine().registry['wasm'] !== undefined) return false;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      pkg.setThreadsCount(1);
      const module = await loadThreaded(1);
      const backend = new pkg.BackendWasm(module); // starts XNNPACK (its pool: this thread only)
      threadsOfStartedBackend = threads;
      // Pool threads wait on futexes, not on the event loop: let the process exit while they idle.
      for (const worker of module.PThread?.runningWorkers ?? []) worker.unref();
      return backend;
    },
    WASM_PRIORITY,
  );
  return true;
}

/** The `threads` of the threaded backend once {@link useWasmThreads}'s backend has started. */
let threadsOfStartedBackend: number | undefined;

/**
 * Threads the started wasm backend runs its convolutions on: the `threads` of
 * {@link useWasmThreads}, 1 for the default single-threaded build.
 */
export function wasmThreadsCount(): number {
  return threadsOfStartedBackend ?? 1;
}
