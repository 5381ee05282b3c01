/**
 * `residual bench`: training and inference images/s of the CIFAR ResNets (§4.2) on every
 * TensorFlow.js backend that loads, with peak memory, optionally side by side with PyTorch.
 * Each backend and net runs in its own process (clean peak-memory figures; one wasm build per process).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../util/errors';
import { intArg, parseFlags } from './args';
import { cifarBlocksPerStage } from '../../model/nets';
import { BENCH_BACKENDS, measureTfjs, startBenchBackend, type BenchBackend, type BenchResult } from '../bench/measure';
import { DEFAULT_REF, measurePytorch } from '../bench/pytorch';
import { PACKAGE_ROOT } from '../../util/package-root';
import { gflops, medianResults, type Ratio, roundRatios, simd128PeakPerCore, type ThreadGain, threadGains } from '../bench/summary';
import { resultLines, runChild } from '../child';

const USAGE = `usage: residual bench [--backend LIST] [--models LIST] [--batch N] [--steps N] [--rounds N] [--quick]
                      [--vs-pytorch [--ref PATH] [--python PATH]] [--json]

  --backend LIST   comma-separated, from ${BENCH_BACKENDS.join(', ')}
                   (default: tensorflow, wasm, wasm-threads, those that load; cpu only when named:
                   a batch-128 training step takes minutes there)
  --models LIST    depths 6n+2 or names, default 20,56 (resnet20, resnet56)
  --batch N        images per step, default 128
  --steps N        timed steps per measurement after one warm-up step, default 3; the table
                   shows their mean and the fastest step
  --rounds N       interleaved rounds (every backend, then PyTorch, again), default 3; the table
                   shows medians over the rounds, and ratios to PyTorch as the median of each
                   round's ratio (this machine's speed drifts within minutes)
  --quick          1 round of 1 timed step, ResNet-20 only (unless --models is given)
  --vs-pytorch     also run the models in PyTorch (2 threads; and 1, for what two threads gain)
                   and print tfjs/PyTorch ratios
  --ref PATH       the reference trainer defining net(depth), default <repo>/${DEFAULT_REF}
  --python PATH    interpreter for --vs-pytorch, default /usr/bin/python3
  --json           print the results as one JSON object`;

interface Skipped {
  backend: string;
  reason: string;
}

function parse(argv: string[]) {
  return parseFlags(
    argv,
    {
      backend: { type: 'string' },
      models: { type: 'string' },
      batch: { type: 'string', default: '128' },
      steps: { type: 'string' },
      rounds: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'vs-pytorch': { type: 'boolean', default: false },
      ref: { type: 'string' },
      python: { type: 'string' },
      json: { type: 'boolean', default: false },
      worker: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
}

function parseDepths(list: string): number[] {
  return list.split(',').map((item) => {
    const m = /^(?:resnet)?(\d+)$/.exec(item.trim());
    if (m === null) throw new UsageError(`--models: '${item}' is not a depth (20) or a ResNet name (resnet20)`);
    const depth = Number(m[1]);
    cifarBlocksPerStage(depth); // refuses depths not of the form 6n+2
    return depth;
  });
}

function parseBackends(list: string): BenchBackend[] {
  return list.split(',').map((b) => {
    const name = b.trim() as BenchBackend;
    if (!BENCH_BACKENDS.includes(name)) throw new UsageError(`--backend: '${b}' is not one of ${BENCH_BACKENDS.join(', ')}`);
    return name;
  });
}

/** Measure in a child process: `residual bench --worker BACKEND …` prints one RESULT line per model. */
async function runWorker(backend: BenchBackend, depths: number[], batch: number, steps: number): Promise<BenchResult[] | Skipped> {
  const cli = path.join(PACKAGE_ROOT, 'dist', 'cli.js');
  const args = [cli, 'bench', '--worker', backend, '--models', depths.join(','), '--batch', String(batch), '--steps', String(steps)];
  const { code, stdout, stderr } = await runChild(process.execPath, args);
  const results = resultLines<BenchResult>(stdout);
  if (code === 0 && results.length === depths.length) return results;
  const lines = stderr.trim().split('\n');
  const why = (lines.find((l) => l.startsWith('BENCH-ERROR ')) ?? lines.slice(-1)[0] ?? `exit ${code}`).replace(/^BENCH-ERROR /, '');
  return { backend, reason: why || `exit ${code}` };
}

