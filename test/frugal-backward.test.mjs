// The backward pass that releases memory as it goes (lib/backend/frugal-backward.ts): tfjs's
// gradients to the last bit, no tensor left behind, a lower peak, second derivatives intact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { lib, ready, tf } from './helpers.mjs';

/** One training step's gradients of a ResNet-20 (fixed weights and batch). */
async function resnetGradients() {
  const model = lib.resnetCifar(20);
  lib.initializeWeights(model, { scheme: 'he', seed: 0 });
  const x = tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
  const variables = model.trainableWeights.map((w) => w.read());
  const [before, buffersBefore] = [tf.memory().numTensors, tf.memory().numDataBuffers];
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), variables);
  const result = { loss: value.dataSync()[0], grads: variables.map((v) => grads[v.name].dataSync()) }; // by position: names differ per model
  tf.dispose([value, ...Object.values(grads)]);
  const leaked = tf.memory().numTensors - before;
  const leakedBuffers = tf.memory().numDataBuffers - buffersBefore; // x and dy kept for dW in the background, then let go
  tf.dispose([x, y]);
  model.dispose();
  return { ...result, leaked, leakedBuffers };
}

// On the threaded wasm backend (two threads or more) ours computes the filter gradients in the background (deferred.ts).
test('a ResNet-20 step: the same gradients as tfjs, to the last bit, and no tensor left', async () => {
  await ready(); // installs it
  const ours = await resnetGradients();
  lib.uninstallFrugalBackward();
  let theirs;
  try {
    theirs = await resnetGradients();
  } finally {
    lib.installFrugalBackward();
  }
  assert.equal(ours.loss, theirs.loss);
  assert.equal(ours.grads.length, theirs.grads.length);
  theirs.grads.forEach((g, i) => assert.deepEqual(ours.grads[i], g, `gradient of weight ${i}`));
  assert.equal(ours.leaked, 0);
  assert.equal(theirs.leaked, 0);
  assert.equal(ours.leakedBuffers, 0);
});

/** The wasm heap (its high-water mark: it never shrinks) after one batch-64 ResNet-20 step, in a fresh process. */
function heapAfterStep(frugal) {
  const code = `
    const lib = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    const { tf } = lib;
    await lib.useBestBackend({ prefer: 'wasm', threads: 1, verbose: false });
    if (!${frugal}) lib.uninstallFrugalBackward();
    const model = lib.resnetCifar(20);
    const x = tf.randomNormal([64, 32, 32, 3]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })));
    tf.dispose([value, ...Object.values(grads)]);
    console.log(tf.backend().wasm.HEAPU8.buffer.byteLength);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim().split('\n').at(-1));
}

test('the wasm heap after a training step is much smaller: the backward pass no longer holds every gradient', () => {
  const ours = heapAfterStep(true);
  const theirs = heapAfterStep(false);
  assert.ok(ours < 0.8 * theirs, `wasm heap ${ours} bytes, with tfjs's backward pass ${theirs}`);
});

test('second derivatives, a given dy and an optimiser still work as in tfjs', async () => {
  await ready();
  const x = tf.tensor1d([-1, 0.5, 2]);
  const d2 = tf.grad(tf.grad((v) => tf.pow(v, 3)))(x); // 6x
  assert.deepEqual([...d2.dataSync()], [-6, 3, 12]);
  const dy = tf.tensor1d([1, 2, 3]);
  const g = tf.grad((v) => tf.relu(tf.mul(v, 2)))(x, dy);
  assert.deepEqual([...g.dataSync()], [0, 4, 6]);
  assert.equal(dy.isDisposed, false, "the caller's dy is the caller's");
  const w = tf.variable(tf.scalar(3));
  const sgd = tf.train.sgd(0.1);
  const before = tf.memory().numTensors;
  sgd.minimize(() => tf.square(w)); // w ← w − 0.1·2w
  assert.ok(Math.abs(w.dataSync()[0] - 2.4) < 1e-6);
  assert.equal(tf.memory().numTensors, before, 'minimize leaves no tensor');
  tf.dispose([x, d2, dy, g, w]);
  sgd.dispose();
});

