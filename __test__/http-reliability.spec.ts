/**
 * HTTP server reliability under the cases that used to hurt: a response owed past
 * `requestTimeout` on a connection that no longer reads (it once spun the loop forever), an
 * application that fails after answering, a handler whose promise rejects, responses after the
 * loop ended, the header-count limit, CONNECT, byte counters. Each ends by checking that the
 * server still answers a normal request and that stats return to 0.
 */
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { parseResponses, raw, withServer } from './http-raw';

const H = 'Host: example.com\r\n';

/** Sends `input` and resolves with everything received until the server closes. */
function exchange(port: number, input: string, opts: { end?: boolean } = {}): { closed: Promise<Buffer> } {
  const sock = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  const closed = new Promise<Buffer>((resolve) => {
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => resolve(Buffer.concat(chunks)));
    sock.on('error', () => {});
  });
  sock.on('connect', () => {
    sock.write(input);
    if (opts.end) sock.end();
  });
  return { closed };
}

/** One normal request on a fresh connection gets its 200: the server is still serving. */
async function stillServes(t: import('ava').ExecutionContext, port: number): Promise<void> {
  const res = await raw(port, `GET /check HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.is(res.responses[0]?.status, 200, 'a new connection is served');
}

const triggers: Array<[string, string, { end?: boolean; limit?: boolean; graceful?: boolean }]> = [
  ['the client half-closed', `GET /late HTTP/1.1\r\n${H}\r\n`, { end: true }],
  ['Connection: close', `GET /late HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, {}],
  ['an HTTP/1.0 request', 'GET /late HTTP/1.0\r\n\r\n', {}],
  ['the last of maxRequestsPerConnection', `GET /late HTTP/1.1\r\n${H}\r\n`, { limit: true }],
  ['a graceful server.close()', `GET /late HTTP/1.1\r\n${H}\r\n`, { graceful: true }],
];

for (const [name, input, how] of triggers) {
  test(`a response given after requestTimeout is delivered when ${name}, then the connection closes`, async (t) => {
    await runLoop(t, async () => {
      const arrived = deferred<as.HttpRequest>();
      const server = as.httpServer(
        '127.0.0.1',
        0,
        (req) => {
          if (req.uri === '/late') arrived.resolve(req);
          else as.httpResponse(req, { body: 'ok' });
        },
        { requestTimeout: 0.2, maxRequestsPerConnection: how.limit ? 1 : undefined },
      );
      const client = exchange(server.port, input, how);
      const req = await arrived.promise;
      let closing: Promise<void> | undefined;
      if (how.graceful) closing = server.close({ timeout: 10 });
      // Well past requestTimeout: the loop must keep running and serving meanwhile.
      await sleep(0.6);
      if (!how.graceful) await stillServes(t, server.port);
      as.httpResponse(req, { body: 'late' });
      const bytes = await client.closed;
      const responses = parseResponses(bytes);
      t.is(responses.length, 1, bytes.toString('latin1'));
      t.is(responses[0]?.status, 200);
      t.is(responses[0]?.body.toString(), 'late');
      if (closing) await closing;
      else await server.close();
      await expectClean(t);
    });
  });
}

