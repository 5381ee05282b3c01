/**
 * `residual parity`: the same recipe (ResNet-20, option-B shortcuts, SGD momentum 0.9, weight decay
 * 1e-4, batch 128, lr 0.1 cosine, pad-crop-flip) on the same data, in the PyTorch reference trainer
 * (scripts/torch_cifar_ref.py) and in `residual train`, then `residual evaluate` on the test set.
 * Writes results/parity.csv: one row per framework, init, seed and epoch, the test error on the
 * last epoch's row; rows of runs this call did not make are kept.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import pl from 'nodejs-polars';
import { findOrDownloadCifar10 } from '../../course/course-data';
import { mergeCsv } from '../../course/results';
import { latestCheckpointDir } from '../../train/checkpoint';
import { readHistoryCsv } from '../../train/history';
import { UsageError } from '../../util/errors';
import { PACKAGE_ROOT } from '../../util/package-root';
import { runChild } from '../child';
import { intArg, parseFlags } from './args';

const USAGE = `usage: residual parity [--data DIR] [--epochs 30] [--init pytorch|he] [--seed 0] [--out DIR]
                       [--python /usr/bin/python3] [--ref FILE] [--results FILE] [--skip-ours] [--skip-pytorch]

  --data DIR        CIFAR-10 binary files (default: the course's data)
  --init pytorch    our weights initialised as PyTorch's nn.Conv2d / nn.Linear defaults, which the
                    reference keeps (default); --init he is the paper's (§3.4)
  --seed N          seeds both sides (the reference through a wrapper that replaces its fixed seed 0)
  --out DIR         our run folder (default runs/parity-resnet20-<init>-seed<N>); an interrupted run
                    there is continued, a finished one is kept as it is
  --skip-ours, --skip-pytorch   one side only (the other side's rows in the CSV are kept)`;

const OURS = 'residual-learning (tfjs wasm)';
const THEIRS = 'pytorch (reference)';

/** One row of results/parity.csv (test error and test images on the last epoch only). */
interface ParityRow {
  framework: string;
  init: string;
  seed: number;
  epoch: number;
  train_err: number;
  test_err: number | null;
  n_test: number | null;
}

/** Run a command, echoing its output, and resolve with the output. */
async function run(cmd: string, args: string[], label: string): Promise<string> {
  console.log(`$ ${[cmd, ...args].map((s) => (/\s/.test(s) ? `'${s}'` : s)).join(' ')}`);
  let out = '';
  const echo = (chunk: string, stream: 'stdout' | 'stderr'): void => {
    out += chunk;
    process[stream].write(chunk);
  };
  const r = await runChild(cmd, args, { cwd: PACKAGE_ROOT, env: { ...process.env, PYTHONUNBUFFERED: '1' }, onOutput: echo }).catch(
    (e: Error) => {
      throw new UsageError(`${label}: ${e.message}`);
    },
  );
  if (r.code !== 0) throw new UsageError(`${label} ${r.signal ? `was stopped by ${r.signal}` : `exited with status ${r.code}`}`);
  return out;
}

/** Ours: train (or continue, or keep a finished run), then evaluate the saved model. */
async function ours(o: { data: string; epochs: number; seed: number; init: string; out: string }): Promise<ParityRow[]> {
  const cli = path.join(PACKAGE_ROOT, 'dist', 'cli.js');
  const resume = latestCheckpointDir(o.out) !== undefined ? ['--resume'] : [];
  await run(
    process.execPath,
    [
      cli,
      'train',
      '--model',
      'resnet20',
      '--data',
      o.data,
      '--epochs',
      String(o.epochs),
      '--schedule',
      'cosine',
      '--seed',
      String(o.seed),
      '--init',
      o.init,
      '--out',
      o.out,
      ...resume,
    ],
    'residual train',
  );
  const evalOut = await run(process.execPath, [cli, 'evaluate', '--model-dir', o.out, '--data', o.data, '--json'], 'residual evaluate');
  const result = JSON.parse(evalOut.trim().split('\n').at(-1)!) as { accuracy: number; n: number };
  return readHistoryCsv(path.join(o.out, 'history.csv'))
    .toRecords()
    .map((r) => {
      const last = Number(r['epoch']) === o.epochs;
      return {
        framework: OURS,
        init: o.init,
        seed: o.seed,
        epoch: Number(r['epoch']),
        train_err: Number(r['train_err']),
        test_err: last ? 1 - result.accuracy : null,
        n_test: last ? result.n : null,
      };
    });
}

