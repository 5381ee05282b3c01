#!/usr/bin/env node
// Per-kernel time of one ResNet training step on the wasm backend (what to optimise next).
//   node scripts/dev/profile-wasm-step.mjs [--depth 20] [--batch 128] [--steps 2] [--threads] [--infer] [--shapes Multiply,Sum]
// --infer: an inference step (model.predict) instead of a training step.
// Kernels called from inside other kernels (the training kernels compose Conv2D, Transpose, …)
// are listed indented in parentheses; their time is included in their caller's.
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import * as lib from '../../dist/index.js';

const { tf } = lib;
const { values: a } = parseArgs({
  options: {
    depth: { type: 'string', default: '20' },
    batch: { type: 'string', default: '128' },
    steps: { type: 'string', default: '2' },
    threads: { type: 'boolean', default: false },
    shapes: { type: 'string', default: '' },
    infer: { type: 'boolean', default: false },
  },
});
const [depth, batch, steps] = [Number(a.depth), Number(a.batch), Number(a.steps)];
const byShape = new Set(a.shapes.split(',').filter(Boolean));

createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
if (a.threads) lib.useWasmThreads();
lib.registerWasmTrainingKernels();
lib.installLeanBackward(); // as useBestBackend does: ReLU's gradient from its output, the frugal backward pass
await tf.setBackend('wasm');
console.log(`wasm, ${lib.wasmThreadsCount()} thread(s), resnet${depth}, batch ${batch}`);

const times = new Map();
let depthNow = 0;
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  k.kernelFunc = (args) => {
    depthNow++;
    const t0 = performance.now();
    try {
      return f(args);
    } finally {
      depthNow--;
      let name = k.kernelName;
      if (byShape.has(name)) name += JSON.stringify(Object.values(args.inputs).map((t) => t?.shape));
      if (depthNow > 0) name = `  (${name})`;
      const e = times.get(name) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      times.set(name, e);
    }
  };
}

const model = lib.resnetCifar(depth);
// The step `train` runs and the bench times: trainStep with SgdMomentum (momentum 0.9, weight decay 1e-4).
const opt = new lib.SgdMomentum({ momentum: 0.9, weightDecay: 1e-4 });
const x = tf.randomNormal([batch, 32, 32, 3]);
const y = tf.randomUniform([batch], 0, 10, 'int32');
const trainStep = () => {
  const { loss, correct } = lib.trainStep(model, opt, x, y, 0.1);
  loss.dataSync();
  tf.dispose([loss, correct]);
};
const inferStep = () => {
  const out = model.predict(x, { batchSize: batch });
  out.dataSync();
  out.dispose();
};
const step = a.infer ? inferStep : trainStep;
// Two untimed steps, as the bench takes: the first makes the optimizer's slots, and the heap keeps
// growing into the second (first writes to fresh wasm pages cost page faults).
step();
step();
times.clear();
const tensors = tf.memory().numTensors;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const ms = (performance.now() - t0) / steps;
console.log(`${ms.toFixed(0)} ms/step, ${((batch * 1000) / ms).toFixed(1)} img/s; tensors ${tensors} → ${tf.memory().numTensors}`);
const rows = [...times.entries()].sort((p, q) => q[1].ms - p[1].ms);
const top = rows.filter(([n]) => !n.startsWith(' ')).reduce((s, [, e]) => s + e.ms, 0);
console.log(`time in kernels: ${(top / steps).toFixed(0)} ms/step`);
for (const [name, e] of rows.slice(0, 30)) {
  console.log(`${name.padEnd(44)} ${(e.ms / steps).toFixed(1).padStart(8)} ms ${String(e.calls / steps).padStart(5)} calls`);
}
