/**
 * TLS (API.md §8) against peers this project did not write: node:tls, node:https, undici,
 * `openssl s_server` / `s_client` and curl, with certificates the `openssl` CLI makes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';
import { certs } from './tls-certs';

const c = certs();

/** A node:tls server presenting `pair`; `onConn` for each secure connection. */
async function nodeTlsServer(
  pair: { cert: string; key: string },
  onConn: (s: tls.TLSSocket) => void,
  opts: tls.TlsOptions = {},
): Promise<{ server: tls.Server; port: number; errors: Error[] }> {
  const errors: Error[] = [];
  const server = tls.createServer({ ...pair, ...opts }, (s) => {
    s.on('error', () => {});
    onConn(s);
  });
  server.on('tlsClientError', (e) => errors.push(e));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port, errors };
}

function closeNode(server: net.Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

/** Connects node:tls to `port`, trusting the test CA; resolves once secure. */
function nodeTlsClient(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: c.ca, ...opts }, () => resolve(s));
    s.on('error', reject);
  });
}

test('tcpServer with tls: a node:tls client is served; socket.tls says what was agreed', async (t) => {
  await runLoop(t, async () => {
    const accepted = deferred<as.Socket>();
    const srv = as.tcpServer('127.0.0.1', 0, (s, data: Buffer) => as.writeSocketData(s, data), {
      tls: { ...c.leaf, alpn: ['echo/1'] },
      connectCb: (s) => accepted.resolve(s),
    });
    const client = await nodeTlsClient(srv.port, { ALPNProtocols: ['echo/1'] });
    const s = await accepted.promise;
    t.truthy(s.tls);
    t.is(s.tls!.protocol, 'TLSv1.3');
    t.is(s.tls!.cipher, client.getCipher().standardName);
    t.is(s.tls!.alpn, 'echo/1');
    t.is(s.tls!.serverName, 'localhost');
    t.false(s.tls!.resumed);
    t.is(s.tls!.peerCertificate, null, 'no client certificate was asked for');
    t.is(client.alpnProtocol, 'echo/1');
    const echoed = deferred<string>();
    let got = '';
    client.on('data', (d) => {
      got += d;
      if (got.length === 5) echoed.resolve(got);
    });
    client.write('hello');
    t.is(await echoed.promise, 'hello');
    // A graceful close sends close_notify: node sees a clean end.
    const ended = deferred();
    client.on('end', () => ended.resolve());
    as.closeSocket(s);
    await ended.promise;
    client.destroy();
    srv.close();
    await expectClean(t);
  });
});

