// The wasm backend's training kernels (lib/backend/kernels/) against the cpu backend.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, test } from 'node:test';
import { lib, tf } from './helpers.mjs';

const { registerWasmTrainingKernels, WASM_TRAINING_KERNELS, resnetCifar } = lib;

before(async () => {
  createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
  registerWasmTrainingKernels();
  registerWasmTrainingKernels(); // idempotent
  assert.ok(await tf.setBackend('wasm'), 'the wasm backend starts');
});

/** Deterministic pseudo-random values in [-1, 1). */
function values(n, seed) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const size = (shape) => shape.reduce((a, b) => a * b, 1);

/** Run f on a backend and return its results as plain arrays (tensors disposed). */
async function on(backend, f) {
  assert.ok(await tf.setBackend(backend));
  const out = tf.tidy(() => f().map((t) => ({ shape: t.shape, data: Array.from(t.dataSync()) })));
  await tf.setBackend('wasm');
  return out;
}

/** max |a − e| / max |e| ≤ tol, and equal shapes. */
function assertRelClose(actual, expected, tol, what) {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.data.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(actual.data[i] - expected.data[i]));
    maxRef = Math.max(maxRef, Math.abs(expected.data[i]));
  }
  assert.ok(maxErr <= tol * Math.max(maxRef, 1e-30), `${what}: max error ${maxErr} vs max |value| ${maxRef} (relative tolerance ${tol})`);
}

async function sameOnBothBackends(f, what, tol = 1e-4) {
  const cpu = await on('cpu', f);
  const wasm = await on('wasm', f);
  assert.equal(wasm.length, cpu.length);
  wasm.forEach((w, i) => assertRelClose(w, cpu[i], tol, `${what} #${i}`));
}

// [batch, height, width, inChannels, outChannels, kernel, stride, pad]
const CONV_CASES = [];
for (const k of [1, 3]) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid']) {
      CONV_CASES.push([2, 8, 8, 3, 4, k, s, pad]);
      CONV_CASES.push([3, 7, 9, 5, 2, k, s, pad]); // odd sizes
      // Channels out a multiple of 4 (the native kernels of conv-kernels.c): 12 = 8 + 4, and
      // channels in 5 and 8 (a remainder past the blocks of 4, and none).
      CONV_CASES.push([3, 7, 9, 5, 12, k, s, pad]);
      CONV_CASES.push([2, 9, 6, 8, 4, k, s, pad]);
    }
  }
}
CONV_CASES.push([
  2,
  8,
  8,
  4,
  4,
  3,
  1,
  [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ],
]);
CONV_CASES.push([
  2,
  9,
  7,
  3,
  5,
  3,
  2,
  [
    [0, 0],
    [0, 1],
    [2, 0],
    [0, 0],
  ],
]); // explicit, asymmetric
CONV_CASES.push([
  2,
  6,
  6,
  2,
  3,
  3,
  1,
  [
    [0, 0],
    [3, 0],
    [0, 3],
    [0, 0],
  ],
]); // pad wider than the filter
CONV_CASES.push([
  2,
  9,
  7,
  4,
  8,
  3,
  2,
  [
    [0, 0],
    [0, 1],
    [2, 0],
    [0, 0],
  ],
]);
CONV_CASES.push([
  2,
  6,
  6,
  4,
  8,
  3,
  1,
  [
    [0, 0],
    [3, 0],
    [0, 3],
    [0, 0],
  ],
]);
CONV_CASES.push([2, 5, 11, 8, 16, 5, 1, 'same']); // 5×5: wider than 4 output columns of border
CONV_CASES.push([4, 32, 32, 16, 16, 3, 1, 'same']); // a ResNet stage-1 layer
CONV_CASES.push([4, 32, 32, 16, 32, 3, 2, 'same']); // a downsampling layer
CONV_CASES.push([4, 32, 32, 16, 32, 1, 2, 'same']); // its 1×1 projection shortcut (option B)
CONV_CASES.push([4, 8, 8, 64, 64, 1, 1, 'valid']);

