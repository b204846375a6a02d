import * as net from 'node:net';

import test, { type ExecutionContext } from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { closeServer, nodeEchoServer, nodeServer } from './tcp-peers';

/** A protocol that records every call, in order. */
/**
 * Closes a client transport, waits until its protocol saw the connection lost, closes and awaits
 * the server when one is given, and checks that stats are back to 0.
 */
async function closeAndCheck(t: ExecutionContext, tr: as.Transport, p: Recorder, srv?: as.Server): Promise<void> {
  tr.close();
  await p.lost.promise;
  if (srv) {
    srv.close();
    await srv.waitClosed();
  }
  await expectClean(t);
}

class Recorder implements as.Protocol {
  calls: string[] = [];
  transport?: as.Transport;
  data: Buffer[] = [];
  lostWith: Error | null | undefined = undefined;
  keepOpenOnEof = false;
  lost = deferred<Error | null>();
  made = deferred<as.Transport>();
  connectionMade(t: as.Transport): void {
    this.calls.push('made');
    this.transport = t;
    this.made.resolve(t);
  }
  dataReceived(d: Buffer): void {
    this.calls.push('data');
    this.data.push(d);
  }
  eofReceived(): boolean {
    this.calls.push('eof');
    return this.keepOpenOnEof;
  }
  connectionLost(exc: Error | null): void {
    this.calls.push('lost');
    this.lostWith = exc;
    this.lost.resolve(exc);
  }
  pauseWriting(): void {
    this.calls.push('pause');
  }
  resumeWriting(): void {
    this.calls.push('resume');
  }
  text(): string {
    return Buffer.concat(this.data).toString();
  }
}

/**
 * The common scaffold: a node:net echo peer, a transport to it with a Recorder, `body`, then
 * close, `connectionLost`, stats back to 0, and the peer closed.
 */
async function withEchoTransport(
  t: ExecutionContext,
  body: (tr: as.Transport, p: Recorder) => Promise<void>,
  opts: as.EventLoopOptions = {},
): Promise<void> {
  const { server, port } = await nodeEchoServer();
  try {
    await runLoop(t, async () => {
      const p = new Recorder();
      const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
      await body(tr, p);
      await closeAndCheck(t, tr, p);
    }, opts);
  } finally {
    await closeServer(server);
  }
}

/** A createServer whose connections each get a Recorder, kept in `protos`. */
async function recordingServer(): Promise<{ srv: as.Server; protos: Recorder[]; port: number }> {
  const protos: Recorder[] = [];
  const srv = await as.createServer(() => {
    const p = new Recorder();
    protos.push(p);
    return p;
  }, '127.0.0.1', 0);
  return { srv, protos, port: srv.sockets[0]!.port };
}

/** An echo server made with createServer. */
class Echo implements as.Protocol {
  t?: as.Transport;
  connectionMade(t: as.Transport) {
    this.t = t;
  }
  dataReceived(d: Buffer) {
    this.t!.write(d);
  }
}

test('call order: connectionMade, dataReceived, eofReceived, connectionLost(null)', async (t) => {
  const { server, port } = await nodeServer((s) => s.end('hello'));
  const p = new Recorder();
  await runLoop(t, async () => {
    const [transport, proto] = await as.createConnection(() => p, '127.0.0.1', port);
    t.is(proto, p);
    t.true(transport instanceof as.Transport);
    t.is(p.calls[0], 'made', 'createConnection resolves after connectionMade');
    t.is(await p.lost.promise, null);
    await expectClean(t);
  });
  t.deepEqual(p.calls, ['made', 'data', 'eof', 'lost']);
  t.is(p.text(), 'hello');
  await closeServer(server);
});

test('dataReceived never gets empty data and buffers stay valid after it returns', async (t) => {
  const { server, port } = await nodeEchoServer();
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    tr.write('abc');
    tr.write('');
    tr.write(Buffer.from('def'));
    while (p.text().length < 6) await sleep(0.01);
    await closeAndCheck(t, tr, p);
  });
  t.true(p.data.every((d) => d.length > 0));
  t.is(p.text(), 'abcdef');
  await closeServer(server);
});