test("model.fit (tfjs-layers' own training loop) gives tfjs's losses to the last bit", async () => {
  await ready();
  const fit = async () => {
    const model = lib.resnetCifar(8);
    lib.initializeWeights(model, { scheme: 'he', seed: 3 });
    model.compile({ optimizer: tf.train.momentum(0.05, 0.9), loss: 'categoricalCrossentropy' });
    const x = tf.randomNormal([32, 32, 32, 3], 0, 1, 'float32', 7);
    const y = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 32 }, (_, i) => i % 10),
        'int32',
      ),
      10,
    );
    const h = await model.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
    model.dispose();
    return h.history.loss;
  };
  const ours = await fit();
  lib.uninstallFrugalBackward();
  try {
    assert.deepEqual(ours, await fit());
  } finally {
    lib.installFrugalBackward();
  }
});

/** Counts the input gradients the native kernels compute (each starts with its filter's swap_filter) while `f` runs. */
async function countInputGradients(f) {
  const { NativeConv } = await import('../dist/backend/native-conv.js');
  const run = NativeConv.prototype.run;
  let count = 0;
  NativeConv.prototype.run = function (jobs) {
    count += jobs.filter((j) => j.fn === 'swap_filter').length;
    return run.call(this, jobs);
  };
  try {
    const result = f();
    return { result, count };
  } finally {
    NativeConv.prototype.run = run;
  }
}

test("a convolution's input gradient is computed when read: never for the image under the first layer; the image's, when asked for, is tfjs's", async () => {
  await ready();
  if (tf.getBackend() !== 'wasm') return; // the native kernels are the wasm backend's
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 8, kernelSize: 3, padding: 'same', useBias: false }),
      tf.layers.reLU(),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }),
      tf.layers.globalAveragePooling2d({}),
    ],
  });
  const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2);
  const loss = (input) => tf.sum(tf.square(model.apply(input)));
  const buffersBefore = tf.memory().numDataBuffers;
  const weights = await countInputGradients(() => tf.variableGrads(() => loss(x)));
  const { value, grads } = weights.result;
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(weights.count, 1, 'only the second layer needs the gradient of its input');
  assert.equal(tf.memory().numDataBuffers, buffersBefore, 'the unread gradient and what it would have read are let go');
  const ours = tf.grad(loss)(x);
  lib.uninstallFrugalBackward();
  let theirs;
  try {
    theirs = tf.grad(loss)(x);
    const all = await countInputGradients(() => tf.variableGrads(() => loss(x)));
    tf.dispose([all.result.value, ...Object.values(all.result.grads)]);
    assert.equal(all.count, 2, "tfjs's own pass computes both (the test would see a change)");
  } finally {
    lib.installFrugalBackward();
  }
  assert.deepEqual(ours.dataSync(), theirs.dataSync());
  tf.dispose([x, ours, theirs]);
  model.dispose();
});

test('a pending result read inside a gradient function (by a kernel, by dataSync) is finished first', async () => {
  await ready();
  const filter = tf.randomNormal([3, 3, 4, 8], 0, 1, 'float32', 4);
  const dy = tf.randomNormal([2, 6, 6, 8], 0, 1, 'float32', 5);
  const expected = tf.conv2dTranspose(dy, filter, [2, 6, 6, 4], 1, 'same');
  let read;
  const f = tf.customGrad((x, save) => ({
    value: tf.mul(x, 1),
    gradFunc: () => {
      const dx = tf.conv2dTranspose(dy, filter, [2, 6, 6, 4], 1, 'same'); // may be pending here
      read = dx.dataSync().slice();
      return tf.mul(dx, 2);
    },
  }));
  const g = tf.grad((x) => tf.sum(f(x)))(tf.zeros([2, 6, 6, 4]));
  assert.deepEqual(read, expected.dataSync());
  assert.deepEqual(g.dataSync(), tf.mul(expected, 2).dataSync());
  tf.dispose([filter, dy, expected, g]);
});

