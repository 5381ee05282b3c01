/**
 * Throughput of a CIFAR ResNet (§4.2) on one TensorFlow.js backend, in this process: images per
 * second for a training step (the library's `trainStep`, as `train` runs it: forward, softmax
 * cross-entropy, backward, SGD with momentum 0.9 and weight decay 1e-4 — the reference trainer's
 * step) and for inference, with the peak tensor memory and the process's peak resident memory.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { useBestBackend } from '../../backend/best-backend';
import { wasmThreadsCount } from '../../backend/wasm-threads';
import { multiplyAdds } from '../../model/analysis';
import { resnetCifar } from '../../model/nets';
import { SgdMomentum } from '../../train/sgd';
import { trainStep } from '../../train/trainer';

/** Backends the benchmark knows: `wasm-threads` is the wasm backend's multi-threaded build. */
export type BenchBackend = 'tensorflow' | 'wasm' | 'wasm-threads' | 'cpu';

/** All of them, fastest first. */
export const BENCH_BACKENDS: readonly BenchBackend[] = ['tensorflow', 'wasm', 'wasm-threads', 'cpu'];

/** One model on one backend. */
export interface BenchResult {
  backend: string;
  model: string;
  batch: number;
  /** Timed steps (after one untimed warm-up step). */
  steps: number;
  trainImagesPerSec: number;
  inferImagesPerSec: number;
  /** From the fastest timed step: less sensitive to other processes on a shared machine. */
  trainBestImagesPerSec: number;
  /** See {@link BenchResult.trainBestImagesPerSec}. */
  inferBestImagesPerSec: number;
  /**
   * Inference as a reader calls it: `model.predict(x)` with tfjs's default batch size (32), on the
   * same `batch` images (PyTorch infers them in one call: there it equals inferImagesPerSec).
   */
  predictImagesPerSec: number;
  /** Multiply-adds of one image's forward pass (see `multiplyAdds`). */
  multiplyAddsPerImage: number;
  /**
   * Peak bytes held by tensors during one training step (`tf.profile().peakBytes`). tfjs counts
   * every tensor, so views of one buffer (reshapes, identities) are counted again.
   */
  peakTensorBytes: number;
  /** The wasm backend's memory after the steps: its high-water mark, what wasm32's 4 GiB bounds (0 off wasm). */
  peakHeapBytes: number;
  /** Peak resident memory of the measuring process so far, bytes. */
  peakRssBytes: number;
  /** Threads the backend computes with. */
  threads: number;
}

/** Options of {@link measureTfjs}. */
export interface MeasureOptions {
  batch: number;
  steps: number;
}

/**
 * Start `backend` in this process (once; a process can hold only one wasm build), with the
 * wasm training kernels registered. Returns the thread count.
 */
export async function startBenchBackend(backend: BenchBackend): Promise<number> {
  const cores = os.availableParallelism();
  // The library's own start (useBestBackend), with the backend and its threads asked for.
  const threads = backend === 'wasm-threads' ? cores : backend === 'wasm' ? 1 : undefined;
  const { name } = await useBestBackend({ prefer: backend === 'wasm-threads' ? 'wasm' : backend, threads, verbose: false });
  return name === 'tensorflow' ? cores : name === 'wasm' ? wasmThreadsCount() : 1;
}

/** Bytes of the wasm backend's memory (it only grows), 0 on another backend. */
function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return tf.getBackend() === 'wasm' ? (backend.wasm?.HEAPU8?.buffer.byteLength ?? 0) : 0;
}

/** Deterministic inputs in [-1, 1) and labels (throughput does not depend on the data). */
function inputs(batch: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return tf.tidy(() => {
    const x = tf.sin(tf.mul(tf.range(0, batch * 32 * 32 * 3), 0.37)).reshape([batch, 32, 32, 3]) as tf.Tensor4D;
    const y = tf.mod(tf.range(0, batch, 1, 'int32'), tf.scalar(10, 'int32')) as tf.Tensor1D;
    return { x, y };
  });
}

/** Measure a ResNet of `depth` on the current backend. */
export async function measureTfjs(depth: number, backend: string, threads: number, o: MeasureOptions): Promise<BenchResult> {
  const model = resnetCifar(depth);
  const { x, y } = inputs(o.batch);
  const optimizer = new SgdMomentum({ momentum: 0.9, weightDecay: 1e-4 });
  const train = (): void => {
    const { loss, correct } = trainStep(model, optimizer, x, y, 0.1);
    loss.dataSync();
    tf.dispose([loss, correct]);
  };
  const infer = (): void => {
    const out = model.predict(x, { batchSize: o.batch }) as tf.Tensor; // one batch, as PyTorch infers it
    out.dataSync();
    out.dispose();
  };
  const predictDefault = (): void => {
    const out = model.predict(x) as tf.Tensor; // tfjs's default batch size, as a reader calls it
    out.dataSync();
    out.dispose();
  };
  /** Seconds of each of n calls. */
  const time = (f: () => void, n: number): number[] =>
    Array.from({ length: n }, () => {
      const t0 = performance.now();
      f();
      return (performance.now() - t0) / 1000;
    });
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  train(); // warm-up: optimizer slots, kernel setup
  const profile = await tf.profile(train);
  const trainSec = time(train, o.steps);
  infer();
  const inferSec = time(infer, o.steps);
  predictDefault();
  const predictSec = time(predictDefault, o.steps);
  const result: BenchResult = {
    backend,
    model: `resnet${depth}`,
    batch: o.batch,
    steps: o.steps,
    trainImagesPerSec: (o.batch * o.steps) / sum(trainSec),
    inferImagesPerSec: (o.batch * o.steps) / sum(inferSec),
    trainBestImagesPerSec: o.batch / Math.min(...trainSec),
    inferBestImagesPerSec: o.batch / Math.min(...inferSec),
    predictImagesPerSec: (o.batch * o.steps) / sum(predictSec),
    multiplyAddsPerImage: multiplyAdds(model),
    peakTensorBytes: profile.peakBytes,
    peakHeapBytes: wasmHeapBytes(),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    threads,
  };
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return result;
}
