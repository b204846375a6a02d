import { createHash } from 'node:crypto';
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop } from './helpers';
import { closeServer, nodeServer, pattern, sha256 } from './tcp-peers';

const MiB = 1024 * 1024;
const SIZE = 100 * MiB;
const CHUNK = 4 * MiB;

test('100 MiB each direction with a checksum: our client, node:net server', async (t) => {
  const toServer = pattern(CHUNK, 1);
  const toClient = pattern(CHUNK, 2);
  const expectedUp = sha256(Array.from({ length: SIZE / CHUNK }, () => toServer));
  const expectedDown = sha256(Array.from({ length: SIZE / CHUNK }, () => toClient));
  const serverHash = deferred<string>();
  const { server, port } = await nodeServer((s) => {
    const h = createHash('sha256');
    let n = 0;
    s.on('data', (d) => {
      h.update(d);
      n += d.length;
      if (n === SIZE) serverHash.resolve(h.digest('hex'));
    });
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        sent += CHUNK;
        if (!s.write(toClient)) return s.once('drain', pump);
      }
    };
    pump();
  });
  let downHash = '';
  await runLoop(t, async () => {
    const h = createHash('sha256');
    const done = deferred();
    let got = 0;
    let sent = 0;
    // Close once everything was received and everything was queued (the close flushes it).
    const maybeClose = (sock: as.Socket) => {
      if (got === SIZE && sent === SIZE && !sock.closed) {
        as.closeSocket(sock);
        done.resolve();
      }
    };
    const pump = (sock: as.Socket) => {
      while (sent < SIZE) {
        sent += CHUNK;
        if (!as.writeSocketData(sock, toServer)) return;
      }
      maybeClose(sock);
    };
    as.tcpConnect('127.0.0.1', port, (sock, d: Buffer) => {
      h.update(d);
      got += d.length;
      if (got === SIZE) {
        downHash = h.digest('hex');
        maybeClose(sock);
      }
    }, {
      connectCb: (sock) => {
        sock.setWriteBufferLimits(8 * MiB);
        pump(sock);
      },
      drainCb: pump,
    });
    await done.promise;
    await expectClean(t, 10);
  }, {}, 120);
  t.is(await serverHash.promise, expectedUp);
  t.is(downHash, expectedDown);
  await closeServer(server);
});

test('100 MiB each direction with a checksum: node:net client, our server with drainCb', async (t) => {
  const toClient = pattern(CHUNK, 3);
  const toServer = pattern(CHUNK, 4);
  const expectedDown = sha256(Array.from({ length: SIZE / CHUNK }, () => toClient));
  const expectedUp = sha256(Array.from({ length: SIZE / CHUNK }, () => toServer));
  let upHash = '';
  let downHash = '';
  let drains = 0;
  await runLoop(t, async () => {
    const h = createHash('sha256');
    let got = 0;
    let sent = 0;
    const pump = (s: as.Socket) => {
      while (sent < SIZE) {
        sent += CHUNK;
        if (!as.writeSocketData(s, toClient)) return;
      }
    };
    const srv = as.tcpServer('127.0.0.1', 0, (_s, d: Buffer) => {
      h.update(d);
      got += d.length;
      if (got === SIZE) upHash = h.digest('hex');
    }, {
      connectCb: (s) => pump(s),
      drainCb: (s) => {
        drains++;
        pump(s);
      },
    });
    const done = deferred();
    const c = net.connect(srv.port, '127.0.0.1');
    const ch = createHash('sha256');
    let down = 0;
    // End only once both directions are done: ending while the upload still waits for a
    // 'drain' would make its next write a write after end.
    let up = 0;
    const maybeEnd = () => {
      if (down === SIZE && up >= SIZE) c.end();
    };
    c.on('data', (d) => {
      ch.update(d);
      down += d.length;
      if (down === SIZE) {
        downHash = ch.digest('hex');
        maybeEnd();
      }
    });
    c.on('close', () => done.resolve());
    const cpump = () => {
      while (up < SIZE) {
        up += CHUNK;
        if (!c.write(toServer)) return c.once('drain', cpump);
      }
      maybeEnd();
    };
    cpump();
    await done.promise;
    srv.close();
    await expectClean(t, 10);
  }, {}, 120);
  t.is(upHash, expectedUp);
  t.is(downHash, expectedDown);
  t.true(drains > 0, 'writeSocketData returned false and drainCb resumed the pump');
});

test('writeSocketData returns false above the high watermark and drainCb runs at the low one', async (t) => {
  const { server, port } = await nodeServer((s) => {
    s.pause();
    setTimeout(() => s.resume(), 100);
  });
  await runLoop(t, async () => {
    const done = deferred();
    const results: boolean[] = [];
    as.tcpConnect('127.0.0.1', port, null, {
      connectCb: (s) => {
        s.setWriteBufferLimits(1024, 256);
        t.deepEqual(s.getWriteBufferLimits(), [256, 1024]);
        results.push(as.writeSocketData(s, Buffer.alloc(512)));
        // Well beyond what the kernel takes at once, so our queue holds the rest.
        results.push(as.writeSocketData(s, Buffer.alloc(32 * MiB)));
      },
      drainCb: (s) => {
        t.true(s.writeBufferSize <= 256);
        as.closeSocket(s);
        done.resolve();
      },
    });
    await done.promise;
    t.deepEqual(results, [true, false]);
    await expectClean(t, 10);
  });
  await closeServer(server);
});

test('small and large writes, strings and Buffers, arrive in the order written', async (t) => {
  // Large Buffers are written from their own memory under the main driver and small ones
  // through the op memory: the order must hold across both, and across a connect still under way.
  const sizes = [10, 20 * 1024, 3, 100 * 1024, 1, 16 * 1024, 16 * 1024 - 1, 700 * 1024, 5, 64 * 1024];
  const pieces: Array<string | Buffer> = sizes.map((n, i) => (i % 4 === 2 ? 'x'.repeat(n) : pattern(Math.ceil(n / 4) * 4, i + 1).subarray(0, n)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const expected = sha256(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  const received = deferred<string>();
  const { server, port } = await nodeServer((s) => {
    const chunks: Buffer[] = [];
    let n = 0;
    s.on('data', (d) => {
      chunks.push(d);
      n += d.length;
      if (n === total) received.resolve(sha256(chunks));
    });
  });
  await runLoop(t, async () => {
    const flushed = deferred();
    const sock = as.tcpConnect('127.0.0.1', port, () => {}, {});
    // Half before the connect completes, half after the first write callback.
    const half = pieces.length / 2;
    for (let i = 0; i < half; i++) as.writeSocketData(sock, pieces[i]!);
    as.writeSocketData(sock, Buffer.alloc(0), {
      writeCb: (s) => {
        for (let i = half; i < pieces.length; i++) as.writeSocketData(s, pieces[i]!, i === pieces.length - 1 ? { writeCb: () => flushed.resolve() } : {});
      },
    });
    await flushed.promise;
    t.is(sock.writeBufferSize, 0);
    as.closeSocket(sock);
    await expectClean(t, 10);
  });
  t.is(await received.promise, expected);
  await closeServer(server);
});
