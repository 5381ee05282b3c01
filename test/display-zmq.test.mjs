// tslab sends on zeromq sockets without waiting, and zeromq 6 throws EBUSY on a send while the
// previous one is still in progress: in a busy kernel a progress update then failed a training
// cell with no message. queueKernelSends() (lib/notebook/display.ts) chains the sends of each socket.
// Shown here on real zeromq sockets over TCP on 127.0.0.1: a DEALER's send waits while it has no
// connection at all, so a second send finds the first one in progress, as in the busy kernel.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const zmq = require('zeromq');
const { queueKernelSends } = require('../dist/notebook/display.js');

test('zeromq throws EBUSY on overlapping sends; once queued, every message arrives, in order', async () => {
  const port = 21000 + Math.floor(Math.random() * 20000);
  const plain = new zmq.Dealer({ linger: 0 });
  const first = plain.send('a');
  assert.throws(
    () => plain.send('b'),
    (e) => e.code === 'EBUSY' && /busy writing/.test(e.message),
    'the unpatched socket throws',
  );
  plain.close();
  await first.catch(() => undefined);

  queueKernelSends();
  queueKernelSends(); // idempotent
  const dealer = new zmq.Dealer({ linger: 0 });
  const sent = ['m0', 'm1', 'm2', 'm3', 'm4'].map((m) => dealer.send(m)); // waiting, but no throw
  const router = new zmq.Router({ linger: 0 });
  await router.bind(`tcp://127.0.0.1:${port}`);
  dealer.connect(`tcp://127.0.0.1:${port}`);
  const got = [];
  for (let i = 0; i < 5; i++) {
    const [, body] = await router.receive();
    got.push(body.toString());
  }
  await Promise.all(sent);
  assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
  dealer.close();
  router.close();
});
