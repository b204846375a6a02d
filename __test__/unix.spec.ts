/**
 * Unix domain sockets (API.md §12) against node:net and node:http on the same paths.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { pattern, sha256 } from './tcp-peers';
import { certs } from './tls-certs';

const dir = mkdtempSync(join(tmpdir(), 'evasync-unix-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const sockPath = (name: string) => join(dir, `${name}-${n++}.sock`);

function nodeUnixServer(path: string, onConn: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    onConn(s);
  });
  return new Promise((r) => server.listen(path, () => r(server)));
}

function closeNode(server: net.Server | http.Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

test('pipeServer: node:net clients on the path, addresses, mode, the file removed on close', async (t) => {
  const path = sockPath('server');
  await runLoop(t, async () => {
    const accepted = deferred<as.Socket>();
    const srv = as.pipeServer(path, (s, d: Buffer) => as.writeSocketData(s, d), {
      mode: 0o600,
      connectCb: (s) => accepted.resolve(s),
    });
    t.is(srv.path, path);
    t.false(srv.closed);
    t.is(statSync(path).mode & 0o777, 0o600);
    const c = net.connect(path);
    const s = await accepted.promise;
    t.is(s.localAddress, path);
    t.is(s.remoteAddress, '', 'an unnamed client');
    t.is(s.remotePort, 0);
    t.true(s.fd > 0);
    const echoed = deferred<string>();
    c.on('data', (d) => echoed.resolve(d.toString()));
    c.write('over a unix socket');
    t.is(await echoed.promise, 'over a unix socket');
    t.is(as.stats().incomingTcpConnections, 1, 'Unix connections count as streams');
    c.destroy();
    srv.close();
    t.false(existsSync(path), 'removed before close() returns');
    await expectClean(t);
  });
});

test('pipeConnect: to a node:net server, connectCb and remoteAddress; 10 MiB round trip with sha256', async (t) => {
  const path = sockPath('client');
  const server = await nodeUnixServer(path, (s) => s.pipe(s));
  const payload = pattern(10 * 1024 * 1024, 7);
  await runLoop(t, async () => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = deferred();
    const connected = { socket: null as as.Socket | null };
    const s = as.pipeConnect(path, (_s, d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got === payload.length) done.resolve();
    }, { connectCb: (sock) => (connected.socket = sock) });
    as.writeSocketData(s, payload);
    await done.promise;
    t.is(sha256(chunks), sha256(payload));
    t.is(connected.socket, s);
    t.is(s.remoteAddress, path);
    as.closeSocket(s);
    await expectClean(t);
  });
  await closeNode(server);
});

test('unhappy paths: missing path, a stale file, a taken path, too long a path, a full backlog', async (t) => {
  await runLoop(t, async () => {
    const missing = deferred<unknown>();
    as.pipeConnect(join(dir, 'nothing-here.sock'), null, { eventCb: (e) => missing.resolve(e) });
    const e1 = (await missing.promise) as as.ConnectionError;
    t.true(e1 instanceof as.ConnectionError);
    t.is(e1.errcode, 'ENOENT');
    t.regex(e1.errmsg, /nothing-here\.sock/);

    // A socket file whose listener is gone: a process that listened and exited.
    const stale = sockPath('stale');
    await new Promise<void>((resolve) => {
      const p = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`]);
      p.on('exit', () => resolve());
    });
    t.true(existsSync(stale), 'the file outlives its listener');
    const refused = deferred<unknown>();
    as.pipeConnect(stale, null, { eventCb: (e) => refused.resolve(e) });
    t.true((await refused.promise) instanceof as.ConnectionRefused);
    // Binding over an existing file: AddressInUse, asynchronously; the file is left alone.
    const inUse = deferred<unknown>();
    const srv = as.pipeServer(stale, null, (e) => inUse.resolve(e));
    t.true(srv.closed);
    t.true((await inUse.promise) instanceof as.AddressInUse);
    t.true(existsSync(stale));
    // A regular file at the path is taken too.
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const taken = deferred<unknown>();
    as.pipeServer(file, null, (e) => taken.resolve(e));
    t.true((await taken.promise) instanceof as.AddressInUse);

    t.throws(() => as.pipeConnect(join(dir, 'x'.repeat(200)), null), { instanceOf: RangeError, message: /at most 107 bytes/ });
    t.throws(() => as.pipeServer('', null), { instanceOf: TypeError });
    await expectClean(t);
  });

  // A listener whose backlog is full: retried until connectTimeout.
  const full = sockPath('full');
  const child = spawn(process.execPath, ['-e', `
    const net = require('net');
    const s = net.createServer();
    s.listen({ path: ${JSON.stringify(full)}, backlog: 1 }, () => {
      require('fs').writeSync(1, 'ready\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);
    });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const f = net.connect(full);
    f.on('error', () => {});
    fillers.push(f);
  }
  await new Promise((r) => setTimeout(r, 100));
  await runLoop(t, async () => {
    const timedOut = deferred<unknown>();
    as.pipeConnect(full, null, { connectTimeout: 0.3, eventCb: (e) => timedOut.resolve(e) });
    const e = (await timedOut.promise) as as.ConnectionTimeout;
    t.true(e instanceof as.ConnectionTimeout, String(e));
    await expectClean(t);
  });
  child.kill();
  for (const f of fillers) f.destroy();
});

test('abstract names (Linux): no file, the name with its leading NUL', async (t) => {
  if (process.platform !== 'linux') return t.pass('abstract names are Linux-only');
  const name = `\0evasync-test-${process.pid}-${n++}`;
  await runLoop(t, async () => {
    const accepted = deferred<as.Socket>();
    const srv = as.pipeServer(name, null, { connectCb: (s) => accepted.resolve(s) });
    const connected = deferred<as.Socket>();
    as.pipeConnect(name, null, { connectCb: (s) => connected.resolve(s) });
    const c = await connected.promise;
    t.is(c.remoteAddress, name);
    t.is((await accepted.promise).localAddress, name);
    as.closeSocket(c);
    srv.close();
    await expectClean(t);
  });
});

test('timeouts, half-close and streams work the same over a Unix socket', async (t) => {
  const path = sockPath('stream');
  await runLoop(t, async () => {
    const srv = as.pipeServer(path, (s, stream: as.Socket['stream']) => void stream, {
      stream: true,
      connectCb: (s) => {
        void pipeline(s.stream, s.stream).catch(() => {});
      },
    });
    const got: Buffer[] = [];
    const ended = deferred();
    const c = as.pipeConnect(path, (_s, d: Buffer) => got.push(d), {
      allowHalfOpen: true,
      eventCb: (e) => {
        if (e instanceof as.ConnectionEof) ended.resolve();
      },
    });
    as.writeSocketData(c, 'through a Duplex');
    c.stream.end();
    await ended.promise;
    t.is(Buffer.concat(got).toString(), 'through a Duplex');
    // Both directions ended: the socket is done.
    if (!c.closed) as.closeSocket(c);

    const timeout = deferred<unknown>();
    as.pipeConnect(path, null, { readTimeout: 0.2, eventCb: (e) => timeout.resolve(e) });
    t.true((await timeout.promise) instanceof as.ConnectionTimeout);
    srv.close();
    await expectClean(t);
  });
});

test('TLS over a Unix socket (server name localhost by default)', async (t) => {
  const path = sockPath('tls');
  const c = certs();
  await runLoop(t, async () => {
    const srv = as.pipeServer(path, (s, d: Buffer) => as.writeSocketData(s, d), { tls: c.leaf });
    const done = deferred<string>();
    const s = as.pipeConnect(path, (_s, d: Buffer) => done.resolve(d.toString()), { tls: { ca: c.ca }, data: 'sealed' });
    t.is(await done.promise, 'sealed');
    t.is(s.tls!.protocol, 'TLSv1.3');
    as.closeSocket(s);
    srv.close();
    await expectClean(t);
  });
});

test('HTTP over a Unix socket: httpServer({ path }) with node:http, httpClient({ socketPath }) to node:http', async (t) => {
  const path = sockPath('http');
  await runLoop(t, async () => {
    const srv = as.httpServer({ path, mode: 0o660 }, 0, (req) => {
      as.httpResponse(req, { body: `unix ${req.uri} host=${req.headers.find(([k]) => k.toLowerCase() === 'host')?.[1]}` });
    });
    t.is(srv.path, path);
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ socketPath: path, path: '/x', headers: { host: 'svc.local' } }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    t.is(body, 'unix /x host=svc.local');
    await srv.close();
    t.false(existsSync(path));
    await expectClean(t);
  });

  const path2 = sockPath('http-node');
  const server = http.createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/final' }).end();
      return;
    }
    res.end(`node ${req.url} ${req.headers.host}`);
  });
  await new Promise<void>((r) => server.listen(path2, r));
  await runLoop(t, async () => {
    const a = await as.httpClient('http://api.local/one', { socketPath: path2 });
    t.is(a.body.toString(), 'node /one api.local');
    const b = await as.httpClient('http://api.local/redirect', { socketPath: path2, maxRedirects: 1 });
    t.is(b.body.toString(), 'node /final api.local', 'a redirect to the same origin stays on the socket');
    await expectClean(t);
  });
  server.closeAllConnections();
  await closeNode(server);
});

test('createUnixServer / createUnixConnection: peername is the path, close removes the file', async (t) => {
  const path = sockPath('asyncio');
  await runLoop(t, async () => {
    const made = deferred<as.Transport>();
    const server = await as.createUnixServer(() => ({ connectionMade: (tr: as.Transport) => made.resolve(tr) }), path);
    const [tr] = await as.createUnixConnection(() => ({}), path);
    t.is(tr.getExtraInfo('peername'), path);
    const serverSide = await made.promise;
    t.is(serverSide.getExtraInfo('sockname'), path);
    t.is(serverSide.getExtraInfo('peername'), '');
    tr.close();
    server.close();
    t.false(existsSync(path));
    await server.waitClosed();
    await expectClean(t);
  });
});