describe('convolution gradients on wasm equal the cpu backend (relative error ≤ 1e-4)', () => {
  for (const [n, h, w, cin, cout, k, s, pad] of CONV_CASES) {
    const name = `x [${n},${h},${w},${cin}], ${k}×${k}×${cout}, stride ${s}, pad ${JSON.stringify(pad)}`;
    test(name, async () => {
      const xShape = [n, h, w, cin];
      const fShape = [k, k, cin, cout];
      const xv = values(size(xShape), 1 + h * k);
      const fv = values(size(fShape), 7 + s);
      const yShape = await on('cpu', () => [tf.conv2d(tf.tensor(xv, xShape), tf.tensor(fv, fShape), s, pad)]).then((r) => r[0].shape);
      const dyv = values(size(yShape), 3 + w);
      await sameOnBothBackends(() => {
        const x = tf.tensor(xv, xShape);
        const f = tf.tensor(fv, fShape);
        const dy = tf.tensor(dyv, yShape);
        // Through autodiff (what training uses) …
        const [dx, df] = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a, b, s, pad), dy)))([x, f]);
        // … and through the kernels directly.
        const attrs = { strides: [s, s], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
        const df2 = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fShape });
        const dx2 = tf.conv2dTranspose(dy, f, xShape, s, pad);
        // The forward convolution, plain and fused with a bias and ReLU.
        const bias = tf.tensor(values(cout, 5 + cout), [cout]);
        const fused = tf.fused.conv2d({ x, filter: f, strides: s, pad, bias, activation: 'relu' });
        return [dx, df, df2, dx2, tf.conv2d(x, f, s, pad), fused];
      }, name);
    });
  }

  test('NCHW input gradient falls back to the builtin kernel; NCHW filter gradient says it is unsupported', async () => {
    const dy = tf.ones([1, 2, 4, 4]);
    const f = tf.ones([3, 3, 3, 2]);
    const dx = tf
      .engine()
      .runKernel('Conv2DBackpropInput', { dy, filter: f }, { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [1, 3, 4, 4] });
    assert.deepEqual(dx.shape, [1, 3, 4, 4]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.ones([1, 3, 4, 4]), dy },
            { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 2] },
          ),
      /NCHW.*not supported/,
    );
    tf.dispose([dy, f, dx]);
  });
});

describe('Tile, Sum and Mean on wasm equal the cpu backend', () => {
  const TILES = [
    [
      [1, 1, 1, 5],
      [3, 4, 2, 1],
    ],
    [
      [2, 3],
      [2, 3],
    ],
    [
      [3, 1, 2],
      [1, 4, 1],
    ],
    [[4], [3]],
    [
      [2, 1, 3, 1],
      [1, 2, 2, 3],
    ],
  ];
  for (const [shape, reps] of TILES) {
    test(`tile [${shape}] by [${reps}] (float32, int32, bool)`, async () => {
      const v = values(size(shape), size(reps));
      await sameOnBothBackends(
        () => {
          const x = tf.tensor(v, shape);
          return [tf.tile(x, reps), tf.tile(tf.cast(tf.mul(x, 10), 'int32'), reps), tf.cast(tf.tile(tf.greater(x, 0), reps), 'float32')];
        },
        `tile ${shape} ${reps}`,
        0,
      );
    });
  }

  const REDUCTIONS = [
    [
      [6, 5, 4, 3],
      [0, 1, 2],
    ],
    [[6, 5, 4, 3], [0]],
    [
      [6, 5, 4, 3],
      [1, 2],
    ],
    [
      [6, 5, 4, 3],
      [2, 1, 0],
    ],
    [[6, 5, 4, 3], null],
    [
      [64, 32, 32, 16],
      [0, 1, 2],
    ],
    [[7, 3], -1],
  ];
  for (const [shape, axis] of REDUCTIONS) {
    test(`sum and mean of [${shape}] over ${JSON.stringify(axis)} (keepDims both ways)`, async () => {
      const v = values(size(shape), shape.length + 5);
      await sameOnBothBackends(
        () => {
          const x = tf.add(tf.tensor(v, shape), 0.5);
          return [
            tf.sum(x, axis),
            tf.mean(x, axis),
            tf.sum(x, axis, true),
            tf.mean(x, axis, true),
            tf.sum(tf.cast(tf.mul(x, 4), 'int32'), axis),
          ];
        },
        `reduce ${shape} ${axis}`,
        1e-5,
      );
    });
  }
});

