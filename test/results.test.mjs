import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pl from 'nodejs-polars';
import { lib } from './helpers.mjs';

const { resultsFile, writeResults, readResults, UsageError } = lib;

describe('results/ CSV files', () => {
  const root = mkdtempSync(join(tmpdir(), 'results-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const saved = process.env.RESIDUAL_QUICK;
  after(() => (saved === undefined ? delete process.env.RESIDUAL_QUICK : (process.env.RESIDUAL_QUICK = saved)));

  test('write then read a long-format table; nothing half-written is left', async () => {
    delete process.env.RESIDUAL_QUICK;
    const df = pl.DataFrame({
      model: ['plain20', 'plain20', 'resnet20'],
      epoch: [1, 2, 1],
      train_err: [0.9, 0.8, 0.85],
      test_err: [0.91, 0.82, 0.86],
    });
    const file = await writeResults('degradation', df, root);
    assert.equal(file, join(root, 'results', 'degradation.csv'));
    assert.equal(readFileSync(file, 'utf8').split('\n')[0], 'model,epoch,train_err,test_err');
    const back = readResults('degradation', root);
    assert.deepEqual(back.getColumn('model').toArray(), ['plain20', 'plain20', 'resnet20']);
    assert.deepEqual(back.getColumn('test_err').toArray(), [0.91, 0.82, 0.86]);
    assert.deepEqual(readdirSync(join(root, 'results')), ['degradation.csv']);
  });

  test('quick runs go to results/quick/, never over the real results', async () => {
    process.env.RESIDUAL_QUICK = '1';
    const file = await writeResults('degradation', pl.DataFrame({ model: ['x'], epoch: [1] }), root);
    assert.equal(file, join(root, 'results', 'quick', 'degradation.csv'));
    delete process.env.RESIDUAL_QUICK;
    assert.equal(readResults('degradation', root).height, 3, 'the full results are untouched');
    assert.equal(readResults('constructed', root), undefined);
  });

  test('in quick mode, reading falls back to the committed results when no quick run wrote them', () => {
    process.env.RESIDUAL_QUICK = '1';
    try {
      assert.equal(readResults('degradation', root).height, 1, 'the quick file first');
      rmSync(join(root, 'results', 'quick', 'degradation.csv'));
      assert.equal(readResults('degradation', root).height, 3, 'then the committed one');
      assert.equal(readResults('constructed', root), undefined);
    } finally {
      delete process.env.RESIDUAL_QUICK;
    }
  });

  test('mergeResults replaces the rows of the same key and keeps the others', async () => {
    delete process.env.RESIDUAL_QUICK;
    const budget = (epochs, errs) => pl.DataFrame({ model: ['plain20', 'resnet20'], epochs: [epochs, epochs], train_err: errs });
    await lib.mergeResults('budgets', budget(4, [0.6, 0.55]), ['model', 'epochs'], root);
    await lib.mergeResults('budgets', budget(12, [0.5, 0.4]), ['model', 'epochs'], root);
    const file = await lib.mergeResults('budgets', budget(12, [0.45, 0.35]), ['model', 'epochs'], root);
    assert.equal(
      readFileSync(file, 'utf8').trim(),
      'model,epochs,train_err\nplain20,4,0.6\nresnet20,4,0.55\nplain20,12,0.45\nresnet20,12,0.35',
    );
    await assert.rejects(
      lib.mergeResults('budgets', pl.DataFrame({ model: ['x'], epochs: [1] }), ['model', 'epochs'], root),
      /budgets\.csv has the columns model,epochs,train_err, not model,epochs/,
    );
    await assert.rejects(lib.mergeResults('budgets', budget(1, [0, 0]), ['seed'], root), /key column 'seed' is not in the table/);
    assert.equal(readResults('budgets', root).height, 4, 'a refused merge leaves the file as it was');
  });

  test('a bad name is refused', () => {
    assert.throws(
      () => resultsFile('../x'),
      (e) => e instanceof UsageError && /results name '..\/x'/.test(e.message),
    );
    assert.ok(!existsSync(join(root, 'x.csv')));
  });
});