test('a filter gradient nobody asked for (the filter not trained) is let go safely, whatever thread computes it', async () => {
  await ready();
  const filter = tf.randomNormal([3, 3, 8, 8], 0, 1, 'float32', 6);
  const x = tf.randomNormal([8, 16, 16, 8], 0, 1, 'float32', 7);
  const [tensors, buffers] = [tf.memory().numTensors, tf.memory().numDataBuffers];
  // tfjs's fused convolution computes dW with dx, here unread and disposed by the backward pass.
  const dx = tf.grad((input) => tf.sum(tf.fused.conv2d({ x: input, filter, strides: 1, pad: 'same' })))(x);
  const expected = tf.tidy(() => tf.conv2dTranspose(tf.ones([8, 16, 16, 8]), filter, x.shape, 1, 'same'));
  assert.deepEqual(dx.dataSync(), expected.dataSync());
  tf.dispose([dx, expected]);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.memory().numDataBuffers, buffers);
  tf.dispose([filter, x]);
});

test("on two threads, a training step's forward kernels run in the background while the JavaScript goes on", async () => {
  await ready();
  const { NativeConv } = await import('../dist/backend/native-conv.js');
  const model = lib.resnetCifar(8);
  const x = tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 8);
  const started = new Set();
  const runInBackground = NativeConv.prototype.runInBackground;
  NativeConv.prototype.runInBackground = function (job, chunks) {
    const slot = runInBackground.call(this, job, chunks);
    if (slot !== undefined) started.add(job.fn);
    return slot;
  };
  try {
    const { value, grads } = tf.variableGrads(() => tf.mean(model.apply(x, { training: true })));
    tf.dispose([value, ...Object.values(grads)]);
  } finally {
    NativeConv.prototype.runInBackground = runInBackground;
  }
  tf.dispose(x);
  model.dispose();
  if (!started.has('conv_filter_grad_winograd')) return assert.equal(started.size, 0); // one thread: nothing in the background
  // (ReLU and F(x) + x run inside batch norm's channel_affine: pending-affine.test.mjs.)
  for (const fn of ['conv2d_winograd', 'channel_affine']) assert.ok(started.has(fn), `${fn} in the background (started: ${[...started]})`);
});

test('outside a training step (inference) a convolution is still split over the threads, one share each', async () => {
  await ready();
  const { NativeConv } = await import('../dist/backend/native-conv.js');
  const x = tf.randomNormal([4, 16, 16, 8], 0, 1, 'float32', 9);
  const filter = tf.randomNormal([3, 3, 8, 8], 0, 1, 'float32', 10);
  const shares = [];
  const { run, runChunked } = NativeConv.prototype;
  NativeConv.prototype.run = function (jobs) {
    if (jobs[0]?.fn === 'conv2d_winograd') shares.push({ jobs: jobs.length, threads: this.threads });
    return run.call(this, jobs);
  };
  NativeConv.prototype.runChunked = function (job, chunks) {
    if (job.fn === 'conv2d_winograd') shares.push({ chunked: chunks.count });
    return runChunked.call(this, job, chunks);
  };
  try {
    tf.dispose(tf.conv2d(x, filter, 1, 'same'));
  } finally {
    Object.assign(NativeConv.prototype, { run, runChunked });
  }
  tf.dispose([x, filter]);
  if (tf.getBackend() !== 'wasm') return;
  assert.equal(shares.length, 1, JSON.stringify(shares));
  assert.equal(shares[0].jobs, Math.min(shares[0].threads, 4), JSON.stringify(shares));
});