describe('Slice on wasm equals the cpu backend', () => {
  // [shape, begin, size]: the crop of a symmetric zero padding's gradient (3 channels; 16 and 8,
  // copy_runs on all threads, of the first images too), strided and contiguous slices of every rank,
  // size −1 (to the end), and an empty slice.
  const SLICES = [
    [
      [4, 34, 34, 3],
      [0, 1, 1, 0],
      [4, 32, 32, 3],
    ],
    [
      [4, 18, 18, 16],
      [0, 1, 1, 0],
      [4, 16, 16, 16],
    ],
    [
      [3, 10, 9, 8],
      [0, 1, 2, 0],
      [2, 8, 6, 8],
    ],
    [
      [3, 9, 9, 5],
      [0, 0, 0, 0],
      [3, 8, 8, 5],
    ],
    [
      [3, 9, 9, 5],
      [1, 2, 3, 1],
      [2, -1, 4, 3],
    ],
    [
      [6, 5, 4],
      [2, 0, 0],
      [3, 5, 4],
    ],
    [[10], [3], [5]],
    [
      [2, 3, 4, 5, 6],
      [1, 0, 2, 1, 3],
      [1, 3, 2, 4, 3],
    ],
    [
      [4, 4],
      [1, 1],
      [0, 2],
    ],
  ];
  for (const [shape, begin, sz] of SLICES) {
    test(`slice [${shape}] from [${begin}] size [${sz}] (float32, int32, bool)`, async () => {
      const v = values(size(shape), shape.length + 11);
      await sameOnBothBackends(
        () => {
          const x = tf.tensor(v, shape);
          return [
            tf.slice(x, begin, sz),
            tf.slice(tf.cast(tf.mul(x, 10), 'int32'), begin, sz),
            tf.cast(tf.slice(tf.greater(x, 0), begin, sz), 'float32'),
          ];
        },
        `slice ${shape} ${begin} ${sz}`,
        0,
      );
    });
  }

  test('the gradient of a strided convolution with symmetric padding (pad, then slice) equals cpu', async () => {
    const v = values(2 * 9 * 9 * 3, 5);
    const k = values(3 * 3 * 3 * 4, 6);
    await sameOnBothBackends(() => {
      const x = tf.tensor(v, [2, 9, 9, 3]);
      const w = tf.tensor(k, [3, 3, 3, 4]);
      const f = (a, b) =>
        tf.sum(
          tf.square(
            tf.conv2d(
              tf.pad(a, [
                [0, 0],
                [1, 1],
                [1, 1],
                [0, 0],
              ]),
              b,
              2,
              'valid',
            ),
          ),
        );
      return tf.grads(f)([x, w]);
    }, 'grad of pad + conv stride 2');
  });
});