test('createServer echoes with a protocol per connection and reports its sockets', async (t) => {
  await runLoop(t, async () => {
    const srv = await as.createServer(() => new Echo(), '127.0.0.1', 0);
    t.true(srv instanceof as.Server);
    t.true(srv.isServing());
    const [sock] = srv.sockets;
    t.is(sock!.address, '127.0.0.1');
    t.is(sock!.family, 4);
    const replies = await Promise.all([1, 2, 3].map((i) => new Promise<string>((r) => {
      const c = net.connect(sock!.port, '127.0.0.1', () => c.write(`conn ${i}`));
      c.on('data', (d) => {
        c.end();
        r(d.toString());
      });
    })));
    t.deepEqual(replies, ['conn 1', 'conn 2', 'conn 3']);
    srv.close();
    await srv.waitClosed();
    await expectClean(t);
  });
});

test('createServer with host null binds 0.0.0.0 and :: on one port', async (t) => {
  await runLoop(t, async () => {
    const srv = await as.createServer(() => new Echo(), null, 0);
    const socks = srv.sockets;
    t.is(socks.length, 2);
    t.deepEqual(socks.map((s) => s.address).sort(), ['0.0.0.0', '::']);
    t.is(socks[0]!.port, socks[1]!.port);
    for (const host of ['127.0.0.1', '::1']) {
      const reply = await new Promise<string>((r) => {
        const c = net.connect(socks[0]!.port, host, () => c.write(host));
        c.on('data', (d) => {
          c.end();
          r(d.toString());
        });
      });
      t.is(reply, host);
    }
    srv.close();
    await srv.waitClosed();
    await expectClean(t);
  });
});

test('createServer with a list binds each distinct host', async (t) => {
  await runLoop(t, async () => {
    const srv = await as.createServer(() => new Echo(), ['127.0.0.1', '127.0.0.1', '::1'], 0);
    t.is(srv.sockets.length, 2);
    t.deepEqual(srv.sockets.map((s) => s.family).sort(), [4, 6]);
    srv.close();
    await expectClean(t);
  });
});

test('a port in use rejects createServer with AddressInUse', async (t) => {
  await runLoop(t, async () => {
    const first = await as.createServer(() => new Echo(), '127.0.0.1', 0);
    const err = await t.throwsAsync(as.createServer(() => new Echo(), '127.0.0.1', first.sockets[0]!.port));
    t.true(err instanceof as.AddressInUse);
    t.true(first.isServing(), 'the first server is unaffected');
    first.close();
    await expectClean(t);
  });
});

test('createConnection to a refused port rejects with ConnectionRefused', async (t) => {
  await runLoop(t, async () => {
    const err = await t.throwsAsync(as.createConnection(() => new Recorder(), '127.0.0.1', 1));
    t.true(err instanceof as.ConnectionRefused);
    t.is((err as as.ConnectionRefused).errcode, 'ECONNREFUSED');
    await expectClean(t);
  });
});

test('createConnection by name resolves localhost', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const p = new Recorder();
    const [tr] = await as.createConnection(() => p, 'localhost', port, { family: 4 });
    t.is((tr.getExtraInfo('peername') as [string, number])[0], '127.0.0.1');
    await closeAndCheck(t, tr, p);
  });
  await closeServer(server);
});

test('createConnection and createServer throw EventLoopError without a loop', (t) => {
  t.throws(() => as.createConnection(() => ({}), '127.0.0.1', 1), { instanceOf: as.EventLoopError });
  t.throws(() => as.createServer(() => ({}), '127.0.0.1', 0), { instanceOf: as.EventLoopError });
});

test('close() flushes a large buffer before connectionLost(null)', async (t) => {
  const size = 16 * 1024 * 1024;
  let got = 0;
  const ended = deferred();
  const { server, port } = await nodeServer((s) => {
    s.on('data', (d) => {
      got += d.length;
    });
    s.on('end', () => ended.resolve());
  });
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    tr.write(Buffer.alloc(size, 1));
    tr.close();
    t.true(tr.isClosing());
    t.deepEqual(p.calls.filter((c) => c === 'lost'), [], 'connectionLost is not called from inside close()');
    t.is(await p.lost.promise, null);
    await ended.promise;
    await expectClean(t);
  });
  t.is(got, size);
  await closeServer(server);
});

