/**
 * What the depth experiments show (§4.2, Fig. 6 and 7), computed from their runs so that a chapter
 * only narrates: each net's final errors over its seeds (mean and range), the two gaps of Fig. 6
 * against that spread, and the layer responses of Fig. 7 by layer and sorted by magnitude.
 */
import { UsageError } from '../util/errors';
import type { DepthRunRow, LayerResponseRow } from './experiments';
import { lines } from '../notebook/plots/charts';
import type { Figure } from '../notebook/plots/figure-spec';

/** A net's errors at the end of its budget, over the seeds that finished it. */
export interface FinalErrors {
  model: string;
  width: number;
  budget: number;
  /** Seeds that reached the last epoch of the budget. */
  seeds: number[];
  /** Running training error of the last epoch: mean, least and greatest over the seeds (fractions). */
  train: { mean: number; min: number; max: number };
  /** Test error after the last epoch, likewise. */
  test: { mean: number; min: number; max: number };
}

function summary(values: number[]): { mean: number; min: number; max: number } {
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/** Each net's errors at the last epoch of each budget, over the seeds that got there. */
export function finalErrors(rows: readonly DepthRunRow[]): FinalErrors[] {
  const groups = new Map<string, DepthRunRow[]>();
  for (const r of rows) {
    if (r.epoch !== r.budget) continue;
    const key = JSON.stringify([r.model, r.width, r.budget]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => ({
    model: g[0]!.model,
    width: g[0]!.width,
    budget: g[0]!.budget,
    seeds: g.map((r) => r.seed).sort((a, b) => a - b),
    train: summary(g.map((r) => r.train_err)),
    test: summary(g.map((r) => r.test_err)),
  }));
}

/** When one run first left the start of training behind: see {@link firstEpochBelow}. */
export interface RunStart {
  model: string;
  width: number;
  seed: number;
  budget: number;
  /** The first epoch whose running training error is below the threshold; undefined if none is. */
  epoch: number | undefined;
  /** Epochs the run has (an unfinished run has fewer than its budget). */
  epochs: number;
}

/**
 * For each run in `rows`, the first epoch whose running training error is below `below` (default
 * 0.8: where §4.2's warm-up hands over to the learning rate of 0.1; chance is 0.9 on ten classes).
 */
export function firstEpochBelow(rows: readonly DepthRunRow[], below = 0.8): RunStart[] {
  const runs = new Map<string, DepthRunRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.model, r.width, r.seed, r.budget]);
    runs.set(key, [...(runs.get(key) ?? []), r]);
  }
  return [...runs.values()].map((g) => {
    const sorted = [...g].sort((a, b) => a.epoch - b.epoch);
    const { model, width, seed, budget } = sorted[0]!;
    return { model, width, seed, budget, epoch: sorted.find((r) => r.train_err < below)?.epoch, epochs: sorted.at(-1)!.epoch };
  });
}

/**
 * How one net compares with another at a budget, in training error: `a` minus `b` in points
 * (means over seeds), and whether the seeds' ranges are apart (`'above'`: every run of `a` ended
 * above every run of `b`), overlap, or lie within `tolerance` points of each other (`'level'`).
 */
export interface Comparison {
  a: string;
  b: string;
  budget: number;
  /** Difference of the means, in percentage points. */
  points: number;
  verdict: 'above' | 'below' | 'overlap' | 'level';
  /** Seeds behind each side. */
  runs: [number, number];
}

/** Compare two nets of the same width at a budget (see {@link Comparison}). */
export function compareNets(
  finals: readonly FinalErrors[],
  a: string,
  b: string,
  budget: number,
  o: { width?: number; tolerance?: number } = {},
): Comparison {
  const width = o.width ?? 16;
  const find = (m: string) => {
    const f = finals.find((x) => x.model === m && x.budget === budget && x.width === width);
    if (f === undefined) throw new UsageError(`no finished run of ${m} (width ${width}) with a budget of ${budget} epochs`);
    return f;
  };
  const [fa, fb] = [find(a), find(b)];
  const points = 100 * (fa.train.mean - fb.train.mean);
  const verdict =
    Math.abs(points) <= (o.tolerance ?? 1)
      ? 'level'
      : fa.train.min > fb.train.max
        ? 'above'
        : fa.train.max < fb.train.min
          ? 'below'
          : 'overlap';
  return { a, b, budget, points, verdict, runs: [fa.seeds.length, fb.seeds.length] };
}

