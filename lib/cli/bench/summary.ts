/**
 * What `residual bench` reports from several interleaved rounds (ours, PyTorch, ours, …): the
 * median of each figure over the rounds, each round's ratio to PyTorch and their median (this
 * machine's speed drifts within minutes, so ratios measured side by side are what compare), and
 * the arithmetic achieved against WebAssembly SIMD128's peak.
 */
import * as fs from 'node:fs';
import type { BenchResult } from './measure';

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const key = (r: BenchResult): string => `${r.backend}|${r.model}|${r.threads}`;

/** One result per backend and model: the median over the rounds of every figure (peak memory: the largest). */
export function medianResults(rounds: readonly (readonly BenchResult[])[]): BenchResult[] {
  const groups = new Map<string, BenchResult[]>();
  for (const r of rounds.flat()) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()].map((g) => {
    const m = (f: (r: BenchResult) => number) => median(g.map(f));
    return {
      ...g[0]!,
      trainImagesPerSec: m((r) => r.trainImagesPerSec),
      inferImagesPerSec: m((r) => r.inferImagesPerSec),
      trainBestImagesPerSec: m((r) => r.trainBestImagesPerSec),
      inferBestImagesPerSec: m((r) => r.inferBestImagesPerSec),
      predictImagesPerSec: m((r) => r.predictImagesPerSec),
      peakTensorBytes: Math.max(...g.map((r) => r.peakTensorBytes)),
      peakHeapBytes: Math.max(...g.map((r) => r.peakHeapBytes)),
      peakRssBytes: Math.max(...g.map((r) => r.peakRssBytes)),
    };
  });
}

/** Ours against PyTorch for one backend and model: the median over the rounds of each round's ratio. */
export interface Ratio {
  backend: string;
  model: string;
  train: number;
  infer: number;
  /** `model.predict(x)` with tfjs's default batch size against PyTorch's one call. */
  predict: number;
  rounds: number;
}

/** Each (backend, model) of ours against PyTorch's run of the same round (on 2 threads). */
export function roundRatios(rounds: readonly { ours: readonly BenchResult[]; pytorch: readonly BenchResult[] }[]): Ratio[] {
  const per = new Map<string, { backend: string; model: string; train: number[]; infer: number[]; predict: number[] }>();
  for (const round of rounds) {
    for (const r of round.ours) {
      const p = round.pytorch.find((q) => q.model === r.model && q.threads === 2);
      if (p === undefined) continue;
      const e = per.get(key(r)) ?? { backend: r.backend, model: r.model, train: [], infer: [], predict: [] };
      e.train.push(r.trainImagesPerSec / p.trainImagesPerSec);
      e.infer.push(r.inferImagesPerSec / p.inferImagesPerSec);
      e.predict.push(r.predictImagesPerSec / p.inferImagesPerSec);
      per.set(key(r), e);
    }
  }
  return [...per.values()].map((e) => ({
    backend: e.backend,
    model: e.model,
    train: median(e.train),
    infer: median(e.infer),
    predict: median(e.predict),
    rounds: e.train.length,
  }));
}

/** What the threads gain in training: images/s on the most threads over images/s on one, for one model. */
export interface ThreadGain {
  model: string;
  /** wasm-threads over wasm (median of the rounds' ratios); undefined where one of them was not run. */
  ours?: number;
  /** PyTorch on 2 threads over PyTorch on 1, the same way. */
  pytorch?: number;
}

/** Training images/s of the most threads over those of one thread, each round's ratio, their median per model. */
export function threadGains(rounds: readonly { ours: readonly BenchResult[]; pytorch: readonly BenchResult[] }[]): ThreadGain[] {
  const gain = (rs: readonly BenchResult[], model: string, one: (r: BenchResult) => boolean, many: (r: BenchResult) => boolean) => {
    const a = rs.find((r) => r.model === model && one(r));
    const b = rs.find((r) => r.model === model && many(r));
    return a && b ? b.trainImagesPerSec / a.trainImagesPerSec : undefined;
  };
  const models = [...new Set(rounds.flatMap((r) => r.ours.map((x) => x.model)))];
  return models.map((model) => {
    const of = (xs: (number | undefined)[]) => {
      const ok = xs.filter((x): x is number => x !== undefined);
      return ok.length > 0 ? median(ok) : undefined;
    };
    return {
      model,
      ours: of(
        rounds.map((r) =>
          gain(
            r.ours,
            model,
            (x) => x.backend === 'wasm',
            (x) => x.backend === 'wasm-threads',
          ),
        ),
      ),
      pytorch: of(
        rounds.map((r) =>
          gain(
            r.pytorch,
            model,
            (x) => x.threads === 1,
            (x) => x.threads === 2,
          ),
        ),
      ),
    };
  });
}

/** Floating-point operations of one image: 2 per multiply-add forward; a training step does about 3 forward passes' worth. */
export function gflops(r: BenchResult, kind: 'train' | 'infer'): number {
  const perImage = 2 * r.multiplyAddsPerImage * (kind === 'train' ? 3 : 1);
  return (perImage * (kind === 'train' ? r.trainImagesPerSec : r.inferImagesPerSec)) / 1e9;
}

/**
 * The peak of WebAssembly SIMD128 on one core: 2 FMA pipes × 4 float lanes × 2 operations per
 * cycle, at the clock /proc/cpuinfo reports (undefined where it reports none).
 */
export function simd128PeakPerCore(): { ghz: number; gflops: number } | undefined {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
  const mhz = [...text.matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)].map((m) => Number(m[1]));
  if (mhz.length === 0) return undefined;
  const ghz = Math.max(...mhz) / 1000;
  return { ghz, gflops: 2 * 4 * 2 * ghz };
}