describe('PadV2 on wasm equals the cpu backend', () => {
  test('zero padding of rows and columns (ours, symmetric and not), and the cases left to the builtin', async () => {
    const xv = values(3 * 7 * 5 * 12, 61);
    await sameOnBothBackends(
      () => {
        const x = tf.tensor(xv, [3, 7, 5, 12]);
        return [
          tf.pad(x, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          tf.pad(x, [
            [0, 0],
            [0, 2],
            [3, 0],
            [0, 0],
          ]),
          tf.pad(
            x,
            [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ],
            2.5,
          ),
          tf.pad(x, [
            [0, 0],
            [0, 0],
            [0, 0],
            [2, 2],
          ]),
          tf.pad(x, [
            [1, 0],
            [1, 1],
            [0, 0],
            [0, 0],
          ]),
          tf.cast(
            tf.pad(tf.cast(tf.mul(x, 9), 'int32'), [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ]),
            'float32',
          ),
        ];
      },
      'pad',
      0,
    );
  });
});

describe('Multiply on wasm equals the cpu backend', () => {
  test('per-channel scalings ([C] and [1,1,1,C], either side), and the cases left to the builtin', async () => {
    const xv = values(4 * 12 * 12 * 16, 21);
    const sv = values(16, 22);
    await sameOnBothBackends(
      () => {
        const x = tf.tensor(xv, [4, 12, 12, 16]);
        const s = tf.tensor(sv, [16]);
        const s4 = s.reshape([1, 1, 1, 16]);
        const small = tf.slice(x, [0, 0, 0, 0], [1, 2, 2, 16]);
        return [
          tf.mul(x, s),
          tf.mul(s, x),
          tf.mul(x, s4),
          tf.mul(s4, x),
          tf.mul(small, s),
          tf.mul(x, x),
          tf.mul(x, 3),
          tf.cast(tf.mul(tf.cast(x, 'int32'), tf.cast(s, 'int32')), 'float32'),
        ];
      },
      'multiply',
      0,
    );
  });
});

describe("ReLU, Add and ReLU's gradient on wasm equal the cpu backend", () => {
  test('a + b of one shape (ours, on all threads; an odd size too) is exact; broadcasts and small sums are left to the builtin', async () => {
    const av = values(4 * 12 * 12 * 16 + 3, 51);
    const bv = values(av.length, 52);
    await sameOnBothBackends(
      () => {
        const a = tf.tensor(av);
        const b = tf.tensor(bv);
        const x = a.slice(0, 4 * 12 * 12 * 16).reshape([4, 12, 12, 16]);
        const y = b.slice(0, 4 * 12 * 12 * 16).reshape([4, 12, 12, 16]);
        return [
          tf.add(a, b),
          tf.add(x, y),
          tf.add(x, y.slice([0, 0, 0, 0], [1, 12, 12, 16])),
          tf.add(x, 3),
          tf.add(a.slice(0, 8), b.slice(0, 8)),
        ];
      },
      'add',
      0,
    );
  });

  test('ReLU of a large tensor (ours, on all threads) and of a small one (the builtin) equal the cpu backend', async () => {
    const xv = values(4 * 12 * 12 * 16 + 3, 55).map((v, i) => (i % 5 === 0 ? 0 : v));
    await sameOnBothBackends(
      () => {
        const x = tf.tensor(xv);
        return [tf.relu(x), tf.relu(x.slice(0, 9))];
      },
      'relu',
      0,
    );
  });

  test("ReLU's gradient from its output, zeros and negative dy included, is exact (−0 where tfjs gives −0)", async () => {
    lib.registerReluGradient(); // the library's, which runs ResidualReluGrad where it is registered
    assert.ok(tf.getKernel('ResidualReluGrad', 'wasm'));
    const xv = values(4 * 12 * 12 * 16 + 1, 53).map((v, i) => (i % 7 === 0 ? 0 : v));
    const dv = values(xv.length, 54);
    const [ours] = await on('wasm', () => [tf.grad((v) => tf.relu(v))(tf.tensor(xv), tf.tensor(dv))]);
    const [cpu] = await on('cpu', () => [tf.grad((v) => tf.relu(v))(tf.tensor(xv), tf.tensor(dv))]);
    assert.ok(
      ours.data.some((v) => Object.is(v, -0)),
      'the case of a −0 is covered',
    );
    assert.deepEqual(ours, cpu);
  });
});

describe('Sub and FusedBatchNorm on wasm equal the cpu backend', () => {
  test('x − m per channel ([C] and [1,1,1,C]) is exact; other subtractions are left to the builtin', async () => {
    const xv = values(4 * 12 * 12 * 16, 31);
    const mv = values(16, 32);
    await sameOnBothBackends(
      () => {
        const x = tf.tensor(xv, [4, 12, 12, 16]);
        const m = tf.tensor(mv, [16]);
        const small = tf.slice(x, [0, 0, 0, 0], [1, 2, 2, 16]);
        return [tf.sub(x, m), tf.sub(x, m.reshape([1, 1, 1, 16])), tf.sub(m, x), tf.sub(small, m), tf.sub(x, x), tf.sub(x, 3)];
      },
      'sub',
      0,
    );
  });

  test('batch norm with and without γ, β, in inference and training mode, with a large mean', async () => {
    const xv = values(4 * 12 * 12 * 16, 41);
    const pv = values(16, 42);
    await sameOnBothBackends(
      () => {
        const x = tf.tensor(xv, [4, 12, 12, 16]);
        const p = tf.tensor(pv, [16]);
        const variance = tf.add(tf.abs(p), 0.1);
        const shifted = tf.add(x, 20); // a mean far from 0 against a spread of about 1
        const moments = tf.moments(shifted, [0, 1, 2]);
        return [
          tf.batchNorm(x, p, variance, tf.mul(p, 2), tf.sub(1, p), 1e-5),
          tf.batchNorm(x, p, variance, undefined, undefined, 1e-3),
          tf.batchNorm(shifted, moments.mean, moments.variance, p, tf.add(p, 1.5), 1e-5),
          tf.batchNorm(x.reshape([4, 144, 16]), p, variance, p, p, 1e-5),
        ];
      },
      'batch norm',
      1e-5,
    );
  });

  test('6 channels (not a multiple of 4: the XNNPACK fallback): x − m and batch norm', async () => {
    const xv = values(4 * 16 * 16 * 6, 43);
    const pv = values(6, 44);
    await sameOnBothBackends(
      () => {
        const x = tf.tensor(xv, [4, 16, 16, 6]);
        const p = tf.tensor(pv, [6]);
        return [tf.sub(x, p), tf.batchNorm(tf.add(x, 20), p, tf.add(tf.abs(p), 0.1), tf.mul(p, 2), tf.sub(1, p), 1e-5)];
      },
      'x − m and batch norm, 6 channels',
      1e-5,
    );
  });

  test("batch norm's statistics (one pass, chunks combined) equal float64's, means far from 0 and drifting across the batch; 1/σ equals tfjs's", () => {
    // 3, 16 and 20 channels; 40 images of 16×16: many chunks of rows (of ~16K floats), each image's
    // mean different (from 100 up), so that each chunk's own mean differs from the batch's.
    for (const c of [3, 16, 20]) {
      const [n, hw] = [40, 16 * 16];
      const xv = values(n * hw * c, 60 + c).map((v, i) => 100 + Math.floor(i / (hw * c)) * 0.5 + (i % c) + v * (1 + (i % c)));
      const x = tf.tensor(xv, [n, 16, 16, c]);
      const [mean, variance, invStd] = tf.engine().runKernel(lib.BATCH_NORM_MOMENTS, { x }, { varianceEpsilon: 1e-3 });
      const [m, v] = [mean.dataSync(), variance.dataSync()];
      // 1/σ as tfjs's float32 ops make it, to the last bit.
      const ops = tf.tidy(() => tf.rsqrt(tf.add(variance, 1e-3)));
      assert.deepEqual(invStd.dataSync(), ops.dataSync(), `1/√(variance + ε), ${c} channels`);
      tf.dispose([invStd, ops]);
      for (let ch = 0; ch < c; ch++) {
        const col = Float64Array.from({ length: n * hw }, (_, i) => xv[i * c + ch]);
        const mu = col.reduce((p, q) => p + q, 0) / col.length;
        const sigma2 = col.reduce((p, q) => p + (q - mu) ** 2, 0) / col.length;
        assert.ok(Math.abs(m[ch] - mu) <= 2e-7 * Math.abs(mu), `mean, ${c} channels, channel ${ch}: ${m[ch]} vs ${mu}`);
        assert.ok(Math.abs(v[ch] - sigma2) <= 1e-5 * sigma2, `variance, ${c} channels, channel ${ch}: ${v[ch]} vs ${sigma2}`);
      }
      tf.dispose([x, mean, variance]);
    }
  });

  test('the gradient of training-mode batch norm equals cpu', async () => {
    const xv = values(4 * 8 * 8 * 16, 51);
    const gv = values(16, 52);
    await sameOnBothBackends(() => {
      const x = tf.tensor(xv, [4, 8, 8, 16]);
      const gamma = tf.add(tf.tensor(gv, [16]), 1);
      const beta = tf.tensor(gv, [16]);
      const f = (a, g, b) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.sum(tf.square(tf.sin(tf.batchNorm(a, mean, variance, b, g, 1e-5))));
      };
      return tf.grads(f)([x, gamma, beta]);
    }, 'grad of batch norm');
  });
});

