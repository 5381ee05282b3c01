// A kernel registered from one project runs a notebook of another: Jupyter starts the registered
// tslab, which hands the kernel to the tslab installed beside the notebook, so the process holds two
// copies of tslab/dist/jupyter.js, only one of them running cells. Displays must go to that one (they
// printed as text when the first copy found was the idle one).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { lib } from './helpers.mjs';

const require = createRequire(import.meta.url);

test('with two tslab copies loaded, displays go to the one whose writer is set', (t) => {
  const idle = '/projects/registered/node_modules/tslab/dist/jupyter.js';
  const running = '/projects/notebook/node_modules/tslab/dist/jupyter.js';
  const sent = [];
  require.cache[idle] = { exports: { lastWriteDisplayData: null } };
  require.cache[running] = { exports: { lastWriteDisplayData: (data, update) => sent.push({ data, update }) } };
  t.after(() => {
    delete require.cache[idle];
    delete require.cache[running];
  });
  assert.equal(lib.insideTslab(), true);
  lib.displayBundle({ 'text/plain': 'hello', 'text/html': '<b>hello</b>' });
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].data.data, { 'text/plain': 'hello', 'text/html': '<b>hello</b>' });
  // Neither copy running a cell: not inside a kernel.
  require.cache[running].exports.lastWriteDisplayData = null;
  assert.equal(lib.insideTslab(), false);
});
