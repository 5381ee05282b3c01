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
  return { cols, rows: lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], /^-?[\d.e-]+$/.test(v) ? Number(v) : v]))) };
}
const lastOf = (rows, model) => rows.filter((r) => r.model === model).at(-1);

test('degradation.csv: four nets, one row per model and epoch; deeper plain trains worse, residual beats plain', () => {
  const { cols, rows } = csv('degradation');
  assert.deepEqual(cols, ['model', 'epoch', 'train_err', 'test_err']);
  const models = ['plain20', 'plain56', 'resnet20', 'resnet56'];
  assert.deepEqual([...new Set(rows.map((r) => r.model))], models);
  const epochs = rows.filter((r) => r.model === 'plain20').map((r) => r.epoch);
  for (const m of models) assert.deepEqual(rows.filter((r) => r.model === m).map((r) => r.epoch), epochs, m);
  const train = Object.fromEntries(models.map((m) => [m, lastOf(rows, m).train_err]));
  assert.ok(train.plain56 > train.plain20, `plain-56 ${train.plain56} vs plain-20 ${train.plain20}`);
  assert.ok(train.resnet20 < train.plain20, `ResNet-20 ${train.resnet20} vs plain-20 ${train.plain20}`);
  assert.ok(train.resnet56 < train.plain56, `ResNet-56 ${train.resnet56} vs plain-56 ${train.plain56}`);
});

test('degradation-budgets.csv: at every budget the deeper plain net trains worse and each ResNet beats its plain twin; the gaps grow with the budget', () => {
  const { cols, rows } = csv('degradation-budgets');
  assert.deepEqual(cols, ['model', 'epochs', 'train_err_running', 'train_loss', 'train_err', 'test_err']);
  const budgets = [...new Set(rows.map((r) => r.epochs))].sort((a, b) => a - b);
  assert.ok(budgets.length >= 2, 'at least two budgets to compare');
  const err = (m, e) => rows.find((r) => r.model === m && r.epochs === e).train_err;
  for (const e of budgets) {
    assert.ok(err('plain56', e) > err('plain20', e), `budget ${e}: plain-56 above plain-20`);
    assert.ok(err('resnet20', e) < err('plain20', e) && err('resnet56', e) < err('plain56', e), `budget ${e}: ResNets below their plain twins`);
  }
  const [lo, hi] = [budgets[0], budgets.at(-1)];
  assert.ok(err('plain56', hi) - err('plain20', hi) > err('plain56', lo) - err('plain20', lo), 'the degradation gap grows with the budget');
  assert.ok(err('plain56', hi) - err('resnet56', hi) > err('plain56', lo) - err('resnet56', lo), 'the shortcut advantage at 56 layers grows with the budget');
  // degradation-final.csv holds the largest budget's run, as degradation.csv.
  const final = csv('degradation-final').rows;
  for (const r of final) assert.equal(r.train_err, err(r.model, r.epochs), r.model);
  assert.equal(Math.max(...csv('degradation').rows.map((r) => r.epoch)), final[0].epochs);
});

test('constructed.csv: the constructed nets have plain-8\'s loss exactly; the deep plain net from scratch trains worse', () => {
  const { cols, rows } = csv('constructed');
  assert.deepEqual(cols, ['model', 'budget', 'epoch', 'measured', 'train_loss', 'train_err', 'test_err']);
  const budgets = [...new Set(rows.map((r) => r.budget))].sort((a, b) => a - b);
  for (const b of budgets) {
    const at = (m) => rows.find((r) => r.model === m && r.budget === b && r.measured === 'inference');
    for (const m of ['constructed20', 'constructed56']) {
      assert.ok(Math.abs(at(m).train_loss - at('plain8').train_loss) < 1e-5, `${m}, budget ${b}`);
      assert.equal(at(m).train_err, at('plain8').train_err, `${m}, budget ${b}`);
    }
    assert.ok(at('plain20').train_err > at('constructed20').train_err, `budget ${b}: plain-20 from scratch ends above the constructed solution`);
    assert.ok(at('plain56').train_err > at('constructed56').train_err, `budget ${b}: plain-56 from scratch ends above the constructed solution`);
    assert.equal(rows.filter((r) => r.model === 'plain8' && r.budget === b && r.measured === 'during training').length, b, 'one row per epoch of plain-8');
  }
  // With the largest budget, ResNet-20 finds a solution at least as good as the constructed one (chapter 3).
  const top = budgets.at(-1);
  const atTop = (m) => rows.find((r) => r.model === m && r.budget === top && r.measured === 'inference');
  assert.ok(atTop('resnet20').train_err <= atTop('constructed20').train_err && atTop('resnet20').train_loss <= atTop('constructed20').train_loss, 'ResNet-20 reaches the constructed solution');
});

test('cifar10.csv and parity.csv: the runs chapter 5 shows', () => {
  const { cols, rows } = csv('cifar10');
  assert.deepEqual(cols, ['model', 'epoch', 'train_err', 'test_err']);
  assert.deepEqual([...new Set(rows.map((r) => r.model))], ['resnet20']);
  const { cols: pcols, rows: prows } = csv('parity');
  assert.deepEqual(pcols, ['framework', 'init', 'seed', 'epoch', 'train_err', 'test_err', 'n_test']);
  const parity = prows.filter((r) => r.test_err !== '');
  const runs = parity.map((r) => `${r.framework}|${r.init}|${r.seed}`);
  for (const run of ['residual-learning (tfjs wasm)|pytorch|0', 'residual-learning (tfjs wasm)|pytorch|1', 'pytorch (reference)|pytorch|0']) assert.ok(runs.includes(run), run);
  assert.equal(new Set(runs).size, runs.length, 'one final row per run');
  for (const r of parity) {
    assert.ok(r.test_err > 0 && r.test_err < 0.9 && r.n_test === 500 && r.epoch === 30, JSON.stringify(r));
    assert.equal(prows.filter((p) => p.framework === r.framework && p.init === r.init && p.seed === r.seed).length, 30, 'one row per epoch');
  }
  // Issue 4's bar: with the same recipe and initialisation, ours within 3 points of PyTorch's test
  // accuracy. Equal seed numbers do not give the two frameworks equal weights or batches (their random
  // generators differ), so the means over the seeds both sides ran are compared; errors on 500 images
  // come in steps of 0.2 points, compared in tenths of a point.
  const final = (framework) => parity.filter((p) => p.framework === framework && p.init === 'pytorch');
  const ref = new Map(final('pytorch (reference)').map((p) => [p.seed, p.test_err]));
  const pairs = final('residual-learning (tfjs wasm)').filter((p) => ref.has(p.seed));
  assert.ok(pairs.length >= 2, 'at least two seeds on both sides');
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ours = mean(pairs.map((p) => p.test_err));
  const theirs = mean(pairs.map((p) => ref.get(p.seed)));
  const points = Math.round(Math.abs(ours - theirs) * 1000) / 10;
  assert.ok(points <= 3, `mean test error over seeds ${pairs.map((p) => p.seed)}: ours ${ours}, PyTorch ${theirs}: ${points} points apart`);
});
