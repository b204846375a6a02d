import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { blackholeListener, closeServer, nodeServer } from './tcp-peers';

test('connect timeout yields ConnectionTimeout (ETIMEDOUT)', async (t) => {
  const { port, child } = await blackholeListener();
  try {
    const events: unknown[] = [];
    const started = Date.now();
    await runLoop(t, async () => {
      as.tcpConnect('127.0.0.1', port, null, { connectTimeout: 0.3, eventCb: (e) => events.push(e) });
      await sleep(0.5);
      await expectClean(t);
    });
    t.is(events.length, 1);
    const ev = events[0] as as.ConnectionTimeout;
    t.true(ev instanceof as.ConnectionTimeout, String(ev));
    t.is(ev.errcode, 'ETIMEDOUT');
    t.true(Date.now() - started >= 290);
  } finally {
    child.kill('SIGKILL');
  }
});

test('read timeout fires when no data arrives, and each read resets it', async (t) => {
  const { server, port } = await nodeServer((s) => {
    // Three bytes 0.1 s apart, then silence.
    let n = 0;
    const iv = setInterval(() => {
      if (s.destroyed) return clearInterval(iv);
      s.write('x');
      if (++n === 3) clearInterval(iv);
    }, 100);
  });
  const events: unknown[] = [];
  let got = 0;
  let timedOutAt = 0;
  const t0 = Date.now();
  await runLoop(t, async () => {
    as.tcpConnect('127.0.0.1', port, (_s, d: Buffer) => {
      got += d.length;
    }, {
      readTimeout: 0.25,
      eventCb: (e) => {
        timedOutAt = Date.now() - t0;
        events.push(e);
      },
    });
    await sleep(0.8);
    await expectClean(t);
  });
  t.is(got, 3, 'reads at 0.1 s intervals kept the 0.25 s timeout from firing');
  t.is(events.length, 1);
  t.true(events[0] instanceof as.ConnectionTimeout);
  t.is((events[0] as as.ConnectionTimeout).errcode, 'ETIMEDOUT');
  t.true(timedOutAt >= 500, `timed out at ${timedOutAt} ms`);
  await closeServer(server);
});

test('setSocketTimeouts sets and clears timeouts on an open socket', async (t) => {
  const { server, port } = await nodeServer(() => {});
  await runLoop(t, async () => {
    const events: unknown[] = [];
    const done = deferred<as.Socket>();
    as.tcpConnect('127.0.0.1', port, null, { connectCb: (s) => done.resolve(s), eventCb: (e) => events.push(e) });
    const s = await done.promise;
    as.setSocketTimeouts(s, 0.1, null);
    as.setSocketTimeouts(s, null, null);
    await sleep(0.25);
    t.is(events.length, 0, 'cleared timeout did not fire');
    as.setSocketTimeouts(s, 0.1, null);
    await sleep(0.25);
    t.is(events.length, 1);
    t.true(events[0] instanceof as.ConnectionTimeout);
    t.true(s.closed);
    await expectClean(t);
  });
  await closeServer(server);
});

test('write timeout fires when the peer stops reading', async (t) => {
  const { server, port } = await nodeServer((s) => s.pause());
  const events: unknown[] = [];
  await runLoop(t, async () => {
    const done = deferred();
    as.tcpConnect('127.0.0.1', port, null, {
      writeTimeout: 0.3,
      connectCb: (s) => {
        // More than loopback's socket buffers can hold.
        for (let i = 0; i < 64; i++) as.writeSocketData(s, Buffer.alloc(1024 * 1024));
      },
      eventCb: (e) => {
        events.push(e);
        done.resolve();
      },
    });
    await done.promise;
    await expectClean(t);
  });
  t.is(events.length, 1);
  t.true(events[0] instanceof as.ConnectionTimeout);
  t.regex((events[0] as as.ConnectionTimeout).errmsg, /write to 127\.0\.0\.1/);
  await closeServer(server);
});

test('server-side readTimeout applies to accepted sockets', async (t) => {
  const net = await import('node:net');
  const events: unknown[] = [];
  await runLoop(t, async () => {
    const srv = as.tcpServer('127.0.0.1', 0, null, { readTimeout: 0.15, eventCb: (e) => events.push(e) });
    const c = net.connect(srv.port, '127.0.0.1');
    c.on('error', () => {});
    const closed = new Promise((r) => c.on('close', r));
    await closed;
    srv.close();
    await expectClean(t);
  });
  t.is(events.length, 1);
  t.true(events[0] instanceof as.ConnectionTimeout);
});
