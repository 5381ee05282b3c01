#!/usr/bin/env node
// Benchmark: time to build one augmented, shuffled 128-image batch (CIFAR-10 pipeline).
// usage: node scripts/dev/bench-batches.mjs [DATA_DIR]   (after `npx tsc -p .`; default: the course's data)
import { loadCifar10Split, channelStats, batches, findCifar10 } from '../../dist/index.js';

const dir = process.argv[2] ?? findCifar10().dir;
const t0 = performance.now();
const train = await loadCifar10Split(dir, 'train');
const t1 = performance.now();
const stats = channelStats(train);
const t2 = performance.now();
console.log(`load ${train.n} images: ${(t1 - t0).toFixed(0)} ms; channel stats: ${(t2 - t1).toFixed(1)} ms`);
for (const augment of [false, true]) {
  let count = 0;
  let ms = 0;
  for (let epoch = 0; epoch < 3; epoch++) {
    const it = batches(train, { batchSize: 128, stats, shuffle: true, augment, seed: 1, epoch, dropLast: true });
    for (;;) {
      const s = performance.now();
      const r = it.next();
      const e = performance.now();
      if (r.done) break;
      if (epoch > 0) {
        ms += e - s;
        count++;
      } // epoch 0 warms up the JIT
    }
  }
  console.log(`batch of 128 (augment ${augment}): ${(ms / count).toFixed(3)} ms mean over ${count} batches`);
}
