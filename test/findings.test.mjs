// The committed results/ of the experiments (chapters 2, 3, 5; `npm run parity`) have the
// layout the issue asks for and show the findings the chapters narrate.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../results/', import.meta.url));
function csv(name) {
  const [head, ...lines] = readFileSync(`${dir}${name}.csv`, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return {
    cols,
    rows: lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], /^-?[\d.e-]+$/.test(v) ? Number(v) : v]))),
  };
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const DEPTH_NETS = ['plain20', 'plain56', 'resnet20', 'resnet56'];
// Chapter 2: with the warm-up every ResNet and plain-20 run's running training error is below 80% by this epoch.
const WARMED_UP_BY = 4;

// Chapter 2's main comparison: the runs of the longest budget in degradation.csv.
function mainRuns() {
  const { cols, rows } = csv('degradation');
  assert.deepEqual(cols, ['model', 'width', 'seed', 'budget', 'epoch', 'train_err', 'test_err']);
  const budget = Math.max(...rows.map((r) => r.budget));
  const width = rows.find((r) => r.budget === budget).width;
  return { rows, budget, width, main: rows.filter((r) => r.budget === budget && r.width === width) };
}

test('degradation.csv: at least 3 seeds of each net at the longest budget; their means show Fig. 6 (left and middle)', () => {
  const { main, budget } = mainRuns();
  const last = {};
  for (const m of DEPTH_NETS) {
    const seeds = [...new Set(main.filter((r) => r.model === m).map((r) => r.seed))];
    assert.ok(seeds.length >= 3, `${m}: ${seeds.length} seeds`);
    for (const seed of seeds) {
      const epochs = main.filter((r) => r.model === m && r.seed === seed).map((r) => r.epoch);
      assert.deepEqual(
        epochs,
        Array.from({ length: budget }, (_, i) => i + 1),
        `${m} seed ${seed}: one row per epoch, every epoch`,
      );
    }
    last[m] = mean(main.filter((r) => r.model === m && r.epoch === budget).map((r) => r.train_err));
  }
  assert.ok(last.plain56 > last.plain20, `plain-56 ${last.plain56} above plain-20 ${last.plain20}`);
  assert.ok(last.resnet20 < last.plain20, `ResNet-20 ${last.resnet20} below plain-20 ${last.plain20}`);
  assert.ok(last.resnet56 < last.plain56, `ResNet-56 ${last.resnet56} below plain-56 ${last.plain56}`);
});

test('degradation.csv: ResNet-56 ends at or below ResNet-20 (Fig. 6, middle), every run of it below every run of ResNet-20', () => {
  const { main, budget } = mainRuns();
  const ends = (m) => main.filter((r) => r.model === m && r.epoch === budget).map((r) => r.train_err);
  const [r20, r56] = [ends('resnet20'), ends('resnet56')];
  assert.ok(mean(r56) <= mean(r20) + 0.01, `means: ResNet-56 ${mean(r56)}, ResNet-20 ${mean(r20)}`);
  assert.ok(Math.max(...r56) < Math.min(...r20), `ResNet-56 ${r56} against ResNet-20 ${r20}`);
});

test('degradation.csv: across the budgets (seed 0) the plain gap grows; ResNet-56 starts behind ResNet-20 and ends ahead', () => {
  const { rows, width } = mainRuns();
  const gap = (a, b, budget) => {
    const end = (m) =>
      rows.find((r) => r.model === m && r.width === width && r.seed === 0 && r.budget === budget && r.epoch === budget).train_err;
    return end(a) - end(b);
  };
  const budgets = [...new Set(rows.filter((r) => r.width === width).map((r) => r.budget))].sort((a, b) => a - b);
  const residual = budgets.map((b) => gap('resnet56', 'resnet20', b));
  const plain = budgets.map((b) => gap('plain56', 'plain20', b));
  for (let i = 1; i < budgets.length; i++) {
    assert.ok(residual[i] < residual[i - 1], `ResNet gap ${residual}`);
    assert.ok(plain[i] > plain[i - 1], `plain gap ${plain}`);
  }
  assert.ok(residual[0] > 0 && residual.at(-1) < 0, `ResNet-56 behind at the shortest budget, ahead at the longest: ${residual}`);
});