/** A comparison in words, with its numbers: "plain56 ends 12.3 points above plain20 (3 and 3 seeds; the ranges are apart)". */
export function describeComparison(c: Comparison): string {
  const side = c.points >= 0 ? 'above' : 'below';
  const spread = {
    above: 'every run of the first ended above every run of the second',
    below: 'every run of the first ended below every run of the second',
    overlap: 'their ranges over seeds overlap',
    level: 'within a point of each other',
  }[c.verdict];
  return `${c.a} ends ${Math.abs(c.points).toFixed(1)} points ${side} ${c.b} in training error after ${c.budget} epochs (${c.runs[0]} and ${c.runs[1]} seeds; ${spread})`;
}

/**
 * Fig. 7 (§4.4): the standard deviation of each 3×3 layer's response, mean over seeds, per net;
 * `sorted` orders each net's layers by that value, largest first (the paper's lower panel).
 */
export function layerResponsesFigure(rows: readonly LayerResponseRow[], o: { sorted?: boolean; title?: string } = {}): Figure {
  const nets = [...new Set(rows.map((r) => r.model))];
  const series = nets.map((model) => {
    const mine = rows.filter((r) => r.model === model);
    const layers = [...new Set(mine.map((r) => r.layer))].sort((a, b) => a - b);
    const mean = layers.map((l) => {
      const vs = mine.filter((r) => r.layer === l).map((r) => r.std);
      return vs.reduce((s, v) => s + v, 0) / vs.length;
    });
    const y = o.sorted ? [...mean].sort((a, b) => b - a) : mean;
    return { name: model, x: layers, y, dash: model.startsWith('plain') ? ('dash' as const) : ('solid' as const) };
  });
  return lines(series, {
    title:
      o.title ??
      (o.sorted ? 'Std of layer responses, sorted by magnitude (Fig. 7, bottom)' : 'Std of layer responses by layer (Fig. 7, top)'),
    xTitle: o.sorted ? 'layer index (sorted by magnitude)' : 'layer index (input → output)',
    yTitle: 'std',
  });
}

/** The four gaps of Fig. 6 in training error. */
export const FIG6_GAPS = [
  ['plain56', 'plain20'],
  ['resnet56', 'resnet20'],
  ['plain20', 'resnet20'],
  ['plain56', 'resnet56'],
] as const;

/**
 * How Fig. 6's gaps move with the budget: each gap (difference of the means over seeds, in
 * points) against the budget in epochs, for the nets of one width. Budgets missing a net are left out.
 */
export function budgetGapsFigure(finals: readonly FinalErrors[], o: { width?: number; title?: string } = {}): Figure {
  const width = o.width ?? 16;
  const budgets = [...new Set(finals.filter((f) => f.width === width).map((f) => f.budget))].sort((a, b) => a - b);
  const series = FIG6_GAPS.map(([a, b], i) => {
    const points = budgets.flatMap((budget) => {
      try {
        return [{ budget, gap: compareNets(finals, a, b, budget, { width }).points }];
      } catch {
        return [];
      }
    });
    return {
      name: `${a} − ${b}`,
      x: points.map((p) => p.budget),
      y: points.map((p) => p.gap),
      markers: true,
      dash: i < 2 ? ('solid' as const) : ('dot' as const),
    };
  });
  return lines(series, {
    title: o.title ?? `Gaps in training error against the budget${width === 16 ? '' : ` (width ${width})`}`,
    xTitle: 'epochs in the run',
    yTitle: 'Δ training error (points)',
  });
}