test('tcpConnect with tls: connectCb after the handshake, the peer certificate, RSA and P-256', async (t) => {
  for (const pair of [c.leaf, c.rsa]) {
    const { server, port } = await nodeTlsServer(pair, (s) => s.pipe(s));
    await runLoop(t, async () => {
      const done = deferred<as.Socket>();
      let connectedFirst = false;
      let got = '';
      as.tcpConnect('localhost', port, (s, d: Buffer) => {
        got += d;
        if (got === 'ping') done.resolve(s);
      }, {
        tls: { ca: c.ca },
        data: 'ping',
        connectCb: (s) => {
          connectedFirst = got === '';
          t.not(s.tls, null);
        },
      });
      const s = await done.promise;
      t.true(connectedFirst);
      const peer = s.tls!.peerCertificate!;
      t.regex(peer.subject, /CN=localhost/);
      t.regex(peer.issuer, /CN=evasync test CA/);
      t.true(peer.subjectAltNames.includes('DNS:localhost'));
      t.regex(peer.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      t.true(peer.validTo > new Date());
      t.true(Buffer.isBuffer(peer.raw));
      t.is(s.tls!.serverName, 'localhost');
      as.closeSocket(s);
      await expectClean(t);
    });
    await closeNode(server);
  }
});

test('verification failures carry the names Node uses', async (t) => {
  const cases: Array<[string, { cert: string; key: string }, string, string]> = [
    ['expired', c.expired, 'localhost', 'CERT_HAS_EXPIRED'],
    ['wrong name', c.wrongName, 'localhost', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['self-signed', c.selfSigned, 'localhost', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['untrusted CA', c.untrusted, 'localhost', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  ];
  for (const [what, pair, host, code] of cases) {
    const { server, port } = await nodeTlsServer(pair, () => {});
    await runLoop(t, async () => {
      const failed = deferred<unknown>();
      as.tcpConnect(host, port, () => t.fail('no data expected'), {
        tls: { ca: c.ca },
        connectCb: () => t.fail(`${what}: connected`),
        eventCb: (ev) => failed.resolve(ev),
      });
      const ev = (await failed.promise) as as.TlsError;
      t.true(ev instanceof as.TlsError, what);
      t.true(ev instanceof as.ConnectionError, what);
      t.is(ev.errcode, code, `${what}: ${ev.errmsg}`);
      t.regex(ev.errmsg, /^TLS handshake with 127\.0\.0\.1:\d+ failed: /, what);
      await expectClean(t);
    });
    await closeNode(server);
  }
});

test('rejectUnauthorized: false accepts any certificate and says so once', async (t) => {
  const { server, port } = await nodeTlsServer(c.selfSigned, (s) => s.end('hi'));
  const logs: string[] = [];
  await runLoop(t, async () => {
    for (let i = 0; i < 2; i++) {
      const done = deferred();
      as.tcpConnect('127.0.0.1', port, (s, d: Buffer) => {
        if (d.toString() === 'hi') done.resolve();
      }, { tls: { rejectUnauthorized: false }, eventCb: () => {} });
      await done.promise;
    }
    await expectClean(t);
  }, { loggerCb: (_l, m) => logs.push(m) });
  t.is(logs.filter((m) => m.includes('rejectUnauthorized')).length, 1);
  await closeNode(server);
});

test('a bad PEM throws TypeError naming the item; Promise forms reject with it', async (t) => {
  await runLoop(t, async () => {
    t.throws(() => as.tcpServer('127.0.0.1', 0, null, { tls: { cert: 'not a pem', key: c.leaf.key } }), {
      instanceOf: TypeError,
      message: /tls\.cert: no PEM CERTIFICATE block found/,
    });
    t.throws(() => as.tcpServer('127.0.0.1', 0, null, { tls: { cert: c.leaf.cert, key: c.rsa.key } }), {
      instanceOf: TypeError,
      message: /tls\.key: the private key does not belong to the certificate/,
    });
    t.throws(() => as.tcpServer('127.0.0.1', 0, null, { tls: { cert: [c.leaf.cert, 42 as unknown as string], key: c.leaf.key } }), {
      instanceOf: TypeError,
      message: /tls\.cert\[1\] must be a PEM string or Buffer, not 42 \(number\)/,
    });
    t.throws(() => as.tcpConnect('127.0.0.1', 1, null, { tls: { ca: '-----BEGIN CERTIFICATE-----\nnope\n' } }), {
      instanceOf: TypeError,
      message: /tls\.ca/,
    });
    t.throws(() => as.tcpServer('127.0.0.1', 0, null, { tls: {} }), { instanceOf: TypeError, message: /tls\.cert and tls\.key are required/ });
    await t.throwsAsync(as.createServer(() => ({}), '127.0.0.1', 0, { ssl: { cert: 'x', key: 'y' } }), { instanceOf: TypeError });
    await t.throwsAsync(as.createConnection(() => ({}), '127.0.0.1', 1, { ssl: { minVersion: 'TLSv1.0' as 'TLSv1.2' } }), {
      instanceOf: TypeError,
      message: /minVersion/,
    });
    await t.throwsAsync(as.httpClient('https://127.0.0.1:1/', { tls: { key: c.leaf.key } }), { instanceOf: TypeError });
    await expectClean(t);
  });
});

test('hostile clients: an HTTP request, garbage, a stalled handshake, a probe; others are served', async (t) => {
  await runLoop(t, async () => {
    const errors: as.TlsError[] = [];
    let served = 0;
    const srv = as.tcpServer('127.0.0.1', 0, (s, d: Buffer) => {
      as.writeSocketData(s, d);
    }, {
      tls: { ...c.leaf, handshakeTimeout: 0.3 },
      eventCb: (ev) => {
        if (ev instanceof as.TlsError) errors.push(ev);
      },
      connectCb: () => served++,
    });
    const raw = (bytes: Buffer | string, keepOpen = false): net.Socket => {
      const s = net.connect(srv.port, '127.0.0.1', () => s.write(bytes));
      s.on('error', () => {});
      if (!keepOpen) s.on('data', () => {});
      return s;
    };
    const h = raw('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const g = raw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff]));
    // Half a ClientHello, then silence.
    const stall = raw(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]), true);
    // Connects and closes without a byte: a probe, not a handshake.
    const probe = net.connect(srv.port, '127.0.0.1', () => probe.end());
    probe.on('error', () => {});
    const good = await nodeTlsClient(srv.port);
    const echoed = deferred();
    good.on('data', () => echoed.resolve());
    good.write('x');
    await echoed.promise;
    while (errors.length < 3) await sleep(0.02);
    await sleep(0.2);
    t.is(errors.length, 3, errors.map((e) => e.errmsg).join(' | '));
    t.is(served, 1);
    t.true(errors.every((e) => /^TLS handshake with 127\.0\.0\.1:\d+ /.test(e.errmsg)));
    t.is(errors.filter((e) => e.errcode === 'ETIMEDOUT').length, 1);
    t.is(errors.filter((e) => e.errcode === 'EPROTO').length, 2);
    for (const s of [h, g, stall, probe]) s.destroy();
    good.destroy();
    srv.close();
    await expectClean(t);
  });
});

test('client timeouts: handshakeTimeout is a TlsError, connectTimeout covers the handshake', async (t) => {
  // A TCP server that accepts and never answers.
  const held = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    held.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  await runLoop(t, async () => {
    const a = deferred<unknown>();
    as.tcpConnect('127.0.0.1', port, null, { tls: { handshakeTimeout: 0.2 }, eventCb: (e) => a.resolve(e) });
    const ea = (await a.promise) as as.TlsError;
    t.true(ea instanceof as.TlsError);
    t.is(ea.errcode, 'ETIMEDOUT');
    const b = deferred<unknown>();
    as.tcpConnect('127.0.0.1', port, null, { tls: {}, connectTimeout: 0.2, eventCb: (e) => b.resolve(e) });
    const eb = (await b.promise) as as.ConnectionTimeout;
    t.true(eb instanceof as.ConnectionTimeout);
    t.is(eb.errcode, 'ETIMEDOUT');
    await expectClean(t);
  });
  for (const s of held) s.destroy();
  await closeNode(silent);
});

test('STARTTLS: our client upgrades against node, our server upgrades against node', async (t) => {
  // Node server speaking a line protocol, then TLS.
  const server = net.createServer((raw) => {
    raw.once('data', () => {
      raw.write('220 ready\r\n', () => {
        const secure = new tls.TLSSocket(raw, { isServer: true, ...c.leaf });
        secure.on('data', (d) => secure.write(`secure:${d}`));
        secure.on('error', () => {});
      });
    });
    raw.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await runLoop(t, async () => {
    const ready = deferred();
    const reply = deferred<string>();
    let stage = 0;
    const s = as.tcpConnect('127.0.0.1', port, (sock, d: Buffer) => {
      if (stage === 0) ready.resolve();
      else reply.resolve(d.toString());
    }, { data: 'STARTTLS\r\n' });
    await ready.promise;
    stage = 1;
    t.is(s.tls, null);
    await as.startTls(s, { ca: c.ca, serverName: 'localhost' });
    t.is(s.tls!.protocol, 'TLSv1.3');
    as.writeSocketData(s, 'hello');
    t.is(await reply.promise, 'secure:hello');
    as.closeSocket(s);
    await expectClean(t);
  });
  await closeNode(server);

  // Our server: plain greeting, then the upgrade on the client's word.
  await runLoop(t, async () => {
    const done = deferred<string>();
    const srv = as.tcpServer('127.0.0.1', 0, (sock, d: Buffer) => {
      if (sock.tls === null && d.toString() === 'STARTTLS\r\n') {
        as.writeSocketData(sock, '220 go ahead\r\n');
        as.startTls(sock, c.leaf, { server: true }, (up) => t.not(up.tls, null), (ev) => t.fail(String(ev)));
      } else if (sock.tls !== null) {
        as.writeSocketData(sock, `secure:${d}`);
      }
    });
    const raw = net.connect(srv.port, '127.0.0.1', () => raw.write('STARTTLS\r\n'));
    raw.once('data', (d) => {
      t.is(d.toString(), '220 go ahead\r\n');
      const secure = tls.connect({ socket: raw, servername: 'localhost', ca: c.ca }, () => secure.write('hi'));
      secure.on('data', (x) => done.resolve(x.toString()));
    });
    t.is(await done.promise, 'secure:hi');
    raw.destroy();
    srv.close();
    await expectClean(t);
  });
});

test('STARTTLS failure closes the socket, goes to eventCb and rejects the Promise', async (t) => {
  // The peer answers the upgrade with plain text.
  const server = net.createServer((raw) => {
    raw.on('data', () => raw.write('this is not TLS at all\r\n'));
    raw.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await runLoop(t, async () => {
    const s = as.tcpConnect('127.0.0.1', port, null, { eventCb: () => {} });
    const err = await t.throwsAsync(as.startTls(s, { ca: c.ca }));
    t.true(err instanceof as.TlsError);
    t.true(s.closed);
    await t.throwsAsync(as.startTls(s, { ca: c.ca }), { instanceOf: as.SocketClosed });
    await expectClean(t);
  });
  await closeNode(server);
});

test('SNI: certificates by name (exact and wildcard) and by an async callback', async (t) => {
  await runLoop(t, async () => {
    const names: string[] = [];
    // Clients here end right after the handshake; a client that drops its connection before its
    // Finished went out is a failed handshake, reported to eventCb.
    const srv = as.tcpServer('127.0.0.1', 0, null, {
      tls: { ...c.leaf, sni: { 'a.sni.test': c.sniA, '*.wild.test': c.sniWild } },
      eventCb: () => {},
      connectCb: (s) => names.push(s.tls!.serverName ?? ''),
    });
    for (const [name, cn] of [['a.sni.test', 'a.sni.test'], ['x.wild.test', '*.wild.test'], ['localhost', 'localhost']] as const) {
      const s = await nodeTlsClient(srv.port, { servername: name });
      t.is(s.getPeerCertificate().subject.CN, cn);
      s.end();
    }
    while (names.length < 3) await sleep(0.01);
    t.deepEqual(names.sort(), ['a.sni.test', 'localhost', 'x.wild.test']);
    srv.close();

    const asked: string[] = [];
    const cbSrv = as.tcpServer('127.0.0.1', 0, null, {
      tls: {
        ...c.leaf,
        sniCallback: async (name) => {
          asked.push(name);
          await sleep(0.01);
          if (name === 'a.sni.test') return c.sniA;
          if (name === 'boom.test') throw new Error('no certificate for you');
          return null;
        },
      },
      eventCb: () => {},
    });
    const a = await nodeTlsClient(cbSrv.port, { servername: 'a.sni.test' });
    t.is(a.getPeerCertificate().subject.CN, 'a.sni.test');
    a.end();
    const d = await nodeTlsClient(cbSrv.port, { servername: 'localhost' });
    t.is(d.getPeerCertificate().subject.CN, 'localhost');
    d.end();
    await t.throwsAsync(nodeTlsClient(cbSrv.port, { servername: 'boom.test' }));
    t.deepEqual(asked, ['a.sni.test', 'localhost', 'boom.test']);
    cbSrv.close();
    await expectClean(t);
  });
});

test('ALPN without overlap and client certificates (request, require)', async (t) => {
  await runLoop(t, async () => {
    const errors: as.TlsError[] = [];
    const srv = as.tcpServer('127.0.0.1', 0, null, {
      tls: { ...c.leaf, alpn: ['http/1.1'] },
      eventCb: (e) => errors.push(e as as.TlsError),
    });
    await t.throwsAsync(nodeTlsClient(srv.port, { ALPNProtocols: ['h2'] }));
    while (errors.length < 1) await sleep(0.01);
    t.is(errors[0]!.errcode, 'ERR_SSL_NO_APPLICATION_PROTOCOL');
    srv.close();

    const peers: Array<string | null> = [];
    const mtls = as.tcpServer('127.0.0.1', 0, null, {
      tls: { ...c.leaf, ca: c.clientCa, requireCert: true },
      connectCb: (s) => peers.push(s.tls!.peerCertificate?.subject ?? null),
      eventCb: () => {},
    });
    const withCert = await nodeTlsClient(mtls.port, c.client);
    while (peers.length < 1) await sleep(0.01);
    t.regex(peers[0]!, /CN=client\.test/);
    withCert.end();
    const without = await nodeTlsClient(mtls.port).then(
      (s) => new Promise<unknown>((res) => { s.on('error', res); s.on('close', () => res('closed')); }),
      (e: unknown) => e,
    );
    t.truthy(without, 'a client without a certificate is refused');
    t.is(peers.length, 1);
    mtls.close();

    const optional = as.tcpServer('127.0.0.1', 0, null, {
      tls: { ...c.leaf, ca: c.clientCa, requestCert: true },
      eventCb: () => {},
      connectCb: (s) => peers.push(s.tls!.peerCertificate === null ? 'none' : 'cert'),
    });
    (await nodeTlsClient(optional.port)).end();
    (await nodeTlsClient(optional.port, c.client)).end();
    while (peers.length < 3) await sleep(0.01);
    t.deepEqual(peers.slice(1).sort(), ['cert', 'none']);
    optional.close();

    // Our client presents its certificate when asked.
    const { server, port } = await nodeTlsServer(c.leaf, (s) => s.end(String(s.getPeerCertificate().subject?.CN ?? 'none')), {
      requestCert: true,
      rejectUnauthorized: true,
      ca: c.clientCa,
    });
    const cn = deferred<string>();
    as.tcpConnect('localhost', port, (_s, d: Buffer) => cn.resolve(d.toString()), { tls: { ca: c.ca, ...c.client }, eventCb: () => {} });
    t.is(await cn.promise, 'client.test');
    await closeNode(server);
    await expectClean(t);
  });
});

test('10 MiB each way through a TLS echo, sha256 on both ends', async (t) => {
  const size = 10 * 1024 * 1024;
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 2654435761) >>> 24;
  const want = createHash('sha256').update(payload).digest('hex');
  await runLoop(t, async () => {
    const srv = as.tcpServer('127.0.0.1', 0, (s, d: Buffer) => as.writeSocketData(s, d), { tls: c.leaf });
    const client = await nodeTlsClient(srv.port);
    const hash = createHash('sha256');
    let got = 0;
    const done = deferred();
    client.on('data', (d) => {
      hash.update(d);
      got += d.length;
      if (got >= size) done.resolve();
    });
    client.write(payload);
    await done.promise;
    t.is(hash.digest('hex'), want);
    client.destroy();

    // And our client sending to node.
    const { server, port } = await nodeTlsServer(c.leaf, (s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (d) => {
        h.update(d);
        n += d.length;
        if (n >= size) s.end(h.digest('hex'));
      });
    });
    const digest = deferred<string>();
    let writeCbRan = false;
    const sock = as.tcpConnect('localhost', port, (_s, d: Buffer) => digest.resolve(d.toString()), {
      tls: { ca: c.ca },
      eventCb: () => {},
    });
    as.writeSocketData(sock, payload, { writeCb: () => (writeCbRan = true) });
    t.is(await digest.promise, want);
    t.true(writeCbRan, 'writeCb runs once the sealed records reached the kernel');
    await closeNode(server);
    srv.close();
    await expectClean(t);
  }, {}, 60);
});

test('openssl s_server and s_client as peers', async (t) => {
  // s_server: our client connects and reads its -www status page.
  const port = await freePort();
  const srv = spawn('openssl', ['s_server', '-accept', String(port), '-cert', c.files.leafCert, '-key', c.files.leafKey, '-www', '-quiet'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  try {
    await waitForPort(port);
    await runLoop(t, async () => {
      const page = deferred<string>();
      let text = '';
      as.tcpConnect('localhost', port, (_s, d: Buffer) => {
        text += d;
        if (text.includes('</HTML>') || text.includes('</html>')) page.resolve(text);
      }, { tls: { ca: c.ca }, data: 'GET / HTTP/1.0\r\n\r\n', eventCb: (e) => {
        if (e instanceof as.ConnectionError) page.reject(e);
        else page.resolve(text);
      } });
      t.regex(await page.promise, /Cipher|TLSv1\.3|Protocol/i);
      await expectClean(t);
    });
  } finally {
    srv.kill();
  }

  // s_client: talks to our server, sends a line, prints what comes back.
  await runLoop(t, async () => {
    const ours = as.tcpServer('127.0.0.1', 0, (s, d: Buffer) => as.writeSocketData(s, `echo:${d}`), { tls: c.leaf });
    const out = deferred<string>();
    const cli = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${ours.port}`, '-servername', 'localhost', '-CAfile', c.files.ca, '-verify_return_error', '-quiet'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let text = '';
    cli.stdout.on('data', (d) => {
      text += d;
      if (text.includes('echo:hello')) out.resolve(text);
    });
    cli.on('exit', () => out.resolve(text));
    cli.stdin.write('hello\n');
    t.regex(await out.promise, /echo:hello/);
    cli.kill();
    ours.close();
    await expectClean(t);
  });
});

test('HTTPS: our server against node:https and curl; req.socket.tls', async (t) => {
  await runLoop(t, async () => {
    const seen: Array<string | null> = [];
    const srv = as.httpServer('127.0.0.1', 0, (req) => {
      seen.push(req.socket.tls?.alpn ?? null);
      as.httpResponse(req, { body: `secure ${req.uri} over ${req.socket.tls?.protocol}` });
    }, { tls: c.leaf });
    const body = await new Promise<string>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: srv.port, path: '/node', servername: 'localhost', ca: c.ca, agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    t.is(body, 'secure /node over TLSv1.3');
    const curl = await new Promise<string>((resolve) => {
      const p = spawn('curl', ['-sS', '--cacert', c.files.ca, `https://localhost:${srv.port}/curl`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('exit', () => resolve(out));
    });
    t.is(curl, 'secure /curl over TLSv1.3');
    // node:https offers no ALPN; curl offers h2 and http/1.1, and the server agrees on http/1.1.
    t.deepEqual(seen, [null, 'http/1.1']);
    await srv.close();
    await expectClean(t);
  });
});

test('httpClient https://: verified, pooled per TLS options, sessions resumed', async (t) => {
  const reused: boolean[] = [];
  const server = https.createServer({ ...c.leaf }, (req, res) => {
    reused.push((req.socket as tls.TLSSocket).isSessionReused());
    res.end(`hello ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await runLoop(t, async () => {
    const a = await as.httpClient(`https://localhost:${port}/a`, { tls: { ca: c.ca } });
    t.is(a.status, 200);
    t.is(a.body.toString(), 'hello /a');
    // A new connection (keepAlive off) resumes the session of the first.
    const b = await as.httpClient(`https://localhost:${port}/b`, { tls: { ca: c.ca }, keepAlive: false });
    t.is(b.body.toString(), 'hello /b');
    const c2 = await as.httpClient(`https://localhost:${port}/c`, { tls: { ca: c.ca }, keepAlive: false });
    t.is(c2.body.toString(), 'hello /c');
    // Verification is on by default: the bundled roots do not know the test CA.
    const err = await t.throwsAsync(as.httpClient(`https://localhost:${port}/d`));
    t.true(err instanceof as.TlsError);
    t.is((err as as.TlsError).errcode, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await expectClean(t);
  });
  t.true(reused.slice(1).some((r) => r), `later connections resume: ${reused.join(',')}`);
  server.closeAllConnections();
  await closeNode(server);
});

test('Protocol/Transport over TLS: createServer({ ssl }), createConnection({ ssl, serverHostname }), getExtraInfo', async (t) => {
  await runLoop(t, async () => {
    const made = deferred<as.Transport>();
    const server = await as.createServer(() => ({
      connectionMade: (tr: as.Transport) => made.resolve(tr),
      dataReceived: function (this: unknown, d: Buffer) {
        void d;
      },
    }), '127.0.0.1', 0, { ssl: { ...c.leaf }, sslHandshakeTimeout: 5 });
    const port = server.sockets[0]!.port;
    const [tr] = await as.createConnection(() => ({}), '127.0.0.1', port, { ssl: { ca: c.ca }, serverHostname: 'localhost' });
    const serverSide = await made.promise;
    const cert = tr.getExtraInfo('peercert') as as.PeerCertificate;
    t.regex(cert.subject, /CN=localhost/);
    const [name, proto, bits] = tr.getExtraInfo('cipher') as [string, string, number];
    t.regex(name, /^TLS_/);
    t.is(proto, 'TLSv1.3');
    t.true(bits === 128 || bits === 256);
    t.is((tr.getExtraInfo('ssl_object') as as.TlsInfo).serverName, 'localhost');
    t.is(tr.getExtraInfo('sslObject'), tr.getExtraInfo('ssl_object'));
    t.is(serverSide.getExtraInfo('peercert'), null);
    t.is(serverSide.getExtraInfo('peercert', 'x'), null, 'TLS without a client certificate: null, not the default');
    tr.close();
    server.close();
    await server.waitClosed();
    await expectClean(t);
  });
});

/** A free TCP port on loopback. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await closeNode(s);
  return port;
}

/** Waits until something accepts on `port` (bounded). */
async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}