describe('Identity and Cast share data on wasm', () => {
  test('a clone outlives its source, a same-dtype cast equals it, and the buffer is freed with the last one', () => {
    const buffers = tf.engine().backend.numDataIds();
    const a = tf.tensor([1.5, -2, 3.25, 4], [2, 2]);
    const b = tf.clone(a);
    const c = tf.cast(a, 'float32');
    const i = tf.cast(a, 'int32');
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1.5, -2, 3.25, 4]);
    assert.deepEqual(Array.from(c.dataSync()), [1.5, -2, 3.25, 4]);
    assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3, 4]);
    const v = tf.variable(b);
    b.dispose();
    const z = tf.zeros([2, 2]);
    v.assign(z);
    assert.deepEqual(Array.from(c.dataSync()), [1.5, -2, 3.25, 4], 'assigning a variable made from a clone leaves the other clones alone');
    tf.dispose([c, i, v, z]);
    assert.equal(tf.engine().backend.numDataIds(), buffers);
    const strings = tf.tensor(['x', 'y']);
    const s = tf.clone(strings);
    strings.dispose();
    assert.deepEqual(s.dataSync(), ['x', 'y']);
    s.dispose();
  });
});

describe('training on wasm', () => {
  test('registers every kernel it names', () => {
    assert.ok(WASM_TRAINING_KERNELS.includes('Conv2DBackpropFilter'));
    for (const k of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(k, 'wasm'), k);
  });

  test('a ResNet training step (batch norm in training mode, softmax cross-entropy, L2) has the gradients of the cpu backend', async () => {
    const model = resnetCifar(8, { inputShape: [12, 12, 3] });
    const xv = values(4 * 12 * 12 * 3, 11);
    const labels = [1, 3, 0, 9];
    const step = () => {
      const x = tf.tensor(xv, [4, 12, 12, 3]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.apply(x, { training: true });
        const l2 = tf.addN(model.trainableWeights.filter((w) => w.name.includes('kernel')).map((w) => tf.sum(tf.square(w.read()))));
        return tf.add(tf.losses.softmaxCrossEntropy(y, logits), tf.mul(5e-5, l2));
      });
      return [value, ...model.trainableWeights.map((w) => grads[w.originalName ?? w.name])];
    };
    await sameOnBothBackends(step, 'loss and gradients', 1e-3);
    model.dispose();
  });

  test("a ResNet-8 step on 32×32 images (batch 8, normal inputs, seeded weights): the cpu backend's loss within 1e-5, its gradients within 2e-3", async () => {
    // The gradients of this step are not smooth in the batch statistics: scaling each variance by
    // 1 ± 1e-6 moves a gradient by up to 6e-4 of its largest value (a ReLU input crossing 0), by
    // 1 ± 1e-7 up to 5e-6 (ResNet-20, batch 16: 6e-3), so kernels that round differently from cpu's
    // (batch norm's statistics here are as exact as float64's, see above) cannot be held to 1e-4.
    // A wrong term in any kernel moves them by far more.
    const model = resnetCifar(8);
    lib.initializeWeights(model, { scheme: 'he', seed: 1 });
    const vars = model.trainableWeights.map((w) => w.read());
    const step = () => {
      const x = tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 7);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), vars);
      return [value, ...vars.map((v) => grads[v.name])];
    };
    const [cpu, wasm] = [await on('cpu', step), await on('wasm', step)];
    assertRelClose(wasm[0], cpu[0], 1e-5, 'loss');
    for (let i = 1; i < cpu.length; i++) assertRelClose(wasm[i], cpu[i], 2e-3, `gradient of ${vars[i - 1].name}`);
    model.dispose();
  });

  test('SGD-momentum steps of a small ResNet keep tensors and backend buffers flat, and lower the loss', () => {
    const model = resnetCifar(8, { inputShape: [16, 16, 3] });
    const opt = tf.train.momentum(0.05, 0.9);
    const x = tf.tensor(values(8 * 16 * 16 * 3, 5), [8, 16, 16, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
    const step = () => {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    };
    const first = step();
    step(); // optimizer slots are created on the first steps
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    let last = first;
    for (let i = 0; i < 6; i++) last = step();
    assert.equal(tf.memory().numTensors, tensors, 'tensor count after 6 more steps');
    assert.equal(tf.engine().backend.numDataIds(), buffers, 'wasm buffers after 6 more steps');
    assert.ok(last < first, `loss went from ${first} to ${last}`);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });
});