test('degradation.csv and degradation-no-warmup.csv: with the warm-up every ResNet and plain-20 run left chance early, plain-56 did not; without it ResNet-56 was slow to', async () => {
  const { firstEpochBelow } = await import('../dist/index.js');
  const { rows, budget, width } = mainRuns();
  const starts = (rs) => firstEpochBelow(rs).filter((s) => s.width === width && s.budget === budget);
  const withWarmup = starts(rows);
  assert.equal(withWarmup.length, 12, 'the twelve runs of the main comparison');
  for (const s of withWarmup.filter((s) => s.model !== 'plain56'))
    assert.ok(s.epoch !== undefined && s.epoch <= WARMED_UP_BY, `with the warm-up: ${JSON.stringify(s)}`);
  for (const s of withWarmup.filter((s) => s.model === 'plain56'))
    assert.ok(s.epoch > 10, `plain-56 with the warm-up: ${JSON.stringify(s)}`);
  const before = starts(csv('degradation-no-warmup').rows);
  const slowest = Math.max(...before.filter((s) => s.model === 'resnet56').map((s) => s.epoch ?? Infinity));
  assert.ok(slowest >= 10, `without the warm-up the slowest ResNet-56 run left 80% at epoch ${slowest}`);
});

test('degradation.csv: the four nets at three budgets or more, each run complete', () => {
  const { rows, width } = mainRuns();
  const budgets = [...new Set(rows.filter((r) => r.width === width).map((r) => r.budget))];
  assert.ok(budgets.length >= 3, `budgets ${budgets}`);
  for (const b of budgets) {
    for (const m of DEPTH_NETS) {
      const seed0 = rows.filter((r) => r.model === m && r.width === width && r.budget === b && r.seed === 0);
      assert.equal(seed0.length, b, `${m}, budget ${b}, seed 0: one row per epoch`);
    }
  }
});

test('degradation-final.csv: every run of the main comparison, measured as at test time', () => {
  const { main, budget, width } = mainRuns();
  const { cols, rows } = csv('degradation-final');
  assert.deepEqual(cols, ['model', 'width', 'seed', 'budget', 'train_loss', 'train_err', 'test_err']);
  const key = (r) => `${r.model}/${r.seed}`;
  assert.deepEqual(
    rows.map(key).sort(),
    main
      .filter((r) => r.epoch === budget)
      .map(key)
      .sort(),
  );
  for (const r of rows) assert.ok(r.budget === budget && r.width === width && r.train_err > 0 && r.train_err < 1, JSON.stringify(r));
});

test('layer-responses.csv: Fig. 7 on the trained nets: ResNets respond less than their plain twins, the deeper ResNet less still', () => {
  const { cols, rows } = csv('layer-responses');
  assert.deepEqual(cols, ['model', 'width', 'seed', 'layer', 'std']);
  const byNet = {};
  for (const m of DEPTH_NETS) {
    const seeds = [...new Set(rows.filter((r) => r.model === m).map((r) => r.seed))];
    assert.ok(seeds.length >= 3, `${m}: ${seeds.length} seeds`);
    const layers = m.endsWith('20') ? 19 : 55; // the 3×3 layers: the first convolution and two per block
    for (const seed of seeds) assert.equal(rows.filter((r) => r.model === m && r.seed === seed).length, layers, `${m} seed ${seed}`);
    byNet[m] = mean(seeds.map((seed) => mean(rows.filter((r) => r.model === m && r.seed === seed).map((r) => r.std))));
  }
  assert.ok(byNet.resnet20 < byNet.plain20, `ResNet-20 ${byNet.resnet20} vs plain-20 ${byNet.plain20}`);
  assert.ok(byNet.resnet56 < byNet.plain56, `ResNet-56 ${byNet.resnet56} vs plain-56 ${byNet.plain56}`);
  assert.ok(byNet.resnet56 < byNet.resnet20, `ResNet-56 ${byNet.resnet56} vs ResNet-20 ${byNet.resnet20}`);
});

