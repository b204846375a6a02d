/**
 * HTTP server behaviour users rely on: pipelining order, 100-continue, HEAD and bodiless
 * statuses, timeouts, limits per connection, response validation, streamed responses and
 * bodies, application errors, graceful close, and real clients (undici, node:http).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';
import { Agent, request } from 'undici';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { raw, withServer } from './http-raw';

const H = 'Host: example.com\r\n';

test('a pipelined burst of 100 requests is answered in request order, even when answered out of order', async (t) => {
  let n = 0;
  await withServer(
    t,
    async (port) => {
      const burst = Array.from({ length: 100 }, (_, i) =>
        i % 3 === 0
          ? `POST /${i} HTTP/1.1\r\n${H}Content-Length: ${String(i).length}\r\n\r\n${i}`
          : `GET /${i} HTTP/1.1\r\n${H}\r\n`,
      ).join('');
      const res = await raw(port, burst, { responses: 100, timeoutMs: 10000 });
      t.is(res.responses.length, 100);
      t.deepEqual(
        res.responses.map((r) => r.body.toString()),
        Array.from({ length: 100 }, (_, i) => `/${i}${i % 3 === 0 ? `:${i}` : ''}`),
      );
      t.false(res.closed);
    },
    {
      requestCb: (req) => {
        const body = req.method === 'POST' ? `${req.uri}:${req.body.toString()}` : req.uri;
        // Every other request is answered later than those after it.
        if (n++ % 2 === 0) as.delay(() => as.httpResponse(req, { body }), { time: 0.01 });
        else as.httpResponse(req, { body });
      },
    },
  );
});

test('Expect: 100-continue gets an interim 100 before the body is sent', async (t) => {
  await withServer(t, async (port) => {
    const got = deferred<string>();
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d) => {
      text += d.toString();
      if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !text.includes('200 OK')) sock.write('hello');
      if (text.includes('"body":"hello"')) got.resolve(text);
    });
    sock.write(`POST /up HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
    const all = await got.promise;
    sock.destroy();
    t.true(all.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'));
  });
});

test('HEAD gets the headers of GET without a body; 204 and 304 carry no body or length', async (t) => {
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `HEAD /h HTTP/1.1\r\n${H}\r\nGET /204 HTTP/1.1\r\n${H}\r\nGET /304 HTTP/1.1\r\n${H}\r\nGET /h HTTP/1.1\r\n${H}\r\n`, {
        responses: 4,
        heads: 1,
      });
      const [head, noContent, notModified, get] = res.responses;
      t.is(head!.status, 200);
      t.is(head!.get('content-length'), '11');
      t.is(head!.body.length, 0);
      t.is(noContent!.status, 204);
      t.is(noContent!.get('content-length'), undefined);
      t.is(notModified!.status, 304);
      t.is(notModified!.body.length, 0);
      t.is(get!.body.toString(), 'hello world', 'the stream stays in sync after bodiless responses');
    },
    {
      requestCb: (req) => {
        if (req.uri === '/204') as.httpResponse(req, { status: 204, body: 'ignored' });
        else if (req.uri === '/304') as.httpResponse(req, { status: 304 });
        else as.httpResponse(req, { body: 'hello world' });
      },
    },
  );
});

test('a slow client gets 408 after requestTimeout and the connection closes; the app is not called', async (t) => {
  let calls = 0;
  await withServer(
    t,
    async (port) => {
      const head = await raw(port, `GET /slow HTTP/1.1\r\n${H}`, { timeoutMs: 5000 });
      t.is(head.responses[0]?.status, 408);
      t.true(head.closed);
      const body = await raw(port, `POST /slow HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`, { timeoutMs: 5000 });
      t.is(body.responses[0]?.status, 408);
      t.true(body.closed);
    },
    {
      server: { requestTimeout: 0.3 },
      requestCb: () => {
        calls++;
      },
    },
  );
  t.is(calls, 0);
});

test('an idle keep-alive connection closes after keepAliveTimeout, quietly', async (t) => {
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET / HTTP/1.1\r\n${H}\r\n`, { timeoutMs: 5000 });
      t.is(res.responses.length, 1);
      t.is(res.responses[0]!.status, 200);
      t.true(res.closed, 'closed by the server once idle');
    },
    { server: { keepAliveTimeout: 0.2 } },
  );
});

test('maxRequestsPerConnection: the last response says close and the connection closes', async (t) => {
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\nGET /3 HTTP/1.1\r\n${H}\r\n`);
      t.deepEqual(
        res.responses.map((r) => r.get('connection')),
        ['keep-alive', 'close'],
      );
      t.true(res.closed);
    },
    { server: { maxRequestsPerConnection: 2 } },
  );
});

test('response headers with CR, LF or NUL throw TypeError and nothing is sent; a second response throws', async (t) => {
  const errors: string[] = [];
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET / HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
      t.is(res.responses[0]!.status, 200);
      t.is(res.responses[0]!.get('x-ok'), 'fine');
      t.is(res.bytes.toString().indexOf('Injected'), -1);
    },
    {
      requestCb: (req) => {
        for (const bad of [
          { 'X-A': 'a\r\nInjected: 1' },
          { 'X-A': 'a\nb' },
          { 'X-A': 'a\0b' },
          { 'X\r\nInjected': '1' },
        ] as Array<Record<string, string>>) {
          try {
            as.httpResponse(req, { headers: bad });
          } catch (e) {
            errors.push((e as Error).constructor.name);
          }
        }
        as.httpResponse(req, { headers: [['X-Ok', 'fine']], body: 'ok' });
        try {
          as.httpResponse(req, { body: 'twice' });
        } catch (e) {
          errors.push((e as Error).constructor.name);
        }
      },
    },
  );
  t.deepEqual(errors, ['TypeError', 'TypeError', 'TypeError', 'TypeError', 'HttpError']);
});

test('response headers: pairs keep order and duplicates, objects take arrays, Content-Length and Date are added', async (t) => {
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET /pairs HTTP/1.1\r\n${H}\r\nGET /object HTTP/1.1\r\n${H}\r\n`, { responses: 2 });
      const [pairs, object] = res.responses;
      t.deepEqual(
        pairs!.headers.filter(([n]) => n.startsWith('Set-') || n.startsWith('X-')),
        [
          ['Set-Cookie', 'a=1'],
          ['X-Mid', 'm'],
          ['Set-Cookie', 'b=2'],
        ],
      );
      t.is(pairs!.get('content-length'), '2');
      t.truthy(pairs!.get('date'));
      t.deepEqual(
        object!.headers.filter(([n]) => n === 'Vary'),
        [
          ['Vary', 'a'],
          ['Vary', 'b'],
        ],
      );
      t.is(object!.status, 201);
      t.is(object!.get('x-num'), '42');
    },
    {
      requestCb: (req) => {
        if (req.uri === '/pairs') {
          as.httpResponse(req, {
            headers: [
              ['Set-Cookie', 'a=1'],
              ['X-Mid', 'm'],
              ['Set-Cookie', 'b=2'],
            ],
            body: Buffer.from('ok'),
          });
        } else {
          as.httpResponse(req, { status: 201, headers: { Vary: ['a', 'b'], 'X-Num': 42 }, body: new Uint8Array([104, 105]) });
        }
      },
    },
  );
});

test('streamed responses: chunked for HTTP/1.1, as declared with Content-Length, until close for HTTP/1.0', async (t) => {
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET /chunked HTTP/1.1\r\n${H}\r\nGET /length HTTP/1.1\r\n${H}\r\n`, { responses: 2 });
      t.is(res.responses[0]!.get('transfer-encoding'), 'chunked');
      t.is(res.responses[0]!.body.toString(), 'part 1, part 2, end');
      t.is(res.responses[1]!.get('content-length'), '6');
      t.is(res.responses[1]!.get('transfer-encoding'), undefined);
      t.is(res.responses[1]!.body.toString(), 'abcdef');
      const old = await raw(port, 'GET /chunked HTTP/1.0\r\n\r\n');
      t.is(old.responses[0]!.get('transfer-encoding'), undefined);
      t.is(old.responses[0]!.body.toString(), 'part 1, part 2, end');
      t.true(old.closed);
    },
    {
      requestCb: (req) => {
        if (req.uri === '/length') {
          req.startResponse({ headers: [['Content-Length', '6']] });
          req.writeChunk('abc');
          req.writeChunk(Buffer.from('def'));
          req.finishResponse();
          return;
        }
        req.startResponse({ status: 200, headers: { 'Content-Type': 'text/plain' } });
        req.writeChunk('part 1, ');
        as.delay(() => {
          req.writeChunk('part 2, ');
          req.writeChunk('');
          as.delay(() => {
            req.writeChunk('end');
            req.finishResponse();
            t.throws(() => req.writeChunk('late'), { instanceOf: as.HttpError });
          }, { time: 0.01 });
        }, { time: 0.01 });
      },
    },
  );
});

test('streamBody: requestCb runs on the head, onBody gets the pieces and then finished', async (t) => {
  const seen: Array<[string, boolean]> = [];
  await withServer(
    t,
    async (port) => {
      const res = await raw(
        port,
        [`POST /s HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n`, '6\r\nsecond\r\n', '0\r\n\r\n'],
        { responses: 1, gapMs: 50 },
      );
      t.is(res.responses[0]!.body.toString(), 'firstsecond');
    },
    {
      server: { streamBody: true },
      requestCb: (req) => {
        t.is(req.body.length, 0);
        const parts: Buffer[] = [];
        req.onBody((chunk, finished) => {
          seen.push([chunk.toString(), finished]);
          parts.push(Buffer.from(chunk));
          if (finished) as.httpResponse(req, { body: Buffer.concat(parts) });
        });
      },
    },
  );
  t.deepEqual(seen.at(-1), ['', true]);
  t.is(
    seen.map(([c]) => c).join(''),
    'firstsecond',
  );
});

test('an app error with catchAppErrors: 500 for the client, the error to eventCb, the connection closes', async (t) => {
  const caught: unknown[] = [];
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET /boom HTTP/1.1\r\n${H}\r\nGET /after HTTP/1.1\r\n${H}\r\n`);
      t.is(res.responses.length, 1);
      t.is(res.responses[0]!.status, 500);
      t.true(res.closed);
      const ok = await raw(port, `GET /fine HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
      t.is(ok.responses[0]!.status, 200, 'the server goes on serving others');
    },
    {
      loop: { catchAppErrors: true },
      server: { eventCb: (e) => caught.push(e) },
      requestCb: (req) => {
        if (req.uri === '/boom') throw new Error('boom');
        as.httpResponse(req, { body: 'fine' });
      },
    },
  );
  t.is(caught.length, 1);
  t.is((caught[0] as Error).message, 'boom');
});

test('an app error without catchAppErrors ends the loop with that error', async (t) => {
  const err = await t.throwsAsync(
    as.startEventLoop(() => {
      const server = as.httpServer('127.0.0.1', 0, () => {
        throw new Error('unhandled in requestCb');
      });
      void raw(server.port, `GET / HTTP/1.1\r\n${H}\r\n`, { timeoutMs: 2000 });
    }),
  );
  t.is(err?.message, 'unhandled in requestCb');
  t.false(as.eventLoopRunning());
  t.is(as.stats().incomingHttpConnections, 0);
});

test('graceful close: idle connections close at once, in-flight requests finish with Connection: close', async (t) => {
  await runLoop(t, async () => {
    const pending: as.HttpRequest[] = [];
    const arrived = deferred();
    const server = as.httpServer('127.0.0.1', 0, (req) => {
      pending.push(req);
      arrived.resolve();
    });
    const idle = net.connect(server.port, '127.0.0.1');
    const idleClosed = deferred();
    idle.on('close', () => idleClosed.resolve());
    idle.on('error', () => {});
    await new Promise((r) => idle.on('connect', r));
    const busy = raw(server.port, `GET /busy HTTP/1.1\r\n${H}\r\n`);
    await arrived.promise;
    while (as.stats().incomingHttpConnections < 2) await sleep(0.01);
    const closed = server.close({ timeout: 5 });
    // The listening socket is gone when close() returns, under either driver.
    const refusedAtOnce = await new Promise<boolean>((r) => net.connect(server.port, '127.0.0.1').on('error', () => r(true)).on('connect', () => r(false)));
    t.true(refusedAtOnce);
    await idleClosed.promise;
    t.is(pending.length, 1);
    as.httpResponse(pending[0]!, { body: 'finished' });
    const res = await busy;
    t.is(res.responses[0]!.body.toString(), 'finished');
    t.is(res.responses[0]!.get('connection'), 'close');
    t.true(res.closed);
    await closed;
    t.is(as.stats().incomingHttpConnections, 0);
    // The port no longer accepts.
    const refused = await new Promise<boolean>((r) => net.connect(server.port, '127.0.0.1').on('error', () => r(true)).on('connect', () => r(false)));
    t.true(refused);
    await expectClean(t);
  });
});

test('graceful close aborts what is still open after the timeout; graceful: false aborts at once', async (t) => {
  await runLoop(t, async () => {
    const server = as.httpServer('127.0.0.1', 0, () => {
      // Never answered.
    });
    const busy = raw(server.port, `GET / HTTP/1.1\r\n${H}\r\n`);
    while (as.stats().incomingHttpConnections < 1) await sleep(0.01);
    await server.close({ timeout: 0.2 });
    const res = await busy;
    t.true(res.closed);
    t.is(res.responses.length, 0);

    const other = as.httpServer('127.0.0.1', 0, () => {});
    const busy2 = raw(other.port, `GET / HTTP/1.1\r\n${H}\r\n`);
    while (as.stats().incomingHttpConnections < 1) await sleep(0.01);
    await other.close({ graceful: false });
    t.true((await busy2).closed);
    await expectClean(t);
  });
});

test('binding a port in use reports AddressInUse to eventCb', async (t) => {
  await runLoop(t, async () => {
    const first = as.httpServer('127.0.0.1', 0, () => {});
    const got = deferred<unknown>();
    const second = as.httpServer('127.0.0.1', first.port, () => {}, { eventCb: (e) => got.resolve(e) });
    const e = await got.promise;
    t.true(e instanceof as.AddressInUse);
    t.is((e as as.ConnectionError).errcode, 'EADDRINUSE');
    t.true(second.closed);
    await first.close();
    await expectClean(t);
  });
});

test('a client that resets with a response owed loses nothing else; responding afterwards is harmless', async (t) => {
  const arrived = deferred<as.HttpRequest>();
  let first: as.HttpRequest | undefined;
  await withServer(
    t,
    async (port) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write(`GET /first HTTP/1.1\r\n${H}\r\n`));
      sock.on('error', () => {});
      const req = await arrived.promise;
      sock.resetAndDestroy();
      while (as.stats().incomingHttpConnections > 0) await sleep(0.01);
      t.false(req.socket.open);
      t.notThrows(() => as.httpResponse(req, { body: 'too late' }));
      const ok = await raw(port, `GET / HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
      t.is(ok.responses[0]!.status, 200);
    },
    {
      requestCb: (req) => {
        if (first === undefined) {
          first = req;
          arrived.resolve(req);
        } else as.httpResponse(req, { body: 'ok' });
      },
    },
  );
});

test('undici: keep-alive reuses one connection for sequential requests; bodies of 0 B, 1 KiB and JSON', async (t) => {
  let conns = 0;
  let lastSocket: unknown;
  await withServer(
    t,
    async (port) => {
      const agent = new Agent({ connections: 1 });
      try {
        for (const size of [0, 1024, 10]) {
          const r = await request(`http://127.0.0.1:${port}/size/${size}`, { dispatcher: agent, method: 'POST', body: 'x'.repeat(size) });
          t.is(r.statusCode, 200);
          t.is(r.headers['content-type'], 'text/plain');
          t.is(await r.body.text(), `got ${size}`);
        }
        t.is(conns, 1);
      } finally {
        await agent.close();
      }
    },
    {
      requestCb: (req) => {
        if (req.socket !== lastSocket) {
          lastSocket = req.socket;
          conns++;
        }
        as.httpResponse(req, { headers: { 'Content-Type': 'text/plain' }, body: `got ${req.body.length}` });
      },
    },
  );
});
test('node:http client: headers, status and a 10 MiB body each way (streamed both ways)', async (t) => {
  const size = 10 * 1024 * 1024;
  const payload = Buffer.alloc(size, 7);
  for (let i = 0; i < size; i += 4096) payload[i] = i & 0xff;
  const want = createHash('sha256').update(payload).digest('hex');
  await withServer(
    t,
    async (port) => {
      const result = await new Promise<{ status: number; sha: string; upload: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/big', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
          const h = createHash('sha256');
          res.on('data', (d: Buffer) => h.update(d));
          res.on('end', () => resolve({ status: res.statusCode!, sha: h.digest('hex'), upload: String(res.headers['x-upload-sha']) }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      });
      t.is(result.status, 200);
      t.is(result.upload, want);
      t.is(result.sha, want);
    },
    {
      server: { streamBody: true, maxBodySize: 64 * 1024 * 1024 },
      requestCb: (req) => {
        const h = createHash('sha256');
        req.onBody((chunk, finished) => {
          h.update(chunk);
          if (!finished) return;
          req.startResponse({ headers: [['X-Upload-Sha', h.digest('hex')]] });
          for (let off = 0; off < size; off += 256 * 1024) req.writeChunk(payload.subarray(off, off + 256 * 1024));
          req.finishResponse();
        });
      },
    },
  );
});

test('a whole 10 MiB body with maxBodySize raised; remoteAddress, toString and inspect', async (t) => {
  await withServer(
    t,
    async (port) => {
      const body = Buffer.alloc(10 * 1024 * 1024, 'z');
      const r = await request(`http://127.0.0.1:${port}/whole?x=1`, { method: 'POST', body });
      t.is(await r.body.text(), String(body.length));
    },
    {
      server: { maxBodySize: 16 * 1024 * 1024 },
      requestCb: (req) => {
        t.is(req.remoteAddress, '127.0.0.1');
        t.regex(req.toString(), /^HttpRequest POST \/whole\?x=1 HTTP\/1\.1 .*body 10485760 bytes$/);
        t.is(require('node:util').inspect(req), req.toString());
        as.httpResponse(req, { body: String(req.body.length) });
      },
    },
  );
});

test('stats count HTTP connections and return to 0; the registries return to their value', async (t) => {
  await runLoop(t, async () => {
    const before = as.stats();
    const server = as.httpServer('127.0.0.1', 0, (req) => as.httpResponse(req, { body: 'x' }));
    const socks = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(server.port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    while (as.stats().incomingHttpConnections < 3) await sleep(0.01);
    t.is(as.stats().incomingHttpConnections, 3);
    t.is(as.stats().incomingTcpConnections, 0);
    t.is(as.stats().servers, before.servers + 1);
    for (const s of socks) s.destroy();
    while (as.stats().incomingHttpConnections > 0) await sleep(0.01);
    await server.close();
    t.is(as.stats().fnRegistryCount, before.fnRegistryCount);
    t.is(as.stats().dataRegistryCount, before.dataRegistryCount);
    await expectClean(t);
  });
});
