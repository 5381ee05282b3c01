/**
 * `residual bench`: training and inference images/s of the CIFAR ResNets (§4.2) on every
 * TensorFlow.js backend that loads, with peak memory, optionally side by side with PyTorch.
 * Each backend runs in its own process (clean peak-memory figures; one wasm build per process).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../util/errors';
import { intArg, parseFlags } from './args';
import { cifarBlocksPerStage } from '../../model/nets';
import { BENCH_BACKENDS, measureTfjs, startBenchBackend, type BenchBackend, type BenchResult } from '../bench/measure';
import { DEFAULT_REF, measurePytorch } from '../bench/pytorch';
import { PACKAGE_ROOT } from '../../util/package-root';
import { resultLines, runChild } from '../child';

const USAGE = `usage: residual bench [--backend LIST] [--models LIST] [--batch N] [--steps N] [--quick]
                      [--vs-pytorch [--ref PATH] [--python PATH]] [--json]

  --backend LIST   comma-separated, from ${BENCH_BACKENDS.join(', ')}
                   (default: tensorflow, wasm, wasm-threads, those that load; cpu only when named:
                   a batch-128 training step takes minutes there)
  --models LIST    depths 6n+2 or names, default 20,56 (resnet20, resnet56)
  --batch N        images per step, default 128
  --steps N        timed steps per measurement after one warm-up step, default 3; the table
                   shows the mean and the fastest step (on a busy machine, compare fastest steps)
  --quick          1 timed step, ResNet-20 only (unless --models is given)
  --vs-pytorch     also run the models in PyTorch (2 threads) and print tfjs/PyTorch ratios
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

function table(results: BenchResult[], pytorch: BenchResult[]): string {
  const ref = new Map(pytorch.map((r) => [r.model, r]));
  const head = [
    'backend',
    'model',
    'threads',
    'train img/s',
    '(best step)',
    'infer img/s',
    '(best step)',
    'peak tensors MiB',
    'peak RSS MiB',
  ];
  if (pytorch.length) head.push('train ×PyTorch', '(best)', 'infer ×PyTorch', '(best)');
  const rows = [...results, ...pytorch].map((r) => {
    const row = [
      r.backend,
      r.model,
      String(r.threads),
      r.trainImagesPerSec.toFixed(1),
      r.trainBestImagesPerSec.toFixed(1),
      r.inferImagesPerSec.toFixed(1),
      r.inferBestImagesPerSec.toFixed(1),
      r.peakTensorBytes ? (r.peakTensorBytes / MiB).toFixed(0) : '-',
      (r.peakRssBytes / MiB).toFixed(0),
    ];
    const p = ref.get(r.model);
    if (pytorch.length) {
      const ratio = (a: number, b: number | undefined): string => (b ? (a / b).toFixed(2) : '-');
      row.push(
        ratio(r.trainImagesPerSec, p?.trainImagesPerSec),
        ratio(r.trainBestImagesPerSec, p?.trainBestImagesPerSec),
        ratio(r.inferImagesPerSec, p?.inferImagesPerSec),
        ratio(r.inferBestImagesPerSec, p?.inferBestImagesPerSec),
      );
    }
    return row;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
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
  const depths = parseDepths(args.models ?? (args.quick ? '20' : '20,56'));
  if (args.worker !== undefined) {
    await worker(parseBackends(args.worker)[0], depths, batch, steps);
    return;
  }
  const asked = args.backend !== undefined;
  const backends = asked ? parseBackends(args.backend!) : BENCH_BACKENDS.filter((b) => b !== 'cpu');
  const repoRoot = PACKAGE_ROOT;
  const ref = args.ref ?? path.join(repoRoot, DEFAULT_REF);
  if (args['vs-pytorch'] && !fs.existsSync(ref)) {
    throw new UsageError(`--ref ${ref}: the PyTorch reference trainer (torch_cifar_ref.py) is not there`);
  }

  const results: BenchResult[] = [];
  const skipped: Skipped[] = [];
  for (const backend of backends) {
    if (!args.json)
      console.error(
        `bench: ${backend} (${depths.map((d) => `resnet${d}`).join(', ')}, batch ${batch}, ${steps} step${steps > 1 ? 's' : ''})…`,
      );
    const r = await runWorker(backend, depths, batch, steps);
    if (Array.isArray(r)) results.push(...r);
    else skipped.push(r);
  }
  let pytorch: BenchResult[] = [];
  if (args['vs-pytorch']) {
    if (!args.json) console.error(`bench: pytorch (${ref})…`);
    pytorch = await measurePytorch(depths, { batch, steps, ref, python: args.python });
  }
  if (args.json) {
    const ratios = results.map((r) => {
      const p = pytorch.find((q) => q.model === r.model);
      return {
        backend: r.backend,
        model: r.model,
        train: p ? r.trainImagesPerSec / p.trainImagesPerSec : null,
        infer: p ? r.inferImagesPerSec / p.inferImagesPerSec : null,
        trainBest: p ? r.trainBestImagesPerSec / p.trainBestImagesPerSec : null,
        inferBest: p ? r.inferBestImagesPerSec / p.inferBestImagesPerSec : null,
      };
    });
    console.log(JSON.stringify({ batch, steps, results, pytorch, ratiosVsPytorch: pytorch.length ? ratios : undefined, skipped }, null, 2));
  } else {
    console.log(table(results, pytorch));
    for (const s of skipped) console.log(`skipped ${s.backend}: ${s.reason}`);
  }
  if (asked && skipped.length > 0) process.exitCode = 1;
}