test('abort() drops buffered data and calls connectionLost(null)', async (t) => {
  let got = 0;
  const { server, port } = await nodeServer((s) => {
    s.pause();
    s.on('data', (d) => {
      got += d.length;
    });
    setTimeout(() => s.resume(), 150);
  });
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    tr.write(Buffer.alloc(64 * 1024 * 1024, 1));
    tr.abort();
    t.false(p.calls.includes('lost'), 'not synchronously');
    t.is(await p.lost.promise, null);
    await sleep(0.3);
    await expectClean(t);
  });
  t.true(got < 64 * 1024 * 1024);
  await closeServer(server);
});

test('pauseWriting runs inside write() when the buffer goes over high; resumeWriting once at low', async (t) => {
  const { server, port } = await nodeServer((s) => {
    s.pause();
    setTimeout(() => s.resume(), 100);
  });
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    tr.setWriteBufferLimits(4096);
    t.deepEqual(tr.getWriteBufferLimits(), [1024, 4096]);
    tr.write(Buffer.alloc(40 * 1024 * 1024));
    t.deepEqual(p.calls, ['made', 'pause'], 'paused synchronously inside write()');
    tr.write(Buffer.alloc(10));
    t.is(p.calls.filter((c) => c === 'pause').length, 1, 'paused once');
    while (!p.calls.includes('resume')) await sleep(0.02);
    t.true(tr.getWriteBufferSize() <= 1024);
    t.is(p.calls.filter((c) => c === 'resume').length, 1);
    await closeAndCheck(t, tr, p);
  });
  await closeServer(server);
});

test('setWriteBufferLimits: high only, low only, none; bad limits throw', async (t) => {
  await withEchoTransport(t, async (tr, p) => {
  t.deepEqual(tr.getWriteBufferLimits(), [16384, 65536], 'defaults');
  tr.setWriteBufferLimits(1000);
  t.deepEqual(tr.getWriteBufferLimits(), [250, 1000]);
  tr.setWriteBufferLimits(undefined, 300);
  t.deepEqual(tr.getWriteBufferLimits(), [300, 1200]);
  tr.setWriteBufferLimits();
  t.deepEqual(tr.getWriteBufferLimits(), [16384, 65536]);
  t.throws(() => tr.setWriteBufferLimits(10, 20), { instanceOf: RangeError });
  });
});

test('setting limits below the buffered size pauses at once', async (t) => {
  const { server, port } = await nodeServer((s) => s.pause());
  await runLoop(t, async () => {
    const p = new Recorder();
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    // Limits above the write, so that writing does not pause…
    tr.setWriteBufferLimits(64 * 1024 * 1024);
    tr.write(Buffer.alloc(32 * 1024 * 1024));
    t.false(p.calls.includes('pause'));
    // …and then below what is buffered: pauseWriting at once, inside setWriteBufferLimits.
    tr.setWriteBufferLimits(1);
    t.true(p.calls.includes('pause'));
    tr.abort();
    await p.lost.promise;
    await expectClean(t);
  });
  await closeServer(server);
});

test('writeEof half-closes after the buffer drains; later write() throws; idempotent', async (t) => {
  let received = '';
  const ended = deferred();
  const { server, port } = await nodeServer((s) => {
    s.on('data', (d) => {
      received += d.toString();
    });
    s.on('end', () => {
      ended.resolve();
      s.end('bye after your eof');
    });
  });
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    t.true(tr.canWriteEof());
    tr.write('last words');
    tr.writeEof();
    tr.writeEof();
    t.throws(() => tr.write('x'), { instanceOf: Error, message: /writeEof/ });
    await ended.promise;
    t.is(await p.lost.promise, null);
    await expectClean(t);
  });
  t.is(received, 'last words');
  t.is(p.text(), 'bye after your eof', 'reading continued after our EOF');
  t.deepEqual(p.calls, ['made', 'data', 'eof', 'lost']);
  await closeServer(server);
});

test('eofReceived returning true keeps the write side open (half-close)', async (t) => {
  let reply = '';
  const done = deferred();
  const { server, port } = await nodeServer((s) => {
    s.on('data', (d) => {
      reply += d.toString();
    });
    s.on('end', () => done.resolve());
    s.end('question');
  });
  const p = new Recorder();
  p.keepOpenOnEof = true;
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    while (!p.calls.includes('eof')) await sleep(0.01);
    t.false(tr.isClosing());
    tr.write('answer after eof');
    tr.close();
    await p.lost.promise;
    await done.promise;
    await expectClean(t);
  });
  t.is(reply, 'answer after eof');
  await closeServer(server);
});

