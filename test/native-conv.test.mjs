// The WebAssembly convolution kernels of lib/backend/conv-kernels.c, each build, against a plain
// JavaScript convolution; the thread pool; and the committed build against a fresh one.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { NativeConv, relaxedSimd, winogradGradPlan, winogradPlan } from '../dist/backend/native-conv.js';

/** Split [0, n) into at most `parts` contiguous ranges of whole multiples of `align` (the last takes the rest). */
function splitRange(n, parts, align = 1) {
  const units = Math.ceil(n / align);
  const k = Math.max(1, Math.min(parts, units));
  const out = [];
  for (let i = 0; i < k; i++) {
    const a = Math.min(n, Math.round((units * i) / k) * align);
    const b = Math.min(n, Math.round((units * (i + 1)) / k) * align);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** Deterministic pseudo-random values in [-1, 1). */
function values(n, seed) {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** x [N, H, W, Cin] at (n, i, j, c), 0 outside (the zero padding). */
const at = (x, [, h, w, c], n, i, j, k) => (i < 0 || j < 0 || i >= h || j >= w ? 0 : x[((n * h + i) * w + j) * c + k]);

/** The convolution's output, filter gradient and input gradient, by the definition (float64 sums). */
function reference(x, xs, f, fs, dy, { s, pt, pl, oh, ow }) {
  const [n, h, w, cin] = xs;
  const [kh, kw, , cout] = fs;
  const y = new Float64Array(n * oh * ow * cout);
  const dw = new Float64Array(kh * kw * cin * cout);
  const dx = new Float64Array(n * h * w * cin);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let p = 0; p < kh; p++)
          for (let q = 0; q < kw; q++)
            for (let ci = 0; ci < cin; ci++) {
              const [r, c] = [i * s + p - pt, j * s + q - pl];
              if (r < 0 || c < 0 || r >= h || c >= w) continue;
              const v = at(x, xs, b, r, c, ci);
              for (let co = 0; co < cout; co++) {
                const o = ((b * oh + i) * ow + j) * cout + co;
                const k = ((p * kw + q) * cin + ci) * cout + co;
                y[o] += v * f[k];
                dw[k] += v * dy[o];
                dx[((b * h + r) * w + c) * cin + ci] += f[k] * dy[o];
              }
            }
  return { y, dw, dx };
}

function assertClose(actual, expected, what) {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    ref = Math.max(ref, Math.abs(expected[i]));
  }
  assert.ok(err <= 1e-5 * ref, `${what}: max error ${err} vs max |value| ${ref}`);
}

// [n, h, w, cin, cout, k, stride, padTop, padLeft]: odd sizes, channel remainders (cin 5, cout 12 =
// 8 + 4), stride 2, padding on one side only, rows shorter than a 4-pixel tile; 3×3 of stride 1
// (Winograd) with odd and even sizes, 'valid' and 'same' padding, cout 20 = 8 + 8 + 4, 6×6 patches
// inside the image and on its border, and 64 input channels (the sums of the last stage).
// (conv_input_grad and the Winograd filter gradient take cin a multiple of 4: they run on those.)
const CASES = [
  [2, 9, 9, 12, 8, 3, 2, 1, 1],
  [2, 10, 7, 4, 4, 3, 3, 1, 0],
  [3, 7, 9, 5, 12, 3, 1, 1, 1],
  [2, 9, 10, 8, 8, 3, 2, 0, 1],
  [2, 5, 3, 4, 4, 3, 1, 1, 1],
  [2, 9, 10, 8, 8, 3, 1, 0, 0],
  [2, 8, 7, 4, 20, 3, 1, 0, 1],
  [2, 6, 6, 8, 8, 3, 1, 1, 1],
  [2, 14, 13, 16, 12, 3, 1, 1, 1],
  [1, 10, 9, 64, 8, 3, 1, 1, 0],
  [2, 6, 11, 3, 16, 5, 1, 2, 2],
  [3, 8, 8, 16, 4, 1, 2, 0, 0],
];

const builds = [
  { fma: false, shared: false, threads: 1 },
  { fma: false, shared: true, threads: 2 },
  ...(relaxedSimd()
    ? [
        { fma: true, shared: false, threads: 1 },
        { fma: true, shared: true, threads: 3 },
      ]
    : []),
];

describe('conv-kernels.c equals the definition of a convolution and of a per-channel affine map (relative error ≤ 1e-5)', () => {
  test('relaxed SIMD (fused multiply-adds) is available to this Node', () => {
    // Node ≥ 22 has it; Node 20 after the flag relaxedSimd() sets. If this fails, the plain builds
    // still run (tested below), only slower.
    assert.equal(relaxedSimd(), true);
  });

  for (const b of builds) {
    test(`${b.fma ? 'fused multiply-add' : 'plain SIMD'} build, ${b.shared ? `shared memory, ${b.threads} threads` : 'plain memory, 1 thread'}`, () => {
      const memory = new WebAssembly.Memory({ initial: 64, maximum: 1024, shared: b.shared });
      const native = new NativeConv(memory, b.threads, b.fma);
      assert.equal(native.threads, b.threads);
      try {
        for (const [n, h, w, cin, cout, k, s, pt, pl] of CASES) {
          const oh = Math.floor((h + 2 * pt - k) / s) + 1;
          const ow = Math.floor((w + 2 * pl - k) / s) + 1;
          const xs = [n, h, w, cin];
          const fs = [k, k, cin, cout];
          const x = values(n * h * w * cin, h + cin);
          const f = values(k * k * cin * cout, k + cout);
          const bias = values(cout, 3);
          const dy = values(n * oh * ow * cout, w + s);
          // Lay the buffers out in the memory, 64 bytes apart from its 1 KiB mark.
          let offset = 1024;
          const place = (data) => {
            const o = offset;
            new Float32Array(memory.buffer, o, data.length).set(data);
            offset += Math.ceil((data.length * 4) / 64) * 64 + 64;
            return o;
          };
          const [xo, fo, bo, dyo] = [place(x), place(f), place(bias), place(dy)];
          const yo = place(new Float32Array(n * oh * ow * cout));
          const dwo = place(new Float32Array(k * k * cin * cout));
          const dxo = place(new Float32Array(n * h * w * cin).fill(NaN)); // conv_input_grad zeroes each image
          // The filter with its channel axes swapped, [KH, KW, Cout, Cin], for conv_input_grad.
          const ft = new Float32Array(f.length);
          for (let t = 0; t < k * k; t++)
            for (let ci = 0; ci < cin; ci++)
              for (let co = 0; co < cout; co++) ft[(t * cout + co) * cin + ci] = f[(t * cin + ci) * cout + co];
          const fto = place(ft);
          // conv2d's interleaved image, one per thread, filled with NaN (every float it reads must
          // be written first), each followed by a canary that must stay as it is.
          const padFloats = ((oh - 1) * s + k) * Math.ceil(ow / 4) * k * cin * 4;
          const parts = splitRange(n, native.threads);
          const pads = parts.map(() => place(new Float32Array(padFloats + 16).fill(NaN).fill(7, padFloats)));
          const shape = [h, w, cin, oh, ow, cout, k, k, s, s, pt, pl];
          const winograd = []; // [output offset, tile rows a block]
          // The threads claim the images one at a time from a counter at 0 (not the filter gradient's).
          const counter = () => place(new Float32Array(1));
          let next = counter();
          native.run(parts.map((_, i) => ({ fn: 'conv2d', args: [xo, fo, bo, yo, pads[i], next, 0, n, ...shape, 1] })));
          for (const o of pads)
            assert.deepEqual(
              [...new Float32Array(memory.buffer, o + 4 * padFloats, 16)],
              new Array(16).fill(7),
              'conv2d wrote past its padded image',
            );
          // 3×3 of stride 1 (input channels a multiple of 4) also by Winograd's F(4×4, 3×3): in one
          // block of tile rows, one row a block, and 3 a block (the last one short); the same
          // NaN-filled room and canary.
          assert.equal(winogradPlan(shape) !== undefined, k === 3 && s === 1 && cin % 4 === 0);
          if (winogradPlan(shape))
            for (const rows of [undefined, 1, 3]) {
              const { rb, floats } = winogradPlan(shape, rows);
              const rooms = parts.map(() => place(new Float32Array(floats + 16).fill(NaN).fill(7, floats)));
              const wo = place(new Float32Array(n * oh * ow * cout).fill(NaN));
              next = counter();
              native.run(
                parts.map((_, i) => ({
                  fn: 'conv2d_winograd',
                  args: [xo, fo, bo, wo, rooms[i], next, 0, n, ...shape.slice(0, 6), pt, pl, rb, 1],
                })),
              );
              for (const o of rooms)
                assert.deepEqual(
                  [...new Float32Array(memory.buffer, o + 4 * floats, 16)],
                  new Array(16).fill(7),
                  'conv2d_winograd wrote past its room',
                );
              winograd.push([wo, rb]);
            }
          // … and its filter gradient by F(3×3, 4×4) (input channels a multiple of 4): each thread's
          // S from its images, then dW = Gᵀ (ΣS) G.
          const winogradDw = []; // [dW offset, tile rows a block]
          assert.equal(winogradGradPlan(shape) !== undefined, k === 3 && s === 1 && cin % 4 === 0);
          if (winogradGradPlan(shape))
            for (const rows of [undefined, 1, 3]) {
              const { rb, floats } = winogradGradPlan(shape, rows);
              const rooms = place(new Float32Array(parts.length * floats + 16).fill(NaN).fill(7, parts.length * floats));
              const dw = place(new Float32Array(k * k * cin * cout).fill(NaN));
              const room = (i) => rooms + 4 * floats * i;
              native.run(
                parts.map(([a, z], i) => ({
                  fn: 'conv_filter_grad_winograd',
                  args: [xo, dyo, room(i), room(i) + 4 * 36 * cin * cout, a, z, ...shape.slice(0, 6), pt, pl, rb],
                })),
              );
              native.run([{ fn: 'winograd_filter_grad_finish', args: [rooms, parts.length, floats, dw, cin, cout] }]);
              assert.deepEqual(
                [...new Float32Array(memory.buffer, room(parts.length), 16)],
                new Array(16).fill(7),
                'conv_filter_grad_winograd wrote past its room',
              );
              winogradDw.push([dw, rb]);
            }
          native.run(
            splitRange(cin, native.threads, 4).map(([a, z]) => ({ fn: 'conv_filter_grad', args: [xo, dyo, dwo, 0, n, a, z, ...shape] })),
          );
          if (cin % 4 === 0) {
            next = counter();
            native.run(parts.map(() => ({ fn: 'conv_input_grad', args: [dyo, fto, dxo, next, 0, n, ...shape] })));
          }
          const ref = reference(x, xs, f, fs, dy, { s, pt, pl, oh, ow });
          const yRef = ref.y.map((v, i) => Math.max(0, v + bias[i % cout])); // bias, then ReLU
          const name = `x [${xs}], ${k}×${k}×${cout}, stride ${s}, pad ${pt}/${pl}`;
          assertClose(new Float32Array(memory.buffer, yo, yRef.length), yRef, `conv2d ${name}`);
          for (const [wo, rb] of winograd)
            assertClose(new Float32Array(memory.buffer, wo, yRef.length), yRef, `conv2d_winograd ${name}, ${rb} tile rows a block`);
          assertClose(new Float32Array(memory.buffer, dwo, ref.dw.length), ref.dw, `conv_filter_grad ${name}`);
          for (const [dw, rb] of winogradDw)
            assertClose(
              new Float32Array(memory.buffer, dw, ref.dw.length),
              ref.dw,
              `conv_filter_grad_winograd ${name}, ${rb} tile rows a block`,
            );
          if (cin % 4 === 0) assertClose(new Float32Array(memory.buffer, dxo, ref.dx.length), ref.dx, `conv_input_grad ${name}`);
          // swap_filter: ft, and the rotated filter with its channels padded to a multiple of 4.
          const c4 = Math.ceil(cin / 4) * 4;
          const [swo, roto] = [place(new Float32Array(f.length).fill(NaN)), place(new Float32Array(k * k * cout * c4).fill(NaN))];
          native.run([{ fn: 'swap_filter', args: [fo, swo, k, k, cin, cout, cin, 0] }]);
          native.run([{ fn: 'swap_filter', args: [fo, roto, k, k, cin, cout, c4, 1] }]);
          assert.deepEqual([...new Float32Array(memory.buffer, swo, f.length)], [...ft], `swap_filter ${name}`);
          const rotated = new Float32Array(k * k * cout * c4);
          for (let t = 0; t < k * k; t++)
            for (let ci = 0; ci < cin; ci++)
              for (let co = 0; co < cout; co++) rotated[(t * cout + co) * c4 + ci] = f[((k * k - 1 - t) * cin + ci) * cout + co];
          assert.deepEqual([...new Float32Array(memory.buffer, roto, rotated.length)], [...rotated], `swap_filter, rotated, ${name}`);
        }
        // channel_affine: y = act((x + a) · k + b + s), each of a, k, b, s present or not (0, 1, 0, 0).
        const [rows, c] = [37, 12];
        const x = values(rows * c, 5);
        const [a, k, b, sum] = [values(c, 6), values(c, 7), values(c, 8), values(rows * c, 9)];
        for (let mask = 0; mask < 32; mask++) {
          const [useA, useK, useB, useS, relu] = [1, 2, 4, 8, 16].map((bit) => (mask & bit) !== 0);
          let offset = 1024;
          const place = (data) => {
            const o = offset;
            new Float32Array(memory.buffer, o, data.length).set(data);
            offset += data.length * 4 + 64;
            return o;
          };
          const [xo, ao, ko, bo, so, yo] = [x, a, k, b, sum, new Float32Array(rows * c).fill(NaN)].map(place);
          const args = (r0, r1) => [xo, useA ? ao : 0, useK ? ko : 0, useB ? bo : 0, useS ? so : 0, yo, r0, r1, c, relu ? 1 : 0];
          native.run(splitRange(rows, native.threads).map(([r0, r1]) => ({ fn: 'channel_affine', args: args(r0, r1) })));
          const expected = Float32Array.from(x, (v, i) => {
            const ch = i % c;
            const y = Math.fround(Math.fround(Math.fround(v + (useA ? a[ch] : 0)) * (useK ? k[ch] : 1)) + (useB ? b[ch] : 0));
            const z = Math.fround(y + (useS ? sum[i] : 0));
            return relu ? Math.max(0, z) : z;
          });
          assertClose(
            new Float32Array(memory.buffer, yo, rows * c),
            expected,
            `channel_affine a ${useA} k ${useK} b ${useB} s ${useS} relu ${relu}`,
          );
        }
      } finally {
        native.dispose();
      }
    });
  }

  test('splitRange: contiguous, aligned, covering ranges', () => {
    assert.deepEqual(splitRange(16, 2, 4), [
      [0, 8],
      [8, 16],
    ]);
    assert.deepEqual(splitRange(12, 2, 4), [
      [0, 8],
      [8, 12],
    ]);
    assert.deepEqual(splitRange(3, 2, 4), [[0, 3]]);
    assert.deepEqual(splitRange(5, 3), [
      [0, 2],
      [2, 3],
      [3, 5],
    ]);
    assert.deepEqual(splitRange(1, 4), [[0, 1]]);
    assert.deepEqual(splitRange(0, 2), []);
  });

  test('a failed share (out-of-bounds) throws, and the pool stays usable; no jobs is a no-op', () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 16, shared: true });
    const native = new NativeConv(memory, 3, false);
    try {
      native.run([]);
      const f32 = new Float32Array(memory.buffer);
      const [xo, fo, yo] = [1024, 1024 + 512, 4096];
      f32.fill(1, xo / 4, xo / 4 + 2 * 4 * 4 * 4); // x [2, 4, 4, 4] of ones
      f32.fill(1, fo / 4, fo / 4 + 4 * 4); // a 1×1 filter, 4 → 4 channels, of ones
      const pad = (n0) => 8192 + n0 * 4 * 4 * 4 * 4; // one interleaved image (4 rows × 1 group × 1 column × 4 channels × 4) per job
      // Each job its own images [n0, n1), with its own counter (at 0).
      const counter = (n0) => {
        new Int32Array(memory.buffer)[3072 + n0] = 0;
        return 4 * (3072 + n0);
      };
      const job = (n0, n1, x = xo) => ({
        fn: 'conv2d',
        args: [x, fo, 0, yo, pad(n0), counter(n0), n0, n1, 4, 4, 4, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0],
      });
      const beyond = memory.buffer.byteLength + 4096;
      assert.throws(() => native.run([job(0, 1, beyond), job(1, 2)]), /out of bounds/);
      // The helper's share fails there, or here if this thread took it back before the helper started.
      assert.throws(() => native.run([job(0, 1), job(1, 2, beyond)]), /helper thread failed|out of bounds/);
      f32.fill(0, yo / 4, yo / 4 + 2 * 16 * 4);
      native.run([job(0, 1), job(1, 2)]);
      assert.deepEqual([...new Float32Array(memory.buffer, yo, 2 * 16 * 4)], new Array(2 * 16 * 4).fill(4));
    } finally {
      native.dispose();
    }
  });

  test('background jobs: every unit once, whoever runs it; no slot without helpers or past the last; a failed unit throws when settled', () => {
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 64, shared: true });
    const native = new NativeConv(memory, 3, false);
    const single = new NativeConv(new WebAssembly.Memory({ initial: 16 }), 1, false);
    try {
      assert.equal(single.runInBackground({ fn: 'add_same', args: [0, 0, 0, 0, 0] }, { count: 1, at: [] }), undefined);
      const n = 40_000;
      const step = 4096;
      const [ao, bo] = [1024, 1024 + 4 * 40_064];
      const a = values(n, 21);
      const b = values(n, 22);
      new Float32Array(memory.buffer, ao, n).set(a);
      new Float32Array(memory.buffer, bo, n).set(b);
      const chunks = (count) => ({
        count,
        at: [
          [3, 0, step, n],
          [4, step, step, n],
        ],
      });
      const yo = (j) => 1024 + 4 * 40_064 * (2 + j); // job j's output
      const slots = [];
      for (let j = 0; j < 5; j++) {
        new Float32Array(memory.buffer, yo(j), n + 16).fill(NaN);
        slots.push(native.runInBackground({ fn: 'add_same', args: [ao, bo, yo(j), 0, 0] }, chunks(Math.ceil(n / step))));
      }
      assert.equal(slots.filter((s) => s === undefined).length, 1, 'four jobs at most at a time');
      assert.equal(slots[4], undefined);
      for (const s of slots.slice(0, 4).reverse()) native.settleBackground(s); // in any order
      const sum = [...a].map((v, i) => Math.fround(v + b[i]));
      for (let j = 0; j < 4; j++) {
        const y = new Float32Array(memory.buffer, yo(j), n + 16);
        assert.deepEqual([...y.subarray(0, n)], sum, `job ${j}`);
        assert.ok(y.subarray(n).every(Number.isNaN), 'nothing written past the end');
      }
      const beyond = memory.buffer.byteLength + 4096;
      const bad = native.runInBackground({ fn: 'add_same', args: [ao, bo, beyond, 0, 0] }, chunks(3));
      assert.throws(() => native.settleBackground(bad), /background job failed/);
      const again = native.runInBackground({ fn: 'add_same', args: [ao, bo, yo(0), 0, 0] }, chunks(2));
      assert.notEqual(again, undefined, 'slots are free again');
      native.settleBackground(again);
      native.run([{ fn: 'add_same', args: [ao, bo, yo(1), 0, 8] }]); // and the pool still runs jobs
    } finally {
      native.dispose();
      single.dispose();
    }
  });

  test('runChunked: every chunk once, whichever thread claims it (3 threads, 1 thread, a short last chunk)', () => {
    for (const threads of [3, 1]) {
      const memory = new WebAssembly.Memory({ initial: 16, maximum: 64, shared: threads > 1 });
      const native = new NativeConv(memory, threads, false);
      try {
        const n = 50_003; // 12 chunks of 4 096 floats and a short one
        const [ao, bo, yo] = [1024, 1024 + 4 * 50_048, 1024 + 8 * 50_048];
        const a = values(n, 11);
        const b = values(n, 12);
        new Float32Array(memory.buffer, ao, n).set(a);
        new Float32Array(memory.buffer, bo, n).set(b);
        new Float32Array(memory.buffer, yo, n + 16).fill(NaN);
        const step = 4096;
        native.runChunked(
          { fn: 'add_same', args: [ao, bo, yo, 0, 0] },
          {
            count: Math.ceil(n / step),
            at: [
              [3, 0, step, n],
              [4, step, step, n],
            ],
          },
        );
        const y = new Float32Array(memory.buffer, yo, n + 16);
        assert.deepEqual(
          [...y.subarray(0, n)],
          [...a].map((v, i) => Math.fround(v + b[i])),
        );
        assert.ok(y.subarray(n).every(Number.isNaN), 'nothing written past the end');
      } finally {
        native.dispose();
      }
    }
  });

  test('run() refuses more jobs than threads', () => {
    const native = new NativeConv(new WebAssembly.Memory({ initial: 2 }), 1, false);
    assert.throws(
      () =>
        native.run([
          { fn: 'conv2d', args: [] },
          { fn: 'conv2d', args: [] },
        ]),
      /2 jobs for 1 threads/,
    );
  });
});

const hasToolchain = ['clang', 'wasm-ld', 'wasm-objdump'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);

test(
  'the committed conv-kernels-wasm.ts is a fresh build of conv-kernels.c',
  { skip: hasToolchain ? false : 'clang, lld and wabt are not installed' },
  () => {
    const out = execFileSync(process.execPath, ['scripts/dev/build-wasm.mjs', '--check'], {
      cwd: new URL('..', import.meta.url).pathname,
      encoding: 'utf8',
    });
    assert.match(out, /up to date/);
  },
);
