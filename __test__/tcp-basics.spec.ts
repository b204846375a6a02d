import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { closeServer, nodeEchoServer, nodeServer } from './tcp-peers';

test('echo: our client against a node:net echo server', async (t) => {
  const { server, port } = await nodeEchoServer();
  let got = '';
  let connected = false;
  await runLoop(t, async () => {
    const done = deferred();
    as.tcpConnect('127.0.0.1', port, (sock, data: Buffer) => {
      got += data.toString();
      if (got === 'hello evasync') {
        as.closeSocket(sock);
        done.resolve();
      }
    }, {
      data: 'hello evasync',
      connectCb: (s) => {
        connected = true;
        t.is(s.remotePort, port);
        t.is(s.remoteAddress, '127.0.0.1');
        t.true(s.fd > 0);
        t.is(typeof s.localPort, 'number');
      },
    });
    await done.promise;
    await expectClean(t);
  });
  t.true(connected);
  t.is(got, 'hello evasync');
  await closeServer(server);
});

test('echo: node:net client against our tcpServer', async (t) => {
  let reply = '';
  await runLoop(t, async () => {
    let connects = 0;
    const srv = as.tcpServer('127.0.0.1', 0, (sock, data: Buffer) => {
      as.writeSocketData(sock, data);
    }, { connectCb: () => connects++ });
    t.false(srv.closed);
    t.true(srv.port > 0);
    t.is(srv.address, '127.0.0.1');
    const done = deferred();
    const c = net.connect(srv.port, '127.0.0.1', () => c.write('ping from node'));
    c.on('data', (d) => {
      reply += d.toString();
      if (reply === 'ping from node') {
        c.end();
        done.resolve();
      }
    });
    await done.promise;
    await sleep(0.05);
    t.is(connects, 1);
    t.is(as.stats().incomingTcpConnections, 0, 'closed after the peer\'s EOF');
    srv.close();
    await expectClean(t);
  });
  t.is(reply, 'ping from node');
});

test('writes queued before connect go out after connect, in order', async (t) => {
  const { server, port } = await nodeEchoServer();
  let got = '';
  await runLoop(t, async () => {
    const done = deferred();
    const s = as.tcpConnect('127.0.0.1', port, (sock, data: Buffer) => {
      got += data.toString();
      if (got.length >= 30) {
        as.closeSocket(sock);
        done.resolve();
      }
    }, { data: 'one-' });
    for (const part of ['two-', 'three-', 'four-', 'five-', 'six-', 'se']) as.writeSocketData(s, part);
    as.writeSocketData(s, Buffer.from('ven'));
    await done.promise;
    await expectClean(t);
  });
  t.is(got, 'one-two-three-four-five-six-seven');
  await closeServer(server);
});

test('writeCb runs once, only after the bytes reached the kernel', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const order: string[] = [];
    const done = deferred();
    const s = as.tcpConnect('127.0.0.1', port, (sock, d: Buffer) => {
      order.push(`read ${d.length}`);
      if (sock.bytesRead === 5) {
        as.closeSocket(sock);
        done.resolve();
      }
    });
    as.writeSocketData(s, 'hello', {
      writeCb: (sock) => {
        order.push('writeCb');
        t.is(sock, s);
        t.is(sock.writeBufferSize, 0);
      },
    });
    order.push('after write');
    t.is(s.writeBufferSize, 5);
    t.is(s.bytesWritten, 5);
    await done.promise;
    t.deepEqual(order.slice(0, 2), ['after write', 'writeCb']);
    t.is(order.filter((o) => o === 'writeCb').length, 1);
    await expectClean(t);
  });
  await closeServer(server);
});

test('socket.data is a free slot; tcpSend with opts.socket writes and swaps callbacks', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const done = deferred();
    const first = (sock: as.Socket) => {
      sock.data = { step: 1 };
      as.tcpSend('ignored', 0, 'second', (s2, d: Buffer) => {
        t.is(s2, sock);
        t.is(d.toString(), 'second');
        t.deepEqual(s2.data, { step: 1 });
        as.closeSocket(s2);
        done.resolve();
      }, undefined, { socket: sock });
    };
    const s = as.tcpSend('127.0.0.1', port, 'first', (sock, d: Buffer) => {
      t.is(d.toString(), 'first');
      first(sock);
    });
    t.true(s instanceof as.Socket);
    await done.promise;
    await expectClean(t);
  });
  await closeServer(server);
});

