/**
 * The server side of the HTTP benches, one process per run so its CPU can be read from /proc:
 * `http-server.ts <evasync|node|uws> [driver]` answers every request with "Hello, World!" and
 * prints "ready <port>"; `/echo/…` is answered with its own path. `GET /__stats` answers evasync's `stats()` as JSON (`{}` for the
 * others); HTTP_SERVER_OPTS (JSON) adds evasync server options (the hostile-load benches set
 * `requestTimeout`). With TLS_BENCH_CERT / TLS_BENCH_KEY (files) every server speaks HTTPS with
 * that certificate: evasync's `tls` option, uWebSockets.js's SSLApp, node:https.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import * as as from 'evasync';

const impl = process.argv[2];
const BODY = 'Hello, World!';
const TLS = process.env.TLS_BENCH_CERT
  ? { certFile: process.env.TLS_BENCH_CERT, keyFile: process.env.TLS_BENCH_KEY!, cert: readFileSync(process.env.TLS_BENCH_CERT), key: readFileSync(process.env.TLS_BENCH_KEY!) }
  : undefined;
// With --expose-gc (the idle-connections bench), collect often so RSS shows what is live.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) setInterval(gc, 500).unref();

if (impl === 'node') {
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('Content-Type', 'text/plain');
    res.end(req.url === '/__stats' ? '{}' : req.url!.startsWith('/echo/') ? req.url : BODY);
  };
  // HTTP_SERVER_READ_BODY: answer once the body is read (so a body the parser refuses is
  // refused before any answer, as evasync's whole-body mode does).
  const handler = process.env.HTTP_SERVER_READ_BODY
    ? (req: http.IncomingMessage, res: http.ServerResponse) => {
        req.resume();
        req.on('end', () => answer(req, res));
      }
    : answer;
  const server = TLS ? https.createServer({ cert: TLS.cert, key: TLS.key }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    console.log(`ready ${(server.address() as import('node:net').AddressInfo).port}`);
  });
  process.on('SIGTERM', () => process.exit(0));
} else if (impl === 'uws') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const uws = require('@trufflesuite/uws-js-unofficial') as typeof import('@trufflesuite/uws-js-unofficial');
  (TLS ? uws.SSLApp({ cert_file_name: TLS.certFile, key_file_name: TLS.keyFile }) : uws.App())
    .any('/*', (res, req) => {
      const url = req.getUrl();
      res.writeHeader('Content-Type', 'text/plain');
      res.end(url === '/__stats' ? '{}' : url.startsWith('/echo/') ? url : BODY);
    })
    .listen('127.0.0.1', 0, (token) => {
      console.log(`ready ${uws.us_socket_local_port(token)}`);
    });
  process.on('SIGTERM', () => process.exit(0));
} else {
  const headers: Array<[string, string]> = [['Content-Type', 'text/plain']];
  const extra = JSON.parse(process.env.HTTP_SERVER_OPTS ?? '{}') as as.HttpServerOpts;
  as.startEventLoop(
    () => {
      const server = as.httpServer(
        '127.0.0.1',
        0,
        (req) => {
          if (req.uri === '/__stats') as.httpResponse(req, { body: JSON.stringify(as.stats()) });
          else if (req.uri.startsWith('/echo/')) as.httpResponse(req, { headers, body: req.uri });
          else as.httpResponse(req, { headers, body: BODY });
        },
        {
          backlog: 4096,
          keepAliveTimeout: 60,
          tls: TLS ? { cert: TLS.cert, key: TLS.key } : undefined,
          eventCb: (e) => {
            if (process.env.HTTP_SERVER_LOG_EVENTS) console.log(`event ${(e as { errcode?: string }).errcode ?? String(e)}`);
          },
          ...extra,
        },
      );
      console.log(`ready ${server.port}`);
      process.on('SIGTERM', () => as.exitEventLoop());
    },
    { driver: (process.argv[3] as 'main' | 'thread' | undefined) ?? undefined },
  ).then(() => process.exit(0));
}