async function worker(backend: BenchBackend, depths: number[], batch: number, steps: number): Promise<void> {
  try {
    const threads = await startBenchBackend(backend);
    for (const depth of depths) {
      const r = await measureTfjs(depth, backend, threads, { batch, steps });
      console.log(`RESULT ${JSON.stringify(r)}`);
    }
  } catch (err) {
    // One line the parent shows as the reason this backend was skipped.
    console.error(`BENCH-ERROR ${(err as Error).message.split('\n')[0]}`);
    process.exitCode = 3;
  }
}

const MiB = 2 ** 20;

function table(results: BenchResult[], ratios: Ratio[]): string {
  const head = ['backend', 'model', 'threads', 'train img/s', '(best step)', 'GFLOP/s', 'infer img/s', '(best step)', 'GFLOP/s'];
  head.push('predict() img/s', 'peak tensors MiB', 'wasm heap MiB', 'peak RSS MiB');
  if (ratios.length) head.push('train ×PyTorch', 'infer ×PyTorch', 'predict() ×PyTorch');
  const rows = results.map((r) => {
    const flops = (kind: 'train' | 'infer') => (r.multiplyAddsPerImage > 0 ? gflops(r, kind).toFixed(1) : '-');
    const row = [r.backend, r.model, String(r.threads), r.trainImagesPerSec.toFixed(1), r.trainBestImagesPerSec.toFixed(1), flops('train')];
    row.push(r.inferImagesPerSec.toFixed(1), r.inferBestImagesPerSec.toFixed(1), flops('infer'), r.predictImagesPerSec.toFixed(1));
    const mib = (bytes: number) => (bytes ? (bytes / MiB).toFixed(0) : '-');
    row.push(mib(r.peakTensorBytes), mib(r.peakHeapBytes), mib(r.peakRssBytes));
    if (ratios.length) {
      const q = ratios.find((x) => x.backend === r.backend && x.model === r.model);
      row.push(...(q ? [q.train, q.infer, q.predict].map((v) => v.toFixed(2)) : ['-', '-', '-']));
    }
    return row;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The lines under the table: how the figures were taken, and the arithmetic's ceiling. */
function notes(rounds: number, steps: number, pytorch: boolean): string[] {
  const peak = simd128PeakPerCore();
  return [
    `medians of ${rounds} round${rounds > 1 ? 's' : ''} (${steps} timed step${steps > 1 ? 's' : ''} each after a warm-up)` +
      (pytorch ? ", each round running every backend then PyTorch; a ratio is the median of the rounds' ratios" : ''),
    'GFLOP/s: 2 per multiply-add of the convolutions and the classifier (as a direct convolution computes them), a training step counted as 3 forward passes;',
    "  Winograd's F(4×4, 3×3) does a quarter of the 3×3 convolutions' multiplies, so the figure can pass the peak below",
    peak === undefined
      ? 'WebAssembly SIMD128 peak: unknown (no clock in /proc/cpuinfo)'
      : `WebAssembly SIMD128 peak: 2 FMA pipes × 4 lanes × 2 flops × ${peak.ghz.toFixed(2)} GHz = ${peak.gflops.toFixed(1)} GFLOP/s per core (× threads)`,
    "predict(): model.predict(x) with tfjs's default batch size (32); infer: one call on the whole batch, as PyTorch infers",
    "peak tensors: tfjs's count during a training step (views of one buffer counted again); wasm heap: the backend's memory afterwards, its high-water mark (wasm32's limit is 4 GiB)",
  ];
}

/** What two threads gain in training, ours and PyTorch's, one line per model. */
function gainLines(gains: ThreadGain[]): string[] {
  const x = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(2)}×`);
  return gains.map(
    (g) => `training on two threads (or more) ÷ one, ${g.model}: ours ${x(g.ours)}, PyTorch ${x(g.pytorch)} (median of the rounds' ratios)`,
  );
}

/** Entry point of `residual bench`. */
export async function main(argv: string[]): Promise<void> {
  const args = parse(argv);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const batch = intArg(args.batch, 'batch')!;
  const steps = args.steps !== undefined ? intArg(args.steps, 'steps')! : args.quick ? 1 : 3;
  const rounds = args.rounds !== undefined ? intArg(args.rounds, 'rounds')! : args.quick ? 1 : 3;
  const depths = parseDepths(args.models ?? (args.quick ? '20' : '20,56'));
  if (args.worker !== undefined) {
    await worker(parseBackends(args.worker)[0]!, depths, batch, steps);
    return;
  }
  const asked = args.backend !== undefined;
  const backends = asked ? parseBackends(args.backend!) : BENCH_BACKENDS.filter((b) => b !== 'cpu');
  const ref = args.ref ?? path.join(PACKAGE_ROOT, DEFAULT_REF);
  if (args['vs-pytorch'] && !fs.existsSync(ref)) {
    throw new UsageError(`--ref ${ref}: the PyTorch reference trainer (torch_cifar_ref.py) is not there`);
  }

  const measured: { ours: BenchResult[]; pytorch: BenchResult[] }[] = [];
  const skipped: Skipped[] = [];
  for (let round = 1; round <= rounds; round++) {
    const ours: BenchResult[] = [];
    for (const backend of backends) {
      // One process per backend and net: each net's memory figures are its own.
      for (const depth of depths) {
        if (skipped.some((s) => s.backend === backend)) break;
        if (!args.json) console.error(`bench: round ${round}/${rounds}: ${backend}, resnet${depth}, batch ${batch}…`);
        const r = await runWorker(backend, [depth], batch, steps);
        if (Array.isArray(r)) ours.push(...r);
        else skipped.push(r);
      }
    }
    let pytorch: BenchResult[] = [];
    if (args['vs-pytorch']) {
      if (!args.json) console.error(`bench: round ${round}/${rounds}: pytorch (${ref})…`);
      pytorch = await measurePytorch(depths, { batch, steps, ref, python: args.python });
      // On one thread too: what two threads gain on this machine, beside what they gain us.
      pytorch.push(...(await measurePytorch(depths, { batch, steps, ref, python: args.python, threads: 1 })));
    }
    measured.push({ ours, pytorch });
  }
  const results = medianResults(measured.map((m) => m.ours));
  // The same nets: PyTorch's arithmetic per image is ours (counted on our models).
  const pytorch = medianResults(measured.map((m) => m.pytorch)).map((p) => ({
    ...p,
    multiplyAddsPerImage: results.find((r) => r.model === p.model)?.multiplyAddsPerImage ?? 0,
  }));
  const ratios = args['vs-pytorch'] ? roundRatios(measured) : [];
  const gains = threadGains(measured).filter((g) => g.ours !== undefined || g.pytorch !== undefined);
  if (args.json) {
    const peak = simd128PeakPerCore();
    const withFlops = (rs: BenchResult[]) => rs.map((r) => ({ ...r, trainGflops: gflops(r, 'train'), inferGflops: gflops(r, 'infer') }));
    const summary = {
      batch,
      steps,
      rounds,
      results: withFlops(results),
      pytorch: withFlops(pytorch),
      ratiosVsPytorch: args['vs-pytorch'] ? ratios : undefined,
      threadGains: gains,
      simd128PeakPerCore: peak,
      skipped,
    };
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(table([...results, ...pytorch], ratios));
    for (const line of notes(rounds, steps, args['vs-pytorch'])) console.log(line);
    for (const line of gainLines(gains)) console.log(line);
    for (const s of skipped) console.log(`skipped ${s.backend}: ${s.reason}`);
  }
  if (asked && skipped.length > 0) process.exitCode = 1;
}
