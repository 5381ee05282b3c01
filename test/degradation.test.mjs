// Fig. 6 and 7 from the depth runs: final errors over seeds, comparisons stated against the spread,
// and the figures, on hand-made rows whose answers are known.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lib } from './helpers.mjs';

const { finalErrors, firstEpochBelow, compareNets, describeComparison, budgetGapsFigure, layerResponsesFigure, UsageError } = lib;

/** Rows of runs of 2 epochs: `last[seed]` is each seed's final training error. */
function runs(model, last, { budget = 2, width = 4 } = {}) {
  return last.flatMap((e, seed) => [
    { model, width, seed, budget, epoch: 1, train_err: 0.9, test_err: 0.9 },
    { model, width, seed, budget, epoch: budget, train_err: e, test_err: e + 0.05 },
  ]);
}

test('finalErrors: the last epoch of each budget, mean and range over the seeds that finished', () => {
  const rows = [...runs('plain56', [0.6, 0.7, 0.8]), ...runs('plain20', [0.3, 0.35])];
  rows.push({ model: 'plain20', width: 4, seed: 2, budget: 2, epoch: 1, train_err: 0.9, test_err: 0.9 }); // unfinished
  const finals = finalErrors(rows);
  const p56 = finals.find((f) => f.model === 'plain56');
  assert.deepEqual(p56.seeds, [0, 1, 2]);
  assert.ok(Math.abs(p56.train.mean - 0.7) < 1e-12);
  assert.deepEqual([p56.train.min, p56.train.max], [0.6, 0.8]);
  assert.deepEqual(finals.find((f) => f.model === 'plain20').seeds, [0, 1], 'the unfinished seed is left out');
});

test('compareNets: apart, overlapping or level, against the spread over seeds', () => {
  const finals = finalErrors([
    ...runs('plain56', [0.6, 0.7, 0.8]),
    ...runs('plain20', [0.3, 0.35, 0.4]),
    ...runs('resnet56', [0.25, 0.31, 0.3]),
    ...runs('resnet20', [0.28, 0.29, 0.3]),
  ]);
  const deg = compareNets(finals, 'plain56', 'plain20', 2, { width: 4 });
  assert.equal(deg.verdict, 'above');
  assert.ok(Math.abs(deg.points - 35) < 1e-9);
  assert.equal(compareNets(finals, 'plain20', 'plain56', 2, { width: 4 }).verdict, 'below');
  assert.equal(compareNets(finals, 'resnet56', 'resnet20', 2, { width: 4 }).verdict, 'level', 'means 28.7% and 29%: within a point');
  assert.equal(compareNets(finals, 'resnet56', 'resnet20', 2, { width: 4, tolerance: 0.1 }).verdict, 'overlap');
  assert.match(
    describeComparison(deg),
    /^plain56 ends 35\.0 points above plain20 in training error after 2 epochs \(3 and 3 seeds; every run of the first ended above every run of the second\)$/,
  );
  assert.throws(
    () => compareNets(finals, 'plain56', 'plain20', 9, { width: 4 }),
    (e) => e instanceof UsageError && /no finished run of plain56 \(width 4\) with a budget of 9 epochs/.test(e.message),
  );
});

test('budgetGapsFigure: each gap against the budget; layerResponsesFigure: by layer and sorted', () => {
  const finals = finalErrors(
    ['plain56', 'plain20', 'resnet56', 'resnet20'].flatMap((m, i) =>
      [2, 4].flatMap((budget) => runs(m, [0.5 - 0.1 * i - 0.01 * budget], { budget })),
    ),
  );
  const fig = budgetGapsFigure(finals, { width: 4 });
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['plain56 − plain20', 'resnet56 − resnet20', 'plain20 − resnet20', 'plain56 − resnet56'],
  );
  assert.deepEqual(fig.data[0].x, [2, 4]);
  assert.ok(fig.data[0].y.every((v) => Math.abs(v - 10) < 1e-9));
  const rows = [1, 2, 3].flatMap((layer) => [0, 1].map((seed) => ({ model: 'resnet20', width: 4, seed, layer, std: layer + seed })));
  const byLayer = layerResponsesFigure(rows);
  assert.deepEqual(byLayer.data[0].y, [1.5, 2.5, 3.5], 'mean over seeds, in layer order');
  assert.deepEqual(layerResponsesFigure(rows, { sorted: true }).data[0].y, [3.5, 2.5, 1.5]);
});

test('firstEpochBelow: the first epoch of each run under the threshold, none for a run that never got there', () => {
  const row = (model, seed, epoch, train_err) => ({ model, width: 4, seed, budget: 3, epoch, train_err, test_err: 0.5 });
  const starts = firstEpochBelow([
    row('resnet56', 0, 2, 0.7),
    row('resnet56', 0, 1, 0.85),
    row('resnet56', 0, 3, 0.9), // later epochs above again do not matter
    row('resnet56', 1, 1, 0.9),
    row('resnet56', 1, 2, 0.89),
    row('plain20', 0, 1, 0.79),
  ]);
  assert.deepEqual(starts, [
    { model: 'resnet56', width: 4, seed: 0, budget: 3, epoch: 2, epochs: 3 },
    { model: 'resnet56', width: 4, seed: 1, budget: 3, epoch: undefined, epochs: 2 },
    { model: 'plain20', width: 4, seed: 0, budget: 3, epoch: 1, epochs: 1 },
  ]);
  assert.equal(firstEpochBelow([row('plain20', 0, 1, 0.79)], 0.5)[0].epoch, undefined);
});
