/**
 * Node conventions (API.md "Conventions", §1, §15): Promise forms reject instead of throwing,
 * pending promises reject when the loop ends, messages quote values, AbortSignal, disposal, the
 * client response's helpers and streamed bodies.
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';

/** A TCP server that accepts and never answers; its port and a closer. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const held = new Set<net.Socket>();
  const server = net.createServer((s) => {
    held.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of held) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

test('Promise forms reject bad arguments instead of throwing; callback forms throw', async (t) => {
  await runLoop(t, async () => {
    await t.throwsAsync(as.httpClient('not a url'), { instanceOf: TypeError, message: /uri must be .* not 'not a url' \(string\)/ });
    await t.throwsAsync(as.dnsLookup(''), { instanceOf: TypeError, message: /host must be a non-empty string, not '' \(string\)/ });
    await t.throwsAsync(as.dnsLookupAll('localhost', { family: 5 as 4 }), { instanceOf: TypeError, message: /not 5 \(number\)/ });
    await t.throwsAsync(as.reverseDnsLookup('nope'), { instanceOf: TypeError });
    await t.throwsAsync(as.createServer(() => ({}), '127.0.0.1', -1), { instanceOf: RangeError });
    await t.throwsAsync(as.createConnection(() => ({}), '', 1), { instanceOf: TypeError });
    t.throws(() => as.dnsLookup('', () => {}), { instanceOf: TypeError });
    t.throws(() => as.tcpConnect('127.0.0.1', '8080' as unknown as number, null), {
      instanceOf: RangeError,
      message: "tcpConnect: port must be an integer from 0 to 65535, not '8080' (string)",
    });
    t.throws(() => as.tcpServer('example.com', 0, null), { instanceOf: TypeError, message: /bindAddress must be an IP address/ });
    t.throws(() => as.httpServer('example.com', 0, () => {}), { instanceOf: TypeError });
    t.throws(() => as.delay(() => {}, { time: -1 }), { instanceOf: TypeError, message: /not -1 \(number\)/ });
    await expectClean(t);
  });
});

test('pending promises reject with EventLoopError when the loop ends', async (t) => {
  const silent = await silentServer();
  // A DNS server that never answers.
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const dnsPort = udp.address().port;
  const settled: Array<Promise<unknown>> = [];
  await runLoop(t, async () => {
    as.setDnsServers([`127.0.0.1:${dnsPort}`], { timeout: 30, attempts: 1 });
    settled.push(as.httpClient(`http://127.0.0.1:${silent.port}/`));
    settled.push(as.dnsLookup('never.answers.test'));
    settled.push(as.createConnection(() => ({}), '127.0.0.1', silent.port, { ssl: {} }));
    const sock = as.tcpConnect('127.0.0.1', silent.port, null, { eventCb: () => {} });
    await sleep(0.1);
    settled.push(as.startTls(sock, { serverName: 'x.test' }));
    await sleep(0.05);
    as.exitEventLoop();
  });
  for (const p of settled) {
    const err = await t.throwsAsync(p);
    t.true(err instanceof as.EventLoopError, String(err));
  }
  udp.close();
  await silent.close();
});

test('AbortSignal: before the result it cancels, at the call it does no work, after it changes nothing', async (t) => {
  const silent = await silentServer();
  await runLoop(t, async () => {
    // httpClient: aborted while waiting for the response.
    const ac = new AbortController();
    const pending = as.httpClient(`http://127.0.0.1:${silent.port}/`, { signal: ac.signal });
    await sleep(0.05);
    ac.abort();
    const e1 = await t.throwsAsync(pending, { any: true });
    t.is((e1 as DOMException).name, 'AbortError');
    // Already aborted, with a reason of our own.
    const reason = new Error('changed my mind');
    await t.throwsAsync(as.httpClient(`http://127.0.0.1:${silent.port}/`, { signal: AbortSignal.abort(reason) }), { is: reason });
    await t.throwsAsync(as.dnsLookup('localhost', { signal: AbortSignal.abort(reason) }), { is: reason });
    await t.throwsAsync(as.createConnection(() => ({}), '127.0.0.1', silent.port, { signal: AbortSignal.abort(reason) }), { is: reason });
    // tcpConnect, callback form: the reason reaches eventCb, asynchronously, and the socket is closed.
    let sync = true;
    const got = deferred<unknown>();
    const s = as.tcpConnect('127.0.0.1', silent.port, null, { signal: AbortSignal.abort(reason), eventCb: (e) => got.resolve([e, sync]) });
    sync = false;
    t.deepEqual(await got.promise, [reason, false]);
    t.true(s.closed);
    // A TLS connect aborted mid-handshake (the silent server never answers the ClientHello).
    const ac2 = new AbortController();
    const tlsConn = as.createConnection(() => ({}), '127.0.0.1', silent.port, { ssl: {}, signal: ac2.signal });
    await sleep(0.05);
    ac2.abort(reason);
    await t.throwsAsync(tlsConn, { is: reason });
    // After the result: nothing happens.
    const server = as.tcpServer('127.0.0.1', 0, null);
    const ac3 = new AbortController();
    const [tr] = await as.createConnection(() => ({}), '127.0.0.1', server.port, { signal: ac3.signal });
    ac3.abort();
    await sleep(0.02);
    t.false(tr.isClosing());
    tr.close();
    server.close();
    t.throws(() => as.tcpConnect('127.0.0.1', 1, null, { signal: 'nope' as unknown as AbortSignal }), { instanceOf: TypeError });
    await expectClean(t);
  });
  await silent.close();
});

test('client responses: text(), json(), header(); streamed bodies with backpressure', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
  let blockedWrites = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/json') {
      res.setHeader('X-Thing', 'yes');
      res.end(JSON.stringify({ hello: 'world' }));
    } else if (req.url === '/big') {
      // Written in pieces: writes that return false mean the client is holding back.
      let sent = 0;
      const pump = () => {
        while (sent < big.length) {
          const piece = big.subarray(sent, sent + 65536);
          sent += piece.length;
          if (!res.write(piece)) {
            blockedWrites++;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    } else {
      res.end('plain text');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await runLoop(t, async () => {
    const j = await as.httpClient(`http://127.0.0.1:${port}/json`);
    t.deepEqual(await j.json(), { hello: 'world' });
    t.is(j.header('x-THING'), 'yes');
    t.is(j.header('missing'), undefined);
    t.is(await (await as.httpClient(`http://127.0.0.1:${port}/`)).text(), 'plain text');

    const streamed = await as.httpClient(`http://127.0.0.1:${port}/big`, { streamBody: true });
    t.is(streamed.status, 200);
    // Hold the body unread a while: the server's writes must stop.
    await sleep(0.2);
    t.true(blockedWrites > 0, 'backpressure reached the server');
    let total = 0;
    for await (const chunk of streamed.body) total += (chunk as Buffer).length;
    t.is(total, big.length);

    // A body dropped half-way: its connection closes, the next request still works.
    const dropped = await as.httpClient(`http://127.0.0.1:${port}/big`, { streamBody: true });
    dropped.body.destroy();
    t.is(await (await as.httpClient(`http://127.0.0.1:${port}/`)).text(), 'plain text');
    t.throws(() => as.httpClient(`http://127.0.0.1:${port}/`, () => {}, () => {}, { streamBody: true }), { instanceOf: TypeError });
    await expectClean(t);
  });
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

test('using / await using close what they hold', async (t) => {
  await runLoop(t, async () => {
    {
      await using server = as.httpServer('127.0.0.1', 0, (req) => as.httpResponse(req, { body: 'ok' }));
      using timer = as.delay(() => t.fail('freed before it fired'), { time: 10 });
      using idler = as.idle(() => {});
      using notifier = as.makeNotifier(() => {});
      const res = await as.httpClient(`http://127.0.0.1:${server.port}/`);
      t.is(res.body.toString(), 'ok');
      void timer;
      void idler;
      void notifier;
    }
    {
      await using raw = as.tcpServer('127.0.0.1', 0, null);
      using sock = as.tcpConnect('127.0.0.1', raw.port, null);
      void sock;
    }
    await expectClean(t);
  });
});