test('write, close and timeouts on a closed socket throw SocketClosed', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const done = deferred<as.Socket>();
    as.tcpConnect('127.0.0.1', port, null, { connectCb: (s) => done.resolve(s) });
    const s = await done.promise;
    as.closeSocket(s);
    t.true(s.closed);
    const closed = { instanceOf: as.SocketClosed };
    t.throws(() => as.writeSocketData(s, 'x'), closed);
    t.throws(() => as.closeSocket(s), closed);
    t.throws(() => as.setSocketTimeouts(s, 1, 1), closed);
    t.throws(() => as.enableSocket(s), closed);
    t.throws(() => as.disableSocket(s), closed);
    const e = t.throws(() => as.writeSocketData(s, 'x'));
    t.is((e as as.SocketClosed).code, 'EVASYNC_SOCKET_CLOSED');
    await expectClean(t);
  });
  await closeServer(server);
});

test('refused port yields ConnectionRefused exactly once', async (t) => {
  // A port that was just free: bind, note, close.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await closeServer(probe);
  const events: unknown[] = [];
  let connectCalled = false;
  await runLoop(t, async () => {
    const s = as.tcpConnect('127.0.0.1', port, () => t.fail('read'), {
      eventCb: (ev) => events.push(ev),
      connectCb: () => {
        connectCalled = true;
      },
    });
    await sleep(0.1);
    t.true(s.closed);
    await expectClean(t);
  });
  t.false(connectCalled);
  t.is(events.length, 1);
  const ev = events[0] as as.ConnectionRefused;
  t.true(ev instanceof as.ConnectionRefused);
  t.is(ev.errcode, 'ECONNREFUSED');
  t.regex(ev.errmsg, new RegExp(`127\\.0\\.0\\.1:${port}`));
  t.true(ev.socket instanceof as.Socket);
  t.true(ev.socket.closed, 'closed when the event callback runs');
});

test('an error condition without eventCb goes to defaultEventCb', async (t) => {
  const seen: unknown[] = [];
  await runLoop(t, async () => {
    as.tcpConnect('127.0.0.1', 1, null);
    await sleep(0.1);
  }, { defaultEventCb: (e) => seen.push(e) });
  t.is(seen.length, 1);
  t.true(seen[0] instanceof as.ConnectionRefused);
});

test('without eventCb or defaultEventCb a refused connect ends the loop with the condition', async (t) => {
  const err = await t.throwsAsync(as.startEventLoop(() => {
    as.tcpConnect('127.0.0.1', 1, null);
  }));
  t.true(err instanceof as.ConnectionRefused);
});

test('peer close yields ConnectionEof once and the socket is closed', async (t) => {
  const { server, port } = await nodeServer((s) => s.end('bye'));
  const events: as.ConnectionInfo[] = [];
  let got = '';
  await runLoop(t, async () => {
    as.tcpConnect('127.0.0.1', port, (_s, d: Buffer) => {
      got += d.toString();
    }, {
      eventCb: (ev) => {
        if (!(ev instanceof as.ConnectionInfo)) return t.fail(String(ev));
        events.push(ev);
        t.true(ev.socket.closed);
      },
    });
    await sleep(0.1);
    await expectClean(t);
  });
  t.is(got, 'bye');
  t.is(events.length, 1);
  t.true(events[0] instanceof as.ConnectionEof);
  t.false(events[0] instanceof as.ConnectionError);
  await closeServer(server);
});

test('allowHalfOpen keeps the socket open after EOF so it can still write', async (t) => {
  let reply = '';
  const { server, port } = await nodeServer((s) => {
    s.on('data', (d) => {
      reply += d.toString();
    });
    s.end('half');
  });
  await runLoop(t, async () => {
    const done = deferred();
    as.tcpConnect('127.0.0.1', port, null, {
      allowHalfOpen: true,
      eventCb: (ev) => {
        if (!(ev instanceof as.ConnectionEof)) return t.fail(String(ev));
        t.false(ev.socket.closed);
        as.writeSocketData(ev.socket, 'still here');
        as.closeSocket(ev.socket);
        done.resolve();
      },
    });
    await done.promise;
    await sleep(0.05);
    await expectClean(t);
  });
  t.is(reply, 'still here');
  await closeServer(server);
});

