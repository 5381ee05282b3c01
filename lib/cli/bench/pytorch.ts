/**
 * The same benchmark in PyTorch, the project's reference: the reference trainer's `net(depth)`
 * (scripts/torch_cifar_ref.py), its SGD step (lr 0.1, momentum 0.9, weight decay 1e-4,
 * cross-entropy), 2 threads (or as many as asked: 1 for what two threads gain), random inputs of the
 * same batch size.
 */
import { resultLines, runChild } from '../child';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../util/errors';
import type { BenchResult, MeasureOptions } from './measure';

/** Where the reference trainer lives, relative to the repository root. */
export const DEFAULT_REF = path.join('scripts', 'torch_cifar_ref.py');

const SCRIPT = String.raw`
import importlib.util, json, resource, sys, time, torch, torch.nn.functional as F
ref, depths, batch, steps, threads = sys.argv[1], [int(d) for d in sys.argv[2].split(',')], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
spec = importlib.util.spec_from_file_location('torch_cifar_ref', ref)
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
torch.set_num_threads(threads)
for depth in depths:
    m = mod.net(depth)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = torch.sin(torch.arange(batch * 3 * 32 * 32, dtype=torch.float32) * 0.37).reshape(batch, 3, 32, 32)
    y = torch.arange(batch) % 10
    def train():
        opt.zero_grad(); loss = F.cross_entropy(m(x), y); loss.backward(); opt.step(); loss.item()
    def infer():
        with torch.no_grad(): m(x).sum().item()
    def timed(f):
        out = []
        for _ in range(steps):
            t0 = time.perf_counter(); f(); out.append(time.perf_counter() - t0)
        return out
    m.train(); train()
    tt = timed(train)
    m.eval(); infer()
    ti = timed(infer)
    print('RESULT ' + json.dumps({'backend': 'pytorch', 'model': 'resnet%d' % depth, 'batch': batch, 'steps': steps,
        'trainImagesPerSec': batch * steps / sum(tt), 'inferImagesPerSec': batch * steps / sum(ti),
        'trainBestImagesPerSec': batch / min(tt), 'inferBestImagesPerSec': batch / min(ti),
        'predictImagesPerSec': batch * steps / sum(ti), 'multiplyAddsPerImage': 0, 'peakTensorBytes': 0, 'peakHeapBytes': 0,
        'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, 'threads': torch.get_num_threads()}), flush=True)
`;

/** Options of {@link measurePytorch}. */
export interface PytorchOptions extends MeasureOptions {
  /** Path of torch_cifar_ref.py. */
  ref: string;
  /** Python interpreter, default /usr/bin/python3. */
  python?: string;
  /** Threads PyTorch computes on, default 2. */
  threads?: number;
}

/** Run the PyTorch side for the given depths; one result per depth. */
export async function measurePytorch(depths: number[], o: PytorchOptions): Promise<BenchResult[]> {
  if (!fs.existsSync(o.ref)) {
    throw new UsageError(`--ref ${o.ref}: the PyTorch reference trainer (torch_cifar_ref.py) is not there`);
  }
  const python = o.python ?? '/usr/bin/python3';
  const threads = String(o.threads ?? 2);
  const args = ['-c', SCRIPT, path.resolve(o.ref), depths.join(','), String(o.batch), String(o.steps), threads];
  const run = await runChild(python, args, { env: { ...process.env, OMP_NUM_THREADS: threads } }).catch((e: Error) => {
    throw new UsageError(`cannot run ${python} for --vs-pytorch: ${e.message}`);
  });
  if (run.code !== 0)
    throw new Error(`PyTorch benchmark failed (${python}, exit ${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return resultLines<BenchResult>(run.stdout);
}
