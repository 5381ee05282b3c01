// The progress bar: its text, TTY and line modes, and that it runs outside tslab without crashing.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import * as lib from '../dist/index.js';

const info = {
  epoch: 3,
  epochs: 30,
  stepInEpoch: 20,
  stepsPerEpoch: 40,
  loss: 1.23456,
  err: 0.4567,
  imgPerSec: 812.4,
  secondsLeft: 750,
  lr: 0.095,
};

function sink(isTTY) {
  const chunks = [];
  const s = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  s.isTTY = isTTY;
  s.columns = 200;
  return { s, text: () => chunks.join(''), chunks };
}

describe('progress bar', () => {
  test('shows epoch, loss, error, images/s and time left', () => {
    assert.equal(lib.formatProgress(info, 10), 'epoch 3/30 [#####.....] 20/40 loss 1.235 err 45.7% lr 0.0950 812 img/s 12m30s left');
    assert.equal(lib.formatDuration(3725), '1h02m');
    assert.equal(lib.formatDuration(42), '42s');
    assert.equal(lib.formatDuration(NaN), '?');
  });

  test('on a TTY: one line rewritten in place', () => {
    const { s, text } = sink(true);
    const bar = new lib.ProgressBar({ stream: s });
    assert.equal(bar.mode, 'tty');
    bar.update(info);
    bar.update({ ...info, stepInEpoch: 21 });
    bar.epochEnd('epoch 3/30 done');
    bar.close();
    const t = text();
    assert.equal((t.match(/\n/g) ?? []).length, 1, JSON.stringify(t));
    assert.equal((t.match(/\r/g) ?? []).length, 3);
    assert.match(t, /21\/40/);
  });

  test('not a TTY: sparse lines, and every epoch summary', () => {
    const { s, chunks } = sink(false);
    const bar = new lib.ProgressBar({ stream: s, intervalSeconds: 3600 });
    assert.equal(bar.mode, 'lines');
    for (let i = 1; i <= 40; i++) bar.update({ ...info, stepInEpoch: i });
    bar.epochEnd('epoch 3/30 done');
    bar.close();
    assert.equal(chunks.length, 2, chunks.join(''));
    assert.match(chunks[1], /epoch 3\/30 done/);
  });

  test('asking for tslab outside a kernel falls back to lines, without throwing', () => {
    const { s } = sink(false);
    const bar = new lib.ProgressBar({ mode: 'tslab', stream: s });
    assert.equal(bar.mode, 'lines');
    bar.update(info);
    bar.close();
  });
});
