/**
 * The HTTP client against node:http and evasync servers: methods, header order and duplicates,
 * bodies of every framing and size, keep-alive reuse, pool limits, a pooled connection the
 * server closed, timeouts, refused, unknown names, malformed responses, redirects, stats.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';

interface Peer {
  port: number;
  /** Connections the server accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Listens on loopback, counting and tracking connections, so `close()` can end them all. */
async function listenPeer(server: net.Server): Promise<Peer> {
  let conns = 0;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    conns++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => conns,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A node:http server running `handler`. */
function nodeHttp(handler: http.RequestListener): Promise<Peer> {
  return listenPeer(http.createServer(handler));
}

/** A raw TCP server answering each request head with what `reply` writes. */
function rawServer(reply: (req: string, sock: net.Socket) => void): Promise<Peer> {
  const server = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        const req = buf;
        buf = '';
        reply(req, s);
      }
    });
  });
  return listenPeer(server);
}

/** Echoes method, url, headers (raw, in order) and body as JSON. */
const echo: http.RequestListener = (req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, rawHeaders: req.rawHeaders, length: body.length, text: body.subarray(0, 64).toString() }));
  });
};

test('methods, target, body and the fields a client adds (Host, Content-Length, User-Agent)', async (t) => {
  const peer = await nodeHttp(echo);
  try {
    await runLoop(t, async () => {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const body = method === 'GET' || method === 'DELETE' || method === 'OPTIONS' ? undefined : `${method} body`;
        const r = await as.httpClient(`http://127.0.0.1:${peer.port}/m/${method}?q=1`, { method, body });
        t.is(r.status, 200);
        const e = JSON.parse(r.body.toString());
        t.is(e.method, method);
        t.is(e.url, `/m/${method}?q=1`);
        t.is(e.text, body ?? '');
        const headers = new Map<string, string>();
        for (let i = 0; i < e.rawHeaders.length; i += 2) headers.set(e.rawHeaders[i].toLowerCase(), e.rawHeaders[i + 1]);
        t.is(headers.get('host'), `127.0.0.1:${peer.port}`);
        t.regex(headers.get('user-agent') ?? '', /^evasync\/\d+\.\d+\.\d+/);
        if (body) t.is(headers.get('content-length'), String(Buffer.byteLength(body)));
      }
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('header fields round trip in order with duplicates, both ways', async (t) => {
  const peer = await nodeHttp((req, res) => {
    res.setHeader('X-Seen', JSON.stringify(req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]!.startsWith('X-')).map((n) => n)));
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.end();
  });
  try {
    await runLoop(t, async () => {
      const r = await as.httpClient(`http://127.0.0.1:${peer.port}/`, {
        headers: [
          ['X-First', '1'],
          ['X-Dup', 'a'],
          ['X-Dup', 'b'],
          ['X-Last', 'z'],
        ],
      });
      t.deepEqual(JSON.parse(r.headers.find(([n]) => n === 'X-Seen')![1]), ['X-First', 'X-Dup', 'X-Dup', 'X-Last']);
      t.deepEqual(
        r.headers.filter(([n]) => n === 'Set-Cookie').map(([, v]) => v),
        ['a=1', 'b=2'],
      );
      // Bad arguments: the Promise form rejects (API.md conventions), the callback form throws.
      await t.throwsAsync(as.httpClient(`http://127.0.0.1:${peer.port}/`, { headers: { 'X-Bad': 'a\r\nInjected: 1' } }), { instanceOf: TypeError });
      await t.throwsAsync(as.httpClient('not a url'), { instanceOf: TypeError });
      t.throws(() => as.httpClient('not a url', () => {}, () => {}), { instanceOf: TypeError });
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('bodies of 0 B, 1 KiB and 10 MiB each way, checksummed', async (t) => {
  const peer = await nodeHttp((req, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    req.on('end', () => {
      const size = Number(req.url!.slice(1));
      res.setHeader('X-Upload', `${n} ${h.digest('hex')}`);
      res.end(Buffer.alloc(size, 'r'));
    });
  });
  try {
    await runLoop(t, async () => {
      for (const size of [0, 1024, 10 * 1024 * 1024]) {
        const up = Buffer.alloc(size, 'u');
        const r = await as.httpClient(`http://127.0.0.1:${peer.port}/${size}`, { method: 'POST', body: up, timeout: 20 });
        t.is(r.headers.find(([n]) => n === 'X-Upload')![1], `${size} ${createHash('sha256').update(up).digest('hex')}`);
        t.is(r.body.length, size);
        t.true(r.body.equals(Buffer.alloc(size, 'r')));
      }
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('chunked and close-delimited responses; 1xx skipped; HEAD, 204 and 304 without bodies', async (t) => {
  const peer = await rawServer((req, s) => {
    const path = req.split(' ')[1];
    if (path === '/chunked') s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n');
    else if (path === '/close') s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
    else if (path === '/continue') s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    else if (path === '/head') s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
    else if (path === '/204') s.write('HTTP/1.1 204 No Content\r\n\r\n');
    else if (path === '/304') s.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n');
  });
  try {
    await runLoop(t, async () => {
      const base = `http://127.0.0.1:${peer.port}`;
      t.is((await as.httpClient(`${base}/chunked`)).body.toString(), 'abcdefg');
      t.is((await as.httpClient(`${base}/close`)).body.toString(), 'until the end');
      const cont = await as.httpClient(`${base}/continue`);
      t.is(cont.status, 200);
      t.is(cont.body.toString(), 'ok');
      const head = await as.httpClient(`${base}/head`, { method: 'HEAD' });
      t.is(head.status, 200);
      t.is(head.body.length, 0);
      t.is((await as.httpClient(`${base}/204`)).status, 204);
      const nm = await as.httpClient(`${base}/304`);
      t.is(nm.status, 304);
      t.is(nm.body.length, 0);
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('keep-alive: sequential requests reuse one connection; keepAlive: false closes each', async (t) => {
  const peer = await nodeHttp((_req, res) => res.end('x'));
  try {
    await runLoop(t, async () => {
      for (let i = 0; i < 5; i++) t.is((await as.httpClient(`http://127.0.0.1:${peer.port}/${i}`)).status, 200);
      t.is(peer.connections(), 1, 'one connection for five requests');
      for (let i = 0; i < 3; i++) await as.httpClient(`http://127.0.0.1:${peer.port}/c${i}`, { keepAlive: false });
      t.true(peer.connections() >= 3);
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('pool limits: with maxConnections 2, ten requests in flight use two connections', async (t) => {
  let inFlight = 0;
  let most = 0;
  const peer = await nodeHttp((_req, res) => {
    inFlight++;
    most = Math.max(most, inFlight);
    setTimeout(() => {
      inFlight--;
      res.end('slow');
    }, 20);
  });
  try {
    await runLoop(t, async () => {
      const all = await Promise.all(
        Array.from({ length: 10 }, (_, i) => as.httpClient(`http://127.0.0.1:${peer.port}/${i}`, { maxConnections: 2 })),
      );
      t.true(all.every((r) => r.body.toString() === 'slow'));
      t.is(peer.connections(), 2);
      t.is(most, 2);
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('a pooled connection the server closed while idle: the next request succeeds without error', async (t) => {
  const peer = await rawServer((_req, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh');
    setTimeout(() => s.end(), 20); // the server's own idle timeout, right after answering
  });
  try {
    await runLoop(t, async () => {
      t.is((await as.httpClient(`http://127.0.0.1:${peer.port}/1`)).status, 200);
      await sleep(0.2);
      const r = await as.httpClient(`http://127.0.0.1:${peer.port}/2`);
      t.is(r.body.toString(), 'fresh');
      t.is(peer.connections(), 2);
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('a reused connection closed before any response byte: an idempotent request is retried once, POST is not', async (t) => {
  // The second request on each connection meets a close with no answer, the race between a
  // server's idle timeout and a request already on its way.
  const served = new WeakMap<net.Socket, number>();
  const peer = await rawServer((_req, s) => {
    const n = (served.get(s) ?? 0) + 1;
    served.set(s, n);
    if (n === 1) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    else s.destroy();
  });
  try {
    await runLoop(t, async () => {
      await as.httpClient(`http://127.0.0.1:${peer.port}/warm`);
      const again = await as.httpClient(`http://127.0.0.1:${peer.port}/get`);
      t.is(again.body.toString(), 'ok', 'GET retried on a new connection');
      t.is(peer.connections(), 2);
      const err = await t.throwsAsync(as.httpClient(`http://127.0.0.1:${peer.port}/post`, { method: 'POST', body: 'once' }));
      t.true(err instanceof as.ConnectionError, String(err));
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('a server that never answers: ConnectionTimeout after timeout, in both forms', async (t) => {
  const peer = await rawServer(() => {
    // Never answers.
  });
  try {
    await runLoop(t, async () => {
      const err = await t.throwsAsync(as.httpClient(`http://127.0.0.1:${peer.port}/`, { timeout: 0.2 }));
      t.true(err instanceof as.ConnectionTimeout);
      t.is((err as as.ConnectionTimeout).errcode, 'ETIMEDOUT');
      const got = deferred<unknown>();
      as.httpClient(`http://127.0.0.1:${peer.port}/`, () => t.fail('no response'), (e) => got.resolve(e), { timeout: 0.2 });
      t.true((await got.promise) instanceof as.ConnectionTimeout);
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('refused (http and https) and unknown names fail with their conditions', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await runLoop(t, async () => {
    const refused = await t.throwsAsync(as.httpClient(`http://127.0.0.1:${port}/`));
    t.true(refused instanceof as.ConnectionRefused);
    const dns = await t.throwsAsync(as.httpClient('http://no-such-host.invalid/'));
    t.true(dns instanceof as.DnsError);
    const tls = await t.throwsAsync(as.httpClient(`https://127.0.0.1:${port}/`));
    t.true(tls instanceof as.ConnectionRefused);
    await expectClean(t);
  });
});

test('malformed responses are HttpError', async (t) => {
  const peer = await rawServer((req, s) => {
    const path = req.split(' ')[1];
    if (path === '/garbage') s.end('NOT HTTP AT ALL\r\n\r\n');
    else if (path === '/badlength') s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello');
    else if (path === '/badchunk') s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    else if (path === '/short') s.end('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort');
  });
  try {
    await runLoop(t, async () => {
      for (const path of ['/garbage', '/badlength', '/badchunk', '/short']) {
        const err = await t.throwsAsync(as.httpClient(`http://127.0.0.1:${peer.port}${path}`));
        t.true(err instanceof as.HttpError, `${path}: ${err?.constructor.name} ${err?.message}`);
      }
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('redirects are followed up to maxRedirects; 303 turns POST into GET', async (t) => {
  const peer = await nodeHttp((req, res) => {
    if (req.url === '/a') res.writeHead(301, { Location: '/b' }).end();
    else if (req.url === '/b') res.writeHead(303, { Location: `http://127.0.0.1:${(req.socket.address() as net.AddressInfo).port}/c` }).end();
    else res.end(`${req.method} ${req.url}`);
  });
  try {
    await runLoop(t, async () => {
      const r = await as.httpClient(`http://127.0.0.1:${peer.port}/a`, { method: 'POST', body: 'x', maxRedirects: 5 });
      t.is(r.body.toString(), 'GET /c');
      const none = await as.httpClient(`http://127.0.0.1:${peer.port}/a`);
      t.is(none.status, 301);
      await expectClean(t);
    });
  } finally {
    await peer.close();
  }
});

test('against an evasync server in the same loop; httpRequest is the same function', async (t) => {
  await runLoop(t, async () => {
    const server = as.httpServer('127.0.0.1', 0, (req) => as.httpResponse(req, { headers: [['X-Method', req.method]], body: req.body }));
    const r = await as.httpRequest(`http://127.0.0.1:${server.port}/same-loop`, { method: 'PUT', body: 'round trip' });
    t.is(r.body.toString(), 'round trip');
    t.is(r.headers.find(([n]) => n === 'X-Method')![1], 'PUT');
    t.is(as.httpRequest, as.httpClient);
    const statsDuring = deferred<number>();
    as.httpClient(`http://127.0.0.1:${server.port}/cb`, (status) => {
      statsDuring.resolve(status);
    });
    t.is(await statsDuring.promise, 200);
    await server.close();
    await expectClean(t);
  });
});
