// Batch norm's output computed by the pass that reads it (lib/backend/pending-affine.ts): in a
// training step a ReLU, or F(x) + x and the ReLU after it, take the affine map into their own
// pass, and the batch norm's output is never written unless something else reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lib, ready, tf } from './helpers.mjs';

const { batchNormTraining } = await import('../dist/model/batch-norm.js');
const { NativeConv } = await import('../dist/backend/native-conv.js');

/** The channel_affine passes `f` runs (also those in the background), as { relu, sum }; and whether any runs relu alone. */
function affinePasses(f) {
  const passes = [];
  const { runChunked, runInBackground } = NativeConv.prototype;
  const record = (job) => {
    if (job.fn === 'channel_affine') passes.push({ relu: job.args[9] === 1, sum: job.args[4] !== 0 });
    if (job.fn === 'relu') passes.push({ reluAlone: true });
  };
  NativeConv.prototype.runChunked = function (job, chunks) {
    record(job);
    return runChunked.call(this, job, chunks);
  };
  NativeConv.prototype.runInBackground = function (job, chunks) {
    const slot = runInBackground.call(this, job, chunks);
    if (slot !== undefined) record(job);
    return slot;
  };
  try {
    f();
  } finally {
    Object.assign(NativeConv.prototype, { runChunked, runInBackground });
  }
  return passes;
}

const count = (passes, want) => passes.filter((p) => Object.entries(want).every(([k, v]) => p[k] === v)).length;

test('a ResNet-8 training step: batch norm outputs are computed in the pass of the ReLU or F(x) + x that reads them', async () => {
  await ready();
  if (tf.getBackend() !== 'wasm') return;
  // A stem conv → BN → ReLU, then 3 blocks: conv → BN → ReLU → conv → BN → + s → ReLU, where s is x,
  // or at the two stride-2 blocks a projection conv → BN (§3.3, option B).
  const model = lib.resnetCifar(8);
  const x = tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 1);
  const [tensors, buffers] = [tf.memory().numTensors, tf.memory().numDataBuffers];
  const passes = affinePasses(() => {
    const { value, grads } = tf.variableGrads(() => tf.mean(model.apply(x, { training: true })));
    tf.dispose([value, ...Object.values(grads)]);
  });
  assert.equal(count(passes, { relu: true, sum: false }), 4, JSON.stringify(passes)); // BN → ReLU
  assert.equal(count(passes, { relu: true, sum: true }), 3, JSON.stringify(passes)); // BN → + x → ReLU
  // Of an addition of two batch norm outputs (a projection shortcut's and F(x)), one is written.
  assert.equal(count(passes, { relu: false, sum: false }), 2, JSON.stringify(passes));
  assert.equal(count(passes, { relu: false, sum: true }), 0, JSON.stringify(passes));
  assert.equal(count(passes, { reluAlone: true }), 0, 'no ReLU pass of its own');
  assert.deepEqual([tf.memory().numTensors, tf.memory().numDataBuffers], [tensors, buffers], 'no tensor or buffer left');
  // Outside a training step (inference) the passes are separate.
  const inference = affinePasses(() => tf.dispose(model.predict(x)));
  assert.ok(count(inference, { relu: false, sum: false }) >= 7, JSON.stringify(inference));
  tf.dispose(x);
  model.dispose();
});

/** [BN(x), relu(BN(x)), BN(x) + relu(BN(x)), relu(BN(x) + s)] and the gradients of a loss of them, in a training step or not. */
function bnGraph(x, gamma, beta, s, inStep) {
  const parts = () => {
    const { y, mean, variance } = batchNormTraining(x, gamma, beta, 1e-3);
    tf.dispose([mean, variance]);
    const r = tf.relu(y);
    return [y, r, tf.add(y, r), tf.relu(tf.add(y, s))];
  };
  if (!inStep) return { outputs: tf.tidy(parts).map((t) => t.dataSync()) };
  let kept;
  const { value, grads } = tf.variableGrads(() => {
    const outputs = parts();
    kept = outputs.map((t) => tf.keep(t)); // read after the step: each then computed
    return tf.addN(outputs.map((t, i) => tf.sum(tf.mul(t, i + 1))));
  });
  const result = {
    outputs: kept.map((t) => t.dataSync()),
    loss: value.dataSync()[0],
    grads: [gamma, beta].map((v) => grads[v.name].dataSync()),
  };
  tf.dispose([value, ...Object.values(grads), ...kept]);
  return result;
}

test('a batch norm output read by other kernels too, or after the step, has the floats of the separate passes', async () => {
  await ready();
  const x = tf.randomNormal([4, 8, 8, 16], 0, 1, 'float32', 2);
  const s = tf.randomNormal([4, 8, 8, 16], 0, 1, 'float32', 3);
  const gamma = tf.variable(tf.randomUniform([16], 0.5, 1.5, 'float32', 4), true, 'pending_affine_gamma');
  const beta = tf.variable(tf.randomNormal([16], 0, 0.1, 'float32', 5), true, 'pending_affine_beta');
  const [tensors, buffers] = [tf.memory().numTensors, tf.memory().numDataBuffers];
  const step = bnGraph(x, gamma, beta, s, true);
  assert.deepEqual([tf.memory().numTensors, tf.memory().numDataBuffers], [tensors, buffers], 'no tensor or buffer left');
  const apart = bnGraph(x, gamma, beta, s, false);
  step.outputs.forEach((o, i) => assert.deepEqual(o, apart.outputs[i], `output ${i}`));
  lib.uninstallFrugalBackward(); // tfjs's own backward pass: nothing pending, every pass separate
  let theirs;
  try {
    theirs = bnGraph(x, gamma, beta, s, true);
  } finally {
    lib.installFrugalBackward();
  }
  assert.equal(step.loss, theirs.loss);
  step.grads.forEach((g, i) => assert.deepEqual(g, theirs.grads[i], `gradient ${i}`));
  tf.dispose([x, s, gamma, beta]);
});