test('an app error after httpResponse: the response is still delivered, then the connection closes', async (t) => {
  const caught: unknown[] = [];
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET /given HTTP/1.1\r\n${H}\r\nGET /after HTTP/1.1\r\n${H}\r\n`);
      t.is(res.responses.length, 1, 'the given response, nothing for the dropped request');
      t.is(res.responses[0]!.status, 200);
      t.is(res.responses[0]!.body.toString(), 'given');
      t.true(res.closed);
      const streamed = await raw(port, `GET /streamed HTTP/1.1\r\n${H}\r\n`);
      t.is(streamed.responses.length, 1);
      t.is(streamed.responses[0]!.body.toString(), 'part', 'a started response is ended (last chunk sent)');
      t.true(streamed.closed);
      await stillServes(t, port);
    },
    {
      loop: { catchAppErrors: true },
      server: { eventCb: (e) => caught.push(e) },
      requestCb: (req) => {
        if (req.uri === '/given') {
          as.httpResponse(req, { body: 'given' });
          throw new Error('after the response');
        }
        if (req.uri === '/streamed') {
          req.startResponse({});
          req.writeChunk('part');
          throw new Error('mid-stream');
        }
        as.httpResponse(req, { body: 'ok' });
      },
    },
  );
  t.deepEqual(
    caught.map((e) => (e as Error).message),
    ['after the response', 'mid-stream'],
  );
});

test('an async requestCb that rejects: with catchAppErrors the error goes to eventCb and the client gets 500', async (t) => {
  const caught: unknown[] = [];
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `GET /reject HTTP/1.1\r\n${H}\r\n`);
      t.is(res.responses[0]?.status, 500);
      t.true(res.closed);
      await stillServes(t, port);
    },
    {
      loop: { catchAppErrors: true },
      server: { eventCb: (e) => caught.push(e) },
      requestCb: async (req) => {
        if (req.uri === '/reject') {
          await sleep(0.01);
          throw new Error('async failure');
        }
        as.httpResponse(req, { body: 'ok' });
      },
    },
  );
  t.is(caught.length, 1);
  t.is((caught[0] as Error).message, 'async failure');
});

test('an async requestCb that rejects without catchAppErrors ends the loop with that error', async (t) => {
  const err = await t.throwsAsync(
    as.startEventLoop(() => {
      const server = as.httpServer('127.0.0.1', 0, async () => {
        await Promise.resolve();
        throw new Error('unhandled async');
      });
      void raw(server.port, `GET / HTTP/1.1\r\n${H}\r\n`, { timeoutMs: 2000 });
    }),
  );
  t.is(err?.message, 'unhandled async');
  t.false(as.eventLoopRunning());
});

test('httpResponse, startResponse and writeChunk after the loop ended throw EventLoopError', async (t) => {
  let kept: as.HttpRequest | undefined;
  await runLoop(t, async () => {
    const got = deferred();
    const server = as.httpServer('127.0.0.1', 0, (req) => {
      kept = req;
      got.resolve();
    });
    void raw(server.port, `GET / HTTP/1.1\r\n${H}\r\n`, { timeoutMs: 2000 });
    await got.promise;
    as.exitEventLoop();
  });
  const noLoop = { instanceOf: as.EventLoopError };
  t.throws(() => as.httpResponse(kept!, { body: 'too late' }), noLoop);
  t.throws(() => kept!.startResponse({}), noLoop);
});

test('maxHeaders: more header fields than allowed get 431 naming the limit; raising it admits them', async (t) => {
  const head = (n: number) =>
    `GET / HTTP/1.1\r\n${H}${Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`;
  await withServer(
    t,
    async (port) => {
      const refused = await raw(port, head(20));
      t.is(refused.responses[0]?.status, 431);
      t.regex(refused.responses[0]!.body.toString(), /maxHeaders/);
      t.true(refused.closed);
      const fine = await raw(port, head(5), { responses: 1 });
      t.is(fine.responses[0]?.status, 200);
    },
    { server: { maxHeaders: 10 } },
  );
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, head(400), { responses: 1 });
      t.is(res.responses[0]?.status, 200, '400 fields under maxHeaders 500 and the size limit');
    },
    { server: { maxHeaders: 500, maxHeaderSize: 64 * 1024 } },
  );
});

test('CONNECT: the request has no body, the app answers it, and nothing after it is parsed', async (t) => {
  const seen: string[] = [];
  await withServer(
    t,
    async (port) => {
      const res = await raw(port, `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nContent-Length: 5\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`);
      t.is(res.responses.length, 1);
      t.is(res.responses[0]!.status, 405);
      t.true(res.closed);
      await stillServes(t, port);
    },
    {
      requestCb: (req) => {
        seen.push(`${req.method} ${req.uri} ${req.body.length}`);
        as.httpResponse(req, { status: req.method === 'CONNECT' ? 405 : 200 });
      },
    },
  );
  t.deepEqual(seen, ['CONNECT example.com:443 0', 'GET /check 0']);
});

test('stats().bytesRead and bytesWritten count HTTP traffic', async (t) => {
  await withServer(t, async (port) => {
    const before = as.stats();
    const res = await raw(port, `POST /count HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\n${'x'.repeat(1000)}`, { responses: 1 });
    t.is(res.responses[0]?.status, 200);
    // Under the thread driver the reactor counts on its own thread, just after the write the
    // client already saw: give it a moment.
    let after = as.stats();
    for (let i = 0; i < 100 && after.bytesWritten - before.bytesWritten < res.bytes.length; i++) {
      await sleep(0.01);
      after = as.stats();
    }
    t.true(after.bytesRead - before.bytesRead >= 1000, `read ${after.bytesRead - before.bytesRead}`);
    t.true(after.bytesWritten - before.bytesWritten >= res.bytes.length, `written ${after.bytesWritten - before.bytesWritten}`);
  });
});

test('Transport.abort() drops the buffered bytes: getWriteBufferSize() is 0 afterwards', async (t) => {
  await runLoop(t, async () => {
    // A peer that never reads, so the transport's buffer fills.
    const accepted: net.Socket[] = [];
    const peer = net.createServer((s) => {
      accepted.push(s);
      s.pause();
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    const port = (peer.address() as net.AddressInfo).port;
    const [transport] = await as.createConnection(() => ({}), '127.0.0.1', port);
    const chunk = Buffer.alloc(1 << 20, 1);
    for (let i = 0; i < 50; i++) transport.write(chunk);
    await sleep(0.05);
    t.true(transport.getWriteBufferSize() > 10 << 20, `buffered ${transport.getWriteBufferSize()}`);
    transport.abort();
    t.is(transport.getWriteBufferSize(), 0);
    await sleep(0.05);
    t.is(transport.getWriteBufferSize(), 0);
    // The paused peer would not notice the reset until it reads: end it here.
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => peer.close(() => r()));
    await expectClean(t);
  });
});