test("constructed.csv: for every seed the constructed nets have plain-8's loss; plain-56 from scratch ends above them", () => {
  const { cols, rows } = csv('constructed');
  assert.deepEqual(cols, ['model', 'width', 'seed', 'budget', 'train_loss', 'train_err', 'test_err']);
  const seeds = [...new Set(rows.map((r) => r.seed))];
  assert.ok(seeds.length >= 3, `${seeds.length} seeds`);
  const at = (m, seed) => rows.find((r) => r.model === m && r.seed === seed);
  for (const seed of seeds) {
    for (const m of ['constructed20', 'constructed56']) {
      assert.ok(Math.abs(at(m, seed).train_loss - at('plain8', seed).train_loss) < 1e-4, `${m}, seed ${seed}`);
      assert.equal(at(m, seed).train_err, at('plain8', seed).train_err, `${m}, seed ${seed}`);
    }
  }
  const scratch = csv('degradation-final').rows;
  const plain56 = mean(scratch.filter((r) => r.model === 'plain56').map((r) => r.train_err));
  assert.ok(
    plain56 > mean(seeds.map((s) => at('constructed56', s).train_err)),
    'plain-56 from scratch ends above the constructed solution',
  );
});

test('cifar10.csv and parity.csv: the runs chapter 5 shows', () => {
  const { cols, rows } = csv('cifar10');
  assert.deepEqual(cols, ['model', 'epoch', 'train_err', 'test_err']);
  assert.deepEqual([...new Set(rows.map((r) => r.model))], ['resnet20']);
  const { cols: pcols, rows: prows } = csv('parity');
  assert.deepEqual(pcols, ['framework', 'init', 'seed', 'epoch', 'train_err', 'test_err', 'n_test']);
  const parity = prows.filter((r) => r.test_err !== '');
  const runs = parity.map((r) => `${r.framework}|${r.init}|${r.seed}`);
  for (const run of ['residual-learning (tfjs wasm)|pytorch|0', 'residual-learning (tfjs wasm)|pytorch|1', 'pytorch (reference)|pytorch|0'])
    assert.ok(runs.includes(run), run);
  assert.equal(new Set(runs).size, runs.length, 'one final row per run');
  for (const r of parity) {
    assert.ok(r.test_err > 0 && r.test_err < 0.9 && r.n_test === 500 && r.epoch === 30, JSON.stringify(r));
    assert.equal(
      prows.filter((p) => p.framework === r.framework && p.init === r.init && p.seed === r.seed).length,
      30,
      'one row per epoch',
    );
  }
  // Issue 4's bar: with the same recipe and initialisation, ours within 3 points of PyTorch's test
  // accuracy. Equal seed numbers do not give the two frameworks equal weights or batches (their random
  // generators differ), so the means over the seeds both sides ran are compared; errors on 500 images
  // come in steps of 0.2 points, compared in tenths of a point.
  const final = (framework) => parity.filter((p) => p.framework === framework && p.init === 'pytorch');
  const ref = new Map(final('pytorch (reference)').map((p) => [p.seed, p.test_err]));
  const pairs = final('residual-learning (tfjs wasm)').filter((p) => ref.has(p.seed));
  assert.ok(pairs.length >= 2, 'at least two seeds on both sides');
  const ours = mean(pairs.map((p) => p.test_err));
  const theirs = mean(pairs.map((p) => ref.get(p.seed)));
  const points = Math.round(Math.abs(ours - theirs) * 1000) / 10;
  assert.ok(points <= 3, `mean test error over seeds ${pairs.map((p) => p.seed)}: ours ${ours}, PyTorch ${theirs}: ${points} points apart`);
});