test('eofReceived at most once, and a falsy return closes the transport', async (t) => {
  const { server, port } = await nodeServer((s) => s.end());
  const p = new Recorder();
  await runLoop(t, async () => {
    await as.createConnection(() => p, '127.0.0.1', port);
    await p.lost.promise;
    await expectClean(t);
  });
  t.deepEqual(p.calls, ['made', 'eof', 'lost']);
  await closeServer(server);
});

test('a reset reaches connectionLost as ConnectionReset', async (t) => {
  const { server, port } = await nodeServer((s) => s.once('data', () => s.resetAndDestroy()));
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    tr.write('x');
    const exc = await p.lost.promise;
    t.true(exc instanceof as.ConnectionReset);
    await expectClean(t);
  });
  t.is(p.calls.filter((c) => c === 'lost').length, 1);
  await closeServer(server);
});

test('an exception in dataReceived: with catchAppErrors, defaultEventCb gets it and connectionLost(that error)', async (t) => {
  const { server, port } = await nodeEchoServer();
  const boom = new Error('bad data');
  const seen: unknown[] = [];
  class Throws extends Recorder {
    override dataReceived(d: Buffer): void {
      super.dataReceived(d);
      throw boom;
    }
  }
  const p = new Throws();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    tr.write('ping');
    t.is(await p.lost.promise, boom);
    t.true(tr.isClosing());
    await expectClean(t);
  }, { catchAppErrors: true, defaultEventCb: (e) => seen.push(e) });
  t.deepEqual(seen, [boom]);
  await closeServer(server);
});

test('an exception in dataReceived without catchAppErrors ends the loop with it', async (t) => {
  const { server, port } = await nodeEchoServer();
  const boom = new Error('unhandled in protocol');
  const err = await t.throwsAsync(as.startEventLoop(async () => {
    const [tr] = await as.createConnection(() => ({
      dataReceived() {
        throw boom;
      },
    }), '127.0.0.1', port);
    tr.write('x');
  }));
  t.is(err, boom);
  await closeServer(server);
});

test('an exception in eofReceived reaches connectionLost with catchAppErrors', async (t) => {
  const { server, port } = await nodeServer((s) => s.end());
  const boom = new Error('eof handler failed');
  class Throws extends Recorder {
    override eofReceived(): boolean {
      throw boom;
    }
  }
  const p = new Throws();
  await runLoop(t, async () => {
    await as.createConnection(() => p, '127.0.0.1', port);
    t.is(await p.lost.promise, boom);
    await expectClean(t);
  }, { catchAppErrors: true, defaultEventCb: () => {} });
  await closeServer(server);
});

test('write after close is dropped, warning from the 5th such write on', async (t) => {
  const { server, port } = await nodeEchoServer();
  const logs: Array<[number, string]> = [];
  await runLoop(t, async () => {
    const p = new Recorder();
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    tr.close();
    for (let i = 0; i < 7; i++) tr.write('dropped');
    t.is(logs.length, 3, 'writes 5, 6 and 7 warned');
    t.true(logs.every(([level]) => level === 4));
    await p.lost.promise;
    await expectClean(t);
  }, { loggerCb: (level, msg) => logs.push([level, msg]) });
  await closeServer(server);
});

test('getExtraInfo: peername, sockname, socket, defaults; still valid after close', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const p = new Recorder();
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    const peer = tr.getExtraInfo('peername') as [string, number];
    const sock = tr.getExtraInfo('sockname') as [string, number];
    t.deepEqual(peer, ['127.0.0.1', port]);
    t.is(sock[0], '127.0.0.1');
    t.true(sock[1] > 0);
    t.true((tr.getExtraInfo('socket') as number) > 0);
    t.is(tr.getExtraInfo('sslcontext'), undefined);
    t.is(tr.getExtraInfo('peercert', 'none'), 'none');
    t.is(tr.getExtraInfo('nonsense', 42), 42);
    tr.close();
    await p.lost.promise;
    t.deepEqual(tr.getExtraInfo('peername'), peer);
    t.deepEqual(tr.getExtraInfo('sockname'), sock);
    await expectClean(t);
  });
  await closeServer(server);
});