describe("batch norm's running statistic on wasm (ResidualMovingAverage)", () => {
  test("equals tfjs's mul, sub and mul to the last bit (scale 1 and m / (m − 1), two momenta)", () => {
    const average = tf.tensor1d(values(37, 81));
    const value = tf.tensor1d(values(37, 82).map((v) => 3 * v));
    for (const momentum of [0.9, 0.99])
      for (const scale of [1, 8192 / 8191]) {
        const ours = tf.engine().runKernel(lib.MOVING_AVERAGE, { average, value }, { momentum, scale });
        const ops = tf.sub(average, tf.mul(tf.sub(average, scale === 1 ? value : tf.mul(value, scale)), 1 - momentum));
        assert.deepEqual([...ours.dataSync()], [...ops.dataSync()], `momentum ${momentum}, scale ${scale}`);
        tf.dispose([ours, ops]);
      }
    tf.dispose([average, value]);
  });
});

describe("the optimiser's step on wasm (ResidualSgdStep)", () => {
  /** Three steps of SgdMomentum on two variables (one decayed, 4 099 floats; one not, 7), their values. */
  const steps = () => {
    const ws = tf.tidy(() => [
      tf.variable(tf.tensor1d(values(4099, 3)), true, 'conv/kernel'),
      tf.variable(tf.tensor1d(values(7, 4)), true, 'bn/gamma'),
    ]);
    const opt = new lib.SgdMomentum({ momentum: 0.9, weightDecay: 0.01, weightDecayScope: 'kernels' });
    for (let step = 0; step < 3; step++) {
      const grads = Object.fromEntries(ws.map((w, i) => [w.name, tf.tensor1d(values(w.size, 10 * step + i + 1))]));
      opt.applyGradients(ws, grads, 0.1);
      tf.dispose(Object.values(grads));
    }
    const out = ws.map((w) => w.clone());
    opt.dispose();
    tf.dispose(ws);
    return out;
  };

  test("gives the numbers of tfjs's ops on cpu to the last bit (first step, momentum, decay or none), in one kernel a variable, leaking no tensor", async () => {
    await sameOnBothBackends(steps, 'SGD steps', 0);
    assert.ok(await tf.setBackend('wasm'));
    const before = tf.memory().numTensors;
    const profile = await tf.profile(() => tf.dispose(steps()));
    const names = profile.kernels.map((k) => k.name);
    assert.equal(names.filter((n) => n === 'ResidualSgdStep').length, 6, 'one step kernel per variable and step');
    assert.ok(!names.includes('Sub'), 'no tfjs op for the update');
    assert.equal(tf.memory().numTensors, before, 'tensor count');
  });
});