test('peer reset yields ConnectionReset', async (t) => {
  const { server, port } = await nodeServer((s) => {
    s.once('data', () => s.resetAndDestroy());
  });
  const events: unknown[] = [];
  await runLoop(t, async () => {
    as.tcpConnect('127.0.0.1', port, null, { data: 'x', eventCb: (e) => events.push(e) });
    await sleep(0.2);
    await expectClean(t);
  });
  t.is(events.length, 1);
  t.true(events[0] instanceof as.ConnectionReset);
  t.is((events[0] as as.ConnectionReset).errcode, 'ECONNRESET');
  await closeServer(server);
});

test('closeSocket flushes: the peer gets every byte, then EOF', async (t) => {
  const size = 8 * 1024 * 1024;
  let received = 0;
  const ended = deferred();
  const { server, port } = await nodeServer((s) => {
    s.on('data', (d) => {
      received += d.length;
    });
    s.on('end', () => ended.resolve());
  });
  await runLoop(t, async () => {
    const s = as.tcpConnect('127.0.0.1', port, null);
    as.writeSocketData(s, Buffer.alloc(size, 7));
    as.closeSocket(s);
    t.true(s.closed);
    await ended.promise;
    await expectClean(t);
  });
  t.is(received, size);
  await closeServer(server);
});

test('closeSocket force drops pending data: the peer never gets it and the connection is reset', async (t) => {
  const size = 64 * 1024 * 1024;
  let received = 0;
  const ended = deferred<string>();
  const { server, port } = await nodeServer((s) => {
    s.pause();
    s.on('data', (d) => {
      received += d.length;
    });
    // A paused Node socket reports a reset as 'end' (Linux hands it EOF after the RST), an
    // active one as ECONNRESET: both mean the connection is gone with the queued data.
    s.on('error', (e: NodeJS.ErrnoException) => ended.resolve(e.code ?? 'error'));
    s.on('end', () => ended.resolve('end'));
    setTimeout(() => s.resume(), 200);
  });
  await runLoop(t, async () => {
    const done = deferred();
    as.tcpConnect('127.0.0.1', port, null, {
      connectCb: (s) => {
        as.writeSocketData(s, Buffer.alloc(size, 1));
        as.delay(() => {
          as.closeSocket(s, { force: true });
          t.true(s.closed);
          done.resolve();
        }, { time: 0.05 });
      },
    });
    await done.promise;
    await expectClean(t);
  });
  t.regex(await ended.promise, /^(end|ECONNRESET)$/);
  t.true(received < size, `the peer got ${received} of ${size} bytes`);
  await closeServer(server);
});

test('server close leaves accepted sockets open', async (t) => {
  let reply = '';
  await runLoop(t, async () => {
    const srv = as.tcpServer('127.0.0.1', 0, (sock, d: Buffer) => as.writeSocketData(sock, d));
    const c = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => c.once('connect', r));
    await sleep(0.05);
    as.closeTcpServer(srv);
    t.true(srv.closed);
    srv.close();
    t.is(as.stats().servers, 0);
    t.is(as.stats().incomingTcpConnections, 1);
    // A new connection is refused now.
    const refused = await new Promise<string>((r) => {
      const c2 = net.connect(srv.port, '127.0.0.1');
      c2.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? ''));
      c2.on('connect', () => {
        c2.destroy();
        r('connected');
      });
    });
    t.is(refused, 'ECONNREFUSED');
    const done = deferred();
    c.on('data', (d) => {
      reply += d.toString();
      c.end();
      done.resolve();
    });
    c.write('still served');
    await done.promise;
    await expectClean(t);
  });
  t.is(reply, 'still served');
});

test('a second server on the same port yields AddressInUse and the first is unaffected', async (t) => {
  await runLoop(t, async () => {
    const first = as.tcpServer('127.0.0.1', 0, (s, d: Buffer) => as.writeSocketData(s, d));
    const events: unknown[] = [];
    const second = as.tcpServer('127.0.0.1', first.port, null, (e) => events.push(e));
    t.true(second.closed);
    t.is(events.length, 0, 'reported asynchronously');
    await sleep(0.02);
    t.is(events.length, 1);
    t.true(events[0] instanceof as.AddressInUse);
    t.is((events[0] as as.AddressInUse).errcode, 'EADDRINUSE');
    t.regex((events[0] as as.AddressInUse).errmsg, new RegExp(String(first.port)));
    const echoed = await new Promise<string>((r) => {
      const c = net.connect(first.port, '127.0.0.1', () => c.write('first ok'));
      c.on('data', (d) => {
        c.end();
        r(d.toString());
      });
    });
    t.is(echoed, 'first ok');
    first.close();
    await expectClean(t);
  });
});