test('setProtocol mid-stream: later data goes to the new protocol, no connectionMade on it', async (t) => {
  const { server, port } = await nodeEchoServer();
  const first = new Recorder();
  const second = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => first, '127.0.0.1', port);
    tr.write('one');
    while (first.text() !== 'one') await sleep(0.01);
    tr.setProtocol(second);
    t.is(tr.getProtocol(), second);
    tr.write('two');
    while (second.text() !== 'two') await sleep(0.01);
    await closeAndCheck(t, tr, second);
  });
  t.deepEqual(first.calls, ['made', 'data']);
  t.deepEqual(second.calls, ['data', 'lost']);
  await closeServer(server);
});

test('pauseReading stops dataReceived until resumeReading; isReading tells', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const p = new Recorder();
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    t.true(tr.isReading());
    tr.pauseReading();
    tr.pauseReading();
    t.false(tr.isReading());
    tr.write('held back');
    await sleep(0.15);
    t.is(p.text(), '');
    tr.resumeReading();
    t.true(tr.isReading());
    while (p.text() !== 'held back') await sleep(0.01);
    tr.close();
    t.false(tr.isReading());
    await p.lost.promise;
    await expectClean(t);
  });
  await closeServer(server);
});

test('writelines writes each item in order', async (t) => {
  await withEchoTransport(t, async (tr, p) => {
  tr.writelines(['a', Buffer.from('b'), new Uint8Array([99])]);
  while (p.text().length < 3) await sleep(0.01);
  t.is(p.text(), 'abc');
  });
});

test('Server.close stops listening but leaves connections; waitClosed waits for them', async (t) => {
  await runLoop(t, async () => {
    const { srv, protos, port } = await recordingServer();
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    await new Promise((r) => c.once('connect', r));
    while (protos.length < 1) await sleep(0.01);
    srv.close();
    t.false(srv.isServing());
    let waited = false;
    const w = srv.waitClosed().then(() => {
      waited = true;
    });
    await sleep(0.05);
    t.false(waited, 'a connection is still open');
    const refused = await new Promise<string>((r) => {
      const c2 = net.connect(port, '127.0.0.1');
      c2.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? ''));
      c2.on('connect', () => r('connected'));
    });
    t.is(refused, 'ECONNREFUSED');
    c.end();
    await w;
    t.true(waited);
    t.deepEqual(protos[0]!.calls, ['made', 'eof', 'lost']);
    await expectClean(t);
  });
});

test('closeClients and abortClients end every connection', async (t) => {
  await runLoop(t, async () => {
    const { srv, protos, port } = await recordingServer();
    const clients = [0, 1, 2, 3].map(() => {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => {});
      return c;
    });
    while (protos.length < 4) await sleep(0.01);
    srv.close();
    srv.closeClients();
    await Promise.all(protos.map((p) => p.lost.promise));
    t.true(protos.every((p) => p.lostWith === null));
    await srv.waitClosed();
    clients.forEach((c) => c.destroy());
    const srv2 = await as.createServer(() => new Recorder(), '127.0.0.1', 0);
    const c2 = net.connect(srv2.sockets[0]!.port, '127.0.0.1');
    c2.on('error', () => {});
    await sleep(0.05);
    srv2.close();
    srv2.abortClients();
    await srv2.waitClosed();
    c2.destroy();
    await expectClean(t);
  });
});

test('startServing: false binds now and accepts only after startServing()', async (t) => {
  await runLoop(t, async () => {
    let made = 0;
    const srv = await as.createServer(() => ({ connectionMade: () => made++ }), '127.0.0.1', 0, { startServing: false });
    t.false(srv.isServing());
    const c = net.connect(srv.sockets[0]!.port, '127.0.0.1');
    c.on('error', () => {});
    await sleep(0.1);
    t.is(made, 0, 'not accepted yet (the kernel holds it in the backlog)');
    await srv.startServing();
    t.true(srv.isServing());
    while (made < 1) await sleep(0.01);
    c.destroy();
    srv.close();
    await srv.waitClosed();
    await expectClean(t);
  });
});

test('serveForever resolves after close()', async (t) => {
  await runLoop(t, async () => {
    const srv = await as.createServer(() => new Echo(), '127.0.0.1', 0, { startServing: false });
    let resolved = false;
    const forever = srv.serveForever().then(() => {
      resolved = true;
    });
    await sleep(0.02);
    t.true(srv.isServing());
    t.false(resolved);
    srv.close();
    await forever;
    t.true(resolved);
    await expectClean(t);
  });
});