describe('threaded wasm (useWasmThreads)', () => {
  test("runs XNNPACK, the native convolutions, batch norm, ReLU, Add and ReLU's gradient on 2 threads in Node, gives the cpu backend's results, and lets the process exit", async () => {
    const { spawnSync } = await import('node:child_process');
    const code = `
      const lib = require('./dist/index.js'); const tf = lib.tf;
      (async () => {
        const ok = lib.useWasmThreads(2);
        lib.registerWasmTrainingKernels();
        // Stride 2 with 3 channels in (XNNPACK compositions) and stride 1 with 8 (the native
        // kernels, their work split over the 2 threads: 3 images, 8 channels).
        const f = () => tf.tidy(() => [[2, 3], [1, 8]].flatMap(([s, c]) => {
          const x = tf.sin(tf.range(0, 3 * 9 * 9 * c).reshape([3, 9, 9, c]));
          const w = tf.cos(tf.range(0, 3 * 3 * c * 4).reshape([3, 3, c, 4]));
          const [dx, dw] = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a, b, s, 'same'))))([x, w]);
          const y = tf.fused.conv2d({ x, filter: w, strides: s, pad: 'same', bias: tf.ones([4]), activation: 'relu' });
          return [...dx.dataSync(), ...dw.dataSync(), ...y.dataSync()];
        }).concat(tf.tidy(() => {
          // The batch-norm layer's training pass (its statistics, affine map and backward pass
          // on the native kernels, 243 rows split over the 2 threads).
          const x = tf.sin(tf.range(0, 3 * 9 * 9 * 8).reshape([3, 9, 9, 8]));
          const bn = lib.batchNormalization({ axis: -1 });
          const loss = (a) => tf.sum(tf.square(tf.mul(bn.apply(a, { training: true }), tf.cos(a))));
          return [...tf.grad(loss)(x).dataSync(), ...bn.apply(x, { training: true }).dataSync()];
        })).concat(tf.tidy(() => {
          // Add, ReLU and its gradient, 4099 floats split over the 2 threads.
          lib.registerReluGradient();
          const a = tf.sin(tf.range(0, 4099));
          const b = tf.cos(tf.range(0, 4099));
          return [...tf.add(a, b).dataSync(), ...tf.relu(a).dataSync(), ...tf.grad((v) => tf.relu(v))(a, b).dataSync()];
        })));
        await tf.setBackend('cpu'); const ref = f();
        await tf.setBackend('wasm'); const got = f();
        const scale = Math.max(...ref.map(Math.abs));
        const err = Math.max(...got.map((v, i) => Math.abs(v - ref[i]))) / scale;
        console.log('RESULT ' + JSON.stringify({ ok, threads: lib.wasmThreadsCount(), err, again: lib.useWasmThreads(2) }));
      })();`;
    const r = spawnSync(process.execPath, ['-e', code], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: new URL('..', import.meta.url).pathname,
    });
    assert.equal(r.status, 0, `exit status ${r.status} (signal ${r.signal}): ${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, r.stdout + r.stderr);
    const res = JSON.parse(line.slice(7));
    assert.equal(res.ok, true);
    assert.equal(res.threads, 2);
    assert.ok(res.err < 1e-4, `relative error ${res.err}`);
    assert.equal(res.again, false, 'a second call after the backend started changes nothing');
  });
});
