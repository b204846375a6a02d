/**
 * The server side of the HTTP benches, one process per run so its CPU can be read from /proc:
 * `http-server.ts <evasync|node|uws> [driver]` answers every request with "Hello, World!" and
 * prints "ready <port>".
 */
import * as http from 'node:http';

import * as as from 'evasync';

const impl = process.argv[2];
const BODY = 'Hello, World!';
// With --expose-gc (the idle-connections bench), collect often so RSS shows what is live.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) setInterval(gc, 500).unref();

if (impl === 'node') {
  const server = http.createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    console.log(`ready ${(server.address() as import('node:net').AddressInfo).port}`);
  });
  process.on('SIGTERM', () => process.exit(0));
} else if (impl === 'uws') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const uws = require('@trufflesuite/uws-js-unofficial') as typeof import('@trufflesuite/uws-js-unofficial');
  uws
    .App()
    .any('/*', (res) => {
      res.writeHeader('Content-Type', 'text/plain');
      res.end(BODY);
    })
    .listen('127.0.0.1', 0, (token) => {
      console.log(`ready ${uws.us_socket_local_port(token)}`);
    });
  process.on('SIGTERM', () => process.exit(0));
} else {
  const headers: Array<[string, string]> = [['Content-Type', 'text/plain']];
  as.startEventLoop(
    () => {
      const server = as.httpServer('127.0.0.1', 0, (req) => as.httpResponse(req, { headers, body: BODY }), {
        backlog: 4096,
        keepAliveTimeout: 60,
        eventCb: () => {},
      });
      console.log(`ready ${server.port}`);
      process.on('SIGTERM', () => as.exitEventLoop());
    },
    { driver: (process.argv[3] as 'main' | 'thread' | undefined) ?? undefined },
  ).then(() => process.exit(0));
}