/** The PyTorch reference, its epochs and test accuracy read from its output. */
async function theirs(o: { data: string; epochs: number; seed: number; python: string; ref: string }): Promise<ParityRow[]> {
  const refArgs = [o.data, String(o.epochs), '20', 'resnet', o.data];
  // The reference seeds torch and numpy with 0 when it loads; another seed replaces those calls' argument.
  const wrapper = `import runpy, sys, numpy, torch\ns = ${o.seed}\nt, n = torch.manual_seed, numpy.random.seed\ntorch.manual_seed = lambda _: t(s)\nnumpy.random.seed = lambda _: n(s)\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')`;
  const out = await run(o.python, o.seed === 0 ? [o.ref, ...refArgs] : ['-c', wrapper, o.ref, ...refArgs], 'the PyTorch reference');
  const rows: ParityRow[] = [];
  let test: { acc: number; n: number } | undefined;
  for (const line of out.split('\n')) {
    const e = /^epoch (\d+) train_loss \S+ train_err (\S+)/.exec(line);
    if (e)
      rows.push({
        framework: THEIRS,
        init: 'pytorch',
        seed: o.seed,
        epoch: Number(e[1]),
        train_err: Number(e[2]),
        test_err: null,
        n_test: null,
      });
    const t = /^test_acc \S+ n=(\d+) (\S+)/.exec(line);
    if (t) test = { n: Number(t[1]), acc: Number(t[2]) };
  }
  const last = rows.at(-1);
  if (last === undefined || test === undefined) throw new UsageError('the PyTorch reference printed no epoch or no test accuracy');
  Object.assign(last, { test_err: 1 - test.acc, n_test: test.n });
  return rows;
}

/** Entry point of `residual parity`. */
export async function main(argv: string[]): Promise<void> {
  const a = parseFlags(
    argv,
    {
      data: { type: 'string' },
      epochs: { type: 'string', default: '30' },
      out: { type: 'string' },
      init: { type: 'string', default: 'pytorch' },
      seed: { type: 'string', default: '0' },
      python: { type: 'string', default: '/usr/bin/python3' },
      ref: { type: 'string', default: path.join(PACKAGE_ROOT, 'scripts', 'torch_cifar_ref.py') },
      results: { type: 'string', default: path.join(PACKAGE_ROOT, 'results', 'parity.csv') },
      'skip-pytorch': { type: 'boolean', default: false },
      'skip-ours': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
  if (a.help) return console.log(USAGE);
  const epochs = intArg(a.epochs, 'epochs')!;
  const seed = intArg(a.seed, 'seed', 0)!;
  if (a.init !== 'pytorch' && a.init !== 'he') throw new UsageError(`--init must be pytorch or he, got '${a.init}'`);
  const out = a.out ?? path.join(PACKAGE_ROOT, 'runs', `parity-resnet20-${a.init}-seed${seed}`);
  // Default: the course's data (RESIDUAL_DATA, or data/cifar10, downloaded on first use).
  const data = a.data ?? (await findOrDownloadCifar10()).dir;
  if (!existsSync(path.join(data, 'data_batch_1.bin')))
    throw new UsageError(`--data ${data} holds no CIFAR-10 binary files (data_batch_1.bin …)`);
  if (!a['skip-pytorch'] && !existsSync(a.ref)) throw new UsageError(`the reference trainer ${a.ref} is missing (--ref PATH)`);

  const rows = [
    ...(a['skip-ours'] ? [] : await ours({ data, epochs, seed, init: a.init, out })),
    ...(a['skip-pytorch'] ? [] : await theirs({ data, epochs, seed, python: a.python, ref: a.ref })),
  ];
  const columns = ['framework', 'init', 'seed', 'epoch', 'train_err', 'test_err', 'n_test'] as const;
  const round = (v: unknown) => (typeof v === 'number' ? Number(v.toFixed(6)) : v);
  const table = pl.DataFrame(rows.map((r) => Object.fromEntries(columns.map((k) => [k, round(r[k])])))).select(...columns);
  await mergeCsv(a.results, table, ['framework', 'init', 'seed']);

  const final = rows.filter((r) => r.test_err !== null);
  console.log(`\nResNet-20, ${epochs} epochs, cosine, seed ${seed}, on ${path.relative(process.cwd(), path.resolve(data)) || '.'}:`);
  for (const r of final)
    console.log(
      `  ${`${r.framework}, ${r.init} init`.padEnd(44)} test accuracy ${(100 * (1 - r.test_err!)).toFixed(1)}% (${r.n_test} images)`,
    );
  if (final.length === 2)
    console.log(
      `  difference ${(100 * Math.abs(final[0]!.test_err! - final[1]!.test_err!)).toFixed(1)} points (issue 4 asks for at most 3)`,
    );
  console.log(`wrote ${path.relative(process.cwd(), a.results)}`);
}
