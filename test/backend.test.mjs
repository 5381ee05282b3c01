import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

// Each case runs in its own process: the choice is made once per process.
function choose(env, prefer) {
  const code = `
    const lib = require('./dist/index.js');
    lib.useBestBackend(${prefer ? `{ prefer: '${prefer}' }` : ''})
      .then((c) => console.log('CHOICE ' + JSON.stringify({ ...c, active: lib.tf.getBackend() })))
      .catch((e) => { console.error('ERROR ' + e.message); process.exitCode = 3; });`;
  const r = spawnSync(process.execPath, ['-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    cwd: new URL('..', import.meta.url).pathname,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('CHOICE '));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, choice: line ? JSON.parse(line.slice(7)) : undefined };
}

// "Installed" means loadable: npm may leave the package without its native library.
const nativeInstalled = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((p) => {
  try {
    createRequire(import.meta.url)(p);
    return true;
  } catch {
    return false;
  }
});

describe('useBestBackend', () => {
  test('picks tensorflow when tfjs-node is installed, else wasm, and says why once', () => {
    const r = choose({ RESIDUAL_BACKEND: '' });
    assert.equal(r.status, 0, r.stderr);
    const expected = nativeInstalled ? 'tensorflow' : 'wasm';
    assert.equal(r.choice.name, expected);
    assert.equal(r.choice.active, expected);
    const said = r.stdout.split('\n').filter((l) => l.startsWith('residual-learning: using the'));
    assert.equal(said.length, 1);
    if (!nativeInstalled) assert.match(r.choice.reason, /tfjs-node-gpu (not installed|failed to load)/);
  });

  test('RESIDUAL_BACKEND=cpu overrides', () => {
    const r = choose({ RESIDUAL_BACKEND: 'cpu' });
    assert.equal(r.choice.name, 'cpu');
    assert.equal(r.choice.active, 'cpu');
    assert.match(r.choice.reason, /RESIDUAL_BACKEND=cpu/);
  });

  test('RESIDUAL_BACKEND=wasm overrides, the prefer option wins over it', () => {
    assert.equal(choose({ RESIDUAL_BACKEND: 'wasm' }).choice.active, 'wasm');
    assert.equal(choose({ RESIDUAL_BACKEND: 'wasm' }, 'cpu').choice.active, 'cpu');
  });

  test('an unknown RESIDUAL_BACKEND is refused with the valid names', () => {
    const r = choose({ RESIDUAL_BACKEND: 'webgpu' });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /RESIDUAL_BACKEND='webgpu' is not a backend: use one of tensorflow, wasm, cpu/);
  });

  test('RESIDUAL_WASM_THREADS picks the threads (1: the single-threaded build); a bad value is an error', () => {
    const r = choose({ RESIDUAL_BACKEND: 'wasm', RESIDUAL_WASM_THREADS: '2' });
    assert.equal(r.choice.active, 'wasm');
    assert.match(r.stdout, /using the wasm backend/);
    const auto = choose({ RESIDUAL_BACKEND: '', RESIDUAL_WASM_THREADS: '2' });
    if (!nativeInstalled) assert.match(auto.choice.reason, /XNNPACK, 2 threads/);
    const one = choose({ RESIDUAL_BACKEND: '', RESIDUAL_WASM_THREADS: '1' });
    if (!nativeInstalled) assert.match(one.choice.reason, /XNNPACK, 1 thread\)/);
    const bad = choose({ RESIDUAL_BACKEND: '', RESIDUAL_WASM_THREADS: 'many' });
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /RESIDUAL_WASM_THREADS='many' must be a whole number ≥ 1/);
  });

  test('starting wasm leaves no process-wide exception handler behind (Emscripten adds one that rethrows)', () => {
    const code = `
      const before = process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length;
      require('./dist/index.js').useBestBackend({ prefer: 'wasm', verbose: false }).then(() => {
        const after = process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length;
        process.on('uncaughtException', (e) => console.log('SURVIVED ' + e.message + ' ' + before + ' ' + after));
        setTimeout(() => { throw new Error('stray'); }, 5);
      });`;
    for (const threads of ['1', '2']) {
      const r = spawnSync(process.execPath, ['-e', code], {
        env: { ...process.env, RESIDUAL_WASM_THREADS: threads },
        encoding: 'utf8',
        cwd: new URL('..', import.meta.url).pathname,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /SURVIVED stray 0 0/, `threads=${threads}`);
    }
  });

  test(
    'asking for tensorflow where it is not installed is an error, not a silent fallback',
    { skip: nativeInstalled && 'tfjs-node is installed here' },
    () => {
      const r = choose({ RESIDUAL_BACKEND: 'tensorflow' });
      assert.equal(r.status, 3);
      assert.match(
        r.stderr,
        /backend 'tensorflow' was asked for but cannot start: @tensorflow\/tfjs-node-gpu (not installed|failed to load)/,
      );
    },
  );
});