test('tcpServer accepts an options object, IPv6 and the :: wildcard', async (t) => {
  await runLoop(t, async () => {
    const srv = as.tcpServer('::', 0, (s, d: Buffer) => as.writeSocketData(s, d), { backlog: -1, reuseAddress: true });
    t.is(srv.address, '::');
    const v4 = await new Promise<string>((r) => {
      const c = net.connect(srv.port, '127.0.0.1', () => c.write('v4'));
      c.on('data', (d) => {
        c.end();
        r(d.toString());
      });
    });
    const v6 = await new Promise<string>((r) => {
      const c = net.connect(srv.port, '::1', () => c.write('v6'));
      c.on('data', (d) => {
        c.end();
        r(d.toString());
      });
    });
    t.is(v4, 'v4');
    t.is(v6, 'v6');
    srv.close();
    await expectClean(t);
  });
});

test('our client connects over IPv6 and by the name localhost', async (t) => {
  await runLoop(t, async () => {
    const srv = as.tcpServer('::', 0, (s, d: Buffer) => as.writeSocketData(s, d));
    for (const host of ['::1', 'localhost']) {
      const done = deferred<string>();
      as.tcpConnect(host, srv.port, (s, d: Buffer) => {
        as.closeSocket(s);
        done.resolve(d.toString());
      }, { data: host });
      t.is(await done.promise, host);
    }
    srv.close();
    await expectClean(t);
  });
});

test('maxConnections: beyond it new connections are accepted and closed at once', async (t) => {
  await runLoop(t, async () => {
    const srv = as.tcpServer('127.0.0.1', 0, null, { maxConnections: 1 });
    const a = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => a.once('connect', r));
    await sleep(0.05);
    const b = net.connect(srv.port, '127.0.0.1');
    const bClosed = await new Promise<boolean>((r) => {
      b.on('close', () => r(true));
      b.on('error', () => {});
    });
    t.true(bClosed);
    t.is(as.stats().incomingTcpConnections, 1);
    a.destroy();
    srv.close();
    await expectClean(t);
  });
});

test('bad arguments throw TypeError/RangeError synchronously', async (t) => {
  await runLoop(t, () => {
    t.throws(() => as.tcpConnect('127.0.0.1', 70000, null), { instanceOf: RangeError });
    t.throws(() => as.tcpConnect('', 80, null), { instanceOf: TypeError });
    t.throws(() => as.tcpServer('127.0.0.1', -1, null), { instanceOf: RangeError });
    t.throws(() => as.writeSocketData({} as as.Socket, 'x'), { instanceOf: TypeError });
  });
});

test('an accepted socket knows its own address: the bound one, or the one a wildcard listener was reached on', async (t) => {
  await runLoop(t, async () => {
    const seen: Array<[string | undefined, number | undefined]> = [];
    const done = deferred();
    const onConnect = (s: as.Socket) => {
      seen.push([s.localAddress, s.localPort]);
      as.closeSocket(s);
      if (seen.length === 2) done.resolve();
    };
    const specific = as.tcpServer('127.0.0.1', 0, () => {}, { connectCb: onConnect });
    const wildcard = as.tcpServer('0.0.0.0', 0, () => {}, { connectCb: onConnect });
    const a = net.connect(specific.port, '127.0.0.1');
    a.on('error', () => {});
    await new Promise((r) => setTimeout(r, 50));
    const b = net.connect(wildcard.port, '127.0.0.3');
    b.on('error', () => {});
    await done.promise;
    a.destroy();
    b.destroy();
    t.deepEqual(seen, [
      ['127.0.0.1', specific.port],
      ['127.0.0.3', wildcard.port],
    ]);
    as.closeTcpServer(specific);
    as.closeTcpServer(wildcard);
    await expectClean(t);
  });
});
