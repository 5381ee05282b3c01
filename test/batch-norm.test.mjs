// The fused batch-norm layer (lib/model/batch-norm.ts) against tfjs's own layer, on cpu and wasm.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, test } from 'node:test';
import { assertClose, lib, tf } from './helpers.mjs';

const { batchNormalization, BatchNormalization, registerWasmTrainingKernels } = lib;

before(() => {
  createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
  registerWasmTrainingKernels();
});

function values(n, seed, scale = 1, offset = 0) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + scale * (s / 2 ** 31 - 1);
  }
  return out;
}

/** One training-mode pass of a layer on x: output, gradients of Σ y·w for x, γ, β, and the moving statistics after it. */
function trainingPass(layer, shape) {
  const c = shape[3];
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(values(n, 7, 3, 0.5), shape);
  const w = tf.tensor4d(values(n, 11), shape);
  layer.build(shape);
  layer.setWeights([tf.tensor1d(values(c, 3, 0.5, 1)), tf.tensor1d(values(c, 5, 0.2)), tf.zeros([c]), tf.ones([c])]);
  const [gamma, beta] = layer.trainableWeights.map((v) => v.read());
  const f = (xx, g, b) => {
    const y = layer.apply(xx, { training: true });
    return tf.sum(tf.mul(y, w));
  };
  const y = tf.tidy(() => layer.apply(x, { training: true }));
  const grads = tf.grads(f)([x, gamma, beta]);
  const out = {
    y: Array.from(y.dataSync()),
    dx: Array.from(grads[0].dataSync()),
    dgamma: Array.from(grads[1].dataSync()),
    dbeta: Array.from(grads[2].dataSync()),
    movingMean: Array.from(layer.getWeights()[2].dataSync()),
    movingVariance: Array.from(layer.getWeights()[3].dataSync()),
  };
  tf.dispose([x, w, y, ...grads]);
  return out;
}

describe('fused batch norm equals tfjs batch norm in training mode', () => {
  for (const backend of ['cpu', 'wasm']) {
    // Channels 6 = 4 + 2 (the native kernels' scalar tail); [3, 9, 10, 12]: 270 rows, several of their blocks.
    for (const shape of [
      [4, 5, 3, 6],
      [2, 8, 8, 16],
      [3, 9, 10, 12],
    ]) {
      test(`${backend}, x [${shape}]: output, ∂x, ∂γ, ∂β and the moving mean; moving variance unbiased`, async () => {
        assert.ok(await tf.setBackend(backend));
        const args = { axis: -1, momentum: 0.9, epsilon: 1e-5 };
        const ours = trainingPass(batchNormalization(args), shape);
        const stock = trainingPass(tf.layers.batchNormalization(args), shape);
        for (const k of ['y', 'dx', 'dgamma', 'dbeta', 'movingMean']) assertClose(ours[k], stock[k], 1e-4, k);
        // Both layers updated twice (the pass for y and the one for the gradients).
        const m = shape[0] * shape[1] * shape[2];
        const r = m / (m - 1);
        // stock: v1 = .9 + .1 var, v2 = .9 v1 + .1 var; ours the same with var·r.
        const unbiasedFromStock = stock.movingVariance.map((v2) => {
          const variance = (v2 - 0.81) / (0.1 * 0.9 + 0.1);
          return 0.81 + (0.1 * 0.9 + 0.1) * variance * r;
        });
        assertClose(ours.movingVariance, unbiasedFromStock, 1e-5, 'moving variance');
        assert.ok(
          ours.movingVariance.some((v, i) => Math.abs(v - stock.movingVariance[i]) > 1e-6),
          'the unbiased update differs from the biased one',
        );
      });
    }
  }

  test("on wasm the training pass runs on the backend's batch-norm kernels (moments, gradient, running statistics)", async () => {
    assert.ok(await tf.setBackend('wasm'));
    const layer = batchNormalization({ axis: -1 });
    const profile = await tf.profile(() => trainingPass(layer, [2, 4, 4, 8]));
    const names = new Set(profile.kernels.map((k) => k.name));
    for (const name of [lib.BATCH_NORM_MOMENTS, lib.BATCH_NORM_GRAD, lib.MOVING_AVERAGE]) assert.ok(names.has(name), `${name} ran`);
    assert.ok(!names.has('Square'), 'no tf.moments');
  });

  test("inference is tfjs's; training leaks no tensor; the layer saves as a standard BatchNormalization and loads as ours", async () => {
    assert.ok(await tf.setBackend('cpu'));
    const input = tf.input({ shape: [4, 4, 3] });
    const model = tf.model({ inputs: input, outputs: batchNormalization({ name: 'bn' }).apply(input) });
    const x = tf.tensor4d(values(2 * 48, 1, 2), [2, 4, 4, 3]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const g = tf.grads((xx) => tf.sum(model.layers[1].apply(xx, { training: true })))([x]);
      tf.dispose(g);
    }
    assert.equal(tf.memory().numTensors, before, 'tensor count after three training passes');
    const json = model.toJSON(null, false);
    assert.equal(json.config.layers[1].class_name, 'BatchNormalization');
    const artifacts = {};
    await model.save({
      save: async (a) => {
        Object.assign(artifacts, a);
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      },
    });
    const loaded = await tf.loadLayersModel({ load: async () => artifacts });
    assert.ok(loaded.layers[1] instanceof BatchNormalization, 'loaded as the fused layer');
    const stock = tf.layers.batchNormalization({});
    const y1 = model.predict(x);
    const y2 = loaded.predict(x);
    assertClose(Array.from(y2.dataSync()), Array.from(y1.dataSync()), 1e-6, 'loaded model prediction');
    tf.dispose([x, y1, y2]);
    assert.ok(!(stock instanceof BatchNormalization), "tf.layers.batchNormalization stays tfjs's own");
  });
});
