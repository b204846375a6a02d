import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { closeServer, nodeEchoServer } from './tcp-peers';

test('2 000 concurrent clients echo through our server without interleaving', async (t) => {
  const N = 2000;
  let ok = 0;
  let bad = 0;
  await runLoop(t, async () => {
    const srv = as.tcpServer('127.0.0.1', 0, (s, d: Buffer) => as.writeSocketData(s, d), { backlog: 4096 });
    const all = deferred();
    let finished = 0;
    for (let i = 0; i < N; i++) {
      const msg = `client-${i}-`.repeat(20);
      let got = '';
      as.tcpConnect('127.0.0.1', srv.port, (s, d: Buffer) => {
        got += d.toString();
        if (got.length >= msg.length) {
          if (got === msg) ok++;
          else bad++;
          as.closeSocket(s);
          if (++finished === N) all.resolve();
        }
      }, {
        data: msg,
        eventCb: (e) => {
          bad++;
          t.log(String(e));
          if (++finished === N) all.resolve();
        },
      });
    }
    await all.promise;
    srv.close();
    await expectClean(t, 10);
  }, {}, 60);
  t.is(bad, 0);
  t.is(ok, N);
});

test('disableSocket stops reads and enableSocket resumes them', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    let got = '';
    const connected = deferred<as.Socket>();
    const s0 = as.tcpConnect('127.0.0.1', port, (_s, d: Buffer) => {
      got += d.toString();
    }, { connectCb: (s) => connected.resolve(s) });
    const s = await connected.promise;
    t.is(s, s0);
    as.disableSocket(s, { read: true });
    as.writeSocketData(s, 'while disabled');
    await sleep(0.15);
    t.is(got, '', 'no readCb while reading is disabled');
    as.enableSocket(s, { read: true });
    await sleep(0.1);
    t.is(got, 'while disabled');
    // Writing disabled: queued data waits.
    as.disableSocket(s, { write: true });
    as.writeSocketData(s, 'later');
    await sleep(0.1);
    t.is(got, 'while disabled');
    t.is(s.writeBufferSize, 5);
    as.enableSocket(s);
    await sleep(0.1);
    t.is(got, 'while disabledlater');
    as.closeSocket(s);
    await expectClean(t);
  });
  await closeServer(server);
});

test('stream: true gives a Duplex that works with pipeline()', async (t) => {
  await runLoop(t, async () => {
    // Server: upper-cases through pipeline(socket.stream, transform, socket.stream). The client
    // half-closes, so as with Node's net.Socket the server must allow half-open connections: the
    // pipeline then ends our side once the transform has written everything.
    const srv = as.tcpServer('127.0.0.1', 0, null, {
      stream: true,
      allowHalfOpen: true,
      connectCb: (s) => {
        const upper = new Transform({
          transform(chunk: Buffer, _e, cb) {
            cb(null, chunk.toString().toUpperCase());
          },
        });
        pipeline(s.stream, upper, s.stream).catch(() => {});
      },
    });
    const payload = 'abcdefghij'.repeat(100_000);
    const c = net.connect(srv.port, '127.0.0.1');
    let reply = '';
    c.on('data', (d) => {
      reply += d.toString();
    });
    const closed = new Promise((r) => c.on('close', r));
    c.end(payload);
    await closed;
    t.is(reply.length, payload.length);
    t.is(reply, payload.toUpperCase());
    srv.close();
    await expectClean(t, 5);
  });
});

test('stream mode readCb gets the stream; stream.end() half-closes after the flush', async (t) => {
  const { server, port } = await nodeEchoServer();
  await runLoop(t, async () => {
    const done = deferred<string>();
    let sawStream = false;
    let text = '';
    const s = as.tcpConnect('127.0.0.1', port, (_sock, stream) => {
      sawStream = typeof stream.read === 'function';
      let chunk: Buffer | null;
      while ((chunk = stream.read()) !== null) text += chunk.toString();
    }, { stream: true });
    s.stream.on('end', () => done.resolve(text));
    s.stream.end('round trip');
    t.is(await done.promise, 'round trip');
    t.true(sawStream);
    await sleep(0.05);
    await expectClean(t);
  });
  await closeServer(server);
});

test('EMFILE on accept: the server keeps serving and accepts again once descriptors free', async (t) => {
  // The server runs in a child whose soft descriptor limit is low; this process is the client.
  const script = `
    const as = require('evasync');
    as.startEventLoop(() => {
      const srv = as.tcpServer('127.0.0.1', 0, (s, d) => {
        if (d.toString() === 'quit') { srv.close(); as.exitEventLoop(); return; }
        as.writeSocketData(s, d);
      }, { backlog: 512, eventCb: (e) => console.log('event ' + e.errcode) });
      console.log('port ' + srv.port);
    }).then(() => console.log('done'));
  `;
  const child = spawn('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" -e "$0"`, script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n').filter(Boolean)) {
        lines.push(l);
        if (l.startsWith('port ')) resolve(Number(l.slice(5)));
      }
    });
    child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
  const echo = (c: net.Socket, msg: string) =>
    new Promise<string>((r) => {
      c.once('data', (d) => r(d.toString()));
      c.write(msg);
    });
  const open = async (n: number) => {
    const socks: net.Socket[] = [];
    for (let i = 0; i < n; i++) {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => {});
      socks.push(c);
    }
    await Promise.all(socks.map((c) => new Promise((r) => c.once('connect', r))));
    return socks;
  };
  const many = await open(100); // more than the child's 64 descriptors
  await new Promise((r) => setTimeout(r, 300));
  t.true(lines.includes('event EMFILE'), `the server reported EMFILE: ${lines.join(' | ')}`);
  t.is(lines.filter((l) => l === 'event EMFILE').length, 1, 'reported once');
  t.is(await echo(many[0]!, 'early'), 'early', 'open connections are still served');
  // Free descriptors in the child: close the first 60 client connections.
  for (const c of many.splice(0, 60)) c.destroy();
  t.is(await echo(many[many.length - 1]!, 'late'), 'late', 'a connection from the backlog was accepted');
  many[0]!.write('quit');
  many.forEach((c) => c.destroy());
  const exit = await new Promise<number | null>((r) => child.on('exit', r));
  t.is(exit, 0);
  t.true(lines.includes('done'));
});