test('large writes through a createServer echo arrive intact', async (t) => {
  const size = 8 * 1024 * 1024;
  await runLoop(t, async () => {
    const srv = await as.createServer(() => new Echo(), '127.0.0.1', 0);
    const p = new Recorder();
    const [tr] = await as.createConnection(() => p, '127.0.0.1', srv.sockets[0]!.port);
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = i % 251;
    tr.write(payload);
    while (p.data.reduce((n, d) => n + d.length, 0) < size) await sleep(0.01);
    t.true(Buffer.concat(p.data).equals(payload));
    await closeAndCheck(t, tr, p, srv);
  });
});

test('a protocol factory that throws rejects createConnection', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const boom = new Error('factory');
    const err = await t.throwsAsync(as.createConnection(() => {
      throw boom;
    }, '127.0.0.1', port));
    t.is(err, boom);
    await expectClean(t);
  });
  await closeServer(server);
});

test('connectionMade runs before the data of a server that greets at once', async (t) => {
  const { server, port } = await nodeServer((s) => s.write('greeting'));
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    while (p.text() !== 'greeting') await sleep(0.01);
    await closeAndCheck(t, tr, p);
  });
  t.deepEqual(p.calls, ['made', 'data', 'lost']);
  await closeServer(server);
});

test('close and abort are idempotent and connectionLost runs once', async (t) => {
  const { server, port } = await nodeEchoServer();
  const p = new Recorder();
  await runLoop(t, async () => {
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port);
    t.false(tr.isClosing());
    tr.close();
    tr.close();
    tr.abort();
    t.true(tr.isClosing());
    await p.lost.promise;
    tr.abort();
    tr.close();
    await sleep(0.05);
    await expectClean(t);
  });
  t.deepEqual(p.calls, ['made', 'lost']);
  await closeServer(server);
});

test('getWriteBufferSize falls to 0 once the kernel has everything', async (t) => {
  await withEchoTransport(t, async (tr, p) => {
  tr.write(Buffer.alloc(1000));
  while (p.data.reduce((n, d) => n + d.length, 0) < 1000) await sleep(0.01);
  t.is(tr.getWriteBufferSize(), 0);
  });
});

test('createServer with host null and family 4 binds only 0.0.0.0', async (t) => {
  await runLoop(t, async () => {
    const srv = await as.createServer(() => new Echo(), null, 0, { family: 4, backlog: 16 });
    t.deepEqual(srv.sockets.map((s) => s.address), ['0.0.0.0']);
    srv.close();
    await expectClean(t);
  });
});

test('server and client transports see each other\'s addresses', async (t) => {
  await runLoop(t, async () => {
    const serverSide = deferred<as.Transport>();
    const srv = await as.createServer(() => ({ connectionMade: (tr: as.Transport) => serverSide.resolve(tr) }), '127.0.0.1', 0);
    const p = new Recorder();
    const [client] = await as.createConnection(() => p, '127.0.0.1', srv.sockets[0]!.port);
    const st = await serverSide.promise;
    t.deepEqual(st.getExtraInfo('peername'), client.getExtraInfo('sockname'));
    t.deepEqual(st.getExtraInfo('sockname'), client.getExtraInfo('peername'));
    await closeAndCheck(t, client, p, srv);
  });
});

test('createConnection binds localAddress when given', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const p = new Recorder();
    const [tr] = await as.createConnection(() => p, '127.0.0.1', port, { localAddress: '127.0.0.1' });
    t.is((tr.getExtraInfo('sockname') as [string, number])[0], '127.0.0.1');
    await closeAndCheck(t, tr, p);
  });
  await closeServer(server);
});

test('an exception in connectionMade aborts the transport and reaches connectionLost', async (t) => {
  const { server, port } = await nodeEchoServer();
  const boom = new Error('made failed');
  const seen: unknown[] = [];
  class Throws extends Recorder {
    override connectionMade(tr: as.Transport): void {
      super.connectionMade(tr);
      throw boom;
    }
  }
  const p = new Throws();
  await runLoop(t, async () => {
    await as.createConnection(() => p, '127.0.0.1', port);
    t.is(await p.lost.promise, boom);
    await expectClean(t);
  }, { catchAppErrors: true, defaultEventCb: (e) => seen.push(e) });
  t.deepEqual(seen, [boom]);
  await closeServer(server);
});
