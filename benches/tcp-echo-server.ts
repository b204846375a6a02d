/**
 * The server side of the TCP benches, one process per run so its CPU and RSS can be read from
 * /proc: `tcp-echo-server.ts <evasync|node> [driver]` echoes everything; prints "ready <port>".
 * With TLS_BENCH_CERT / TLS_BENCH_KEY (files) both speak TLS with that certificate (evasync's
 * `tls` option, node:tls). With UNIX_PATH both listen on that Unix socket path instead (and print
 * "ready 0").
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';

import * as as from 'evasync';

const impl = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
const TLS = process.env.TLS_BENCH_CERT
  ? { cert: readFileSync(process.env.TLS_BENCH_CERT), key: readFileSync(process.env.TLS_BENCH_KEY!) }
  : undefined;

if (impl === 'node') {
  const echo = (s: net.Socket) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  };
  const server = TLS ? tls.createServer(TLS, echo) : net.createServer(echo);
  const where = process.env.UNIX_PATH ? { path: process.env.UNIX_PATH, backlog: 4096 } : { port: 0, host: '127.0.0.1', backlog: 4096 };
  server.listen(where, () => {
    console.log(`ready ${process.env.UNIX_PATH ? 0 : (server.address() as net.AddressInfo).port}`);
  });
  if (gc) setInterval(gc, 500).unref();
  process.on('SIGTERM', () => process.exit(0));
} else {
  as.startEventLoop(() => {
    const echo = (socket: as.Socket, data: Buffer) => {
      as.writeSocketData(socket, data);
    };
    const server = process.env.UNIX_PATH
      ? as.pipeServer(process.env.UNIX_PATH, echo, { backlog: 4096, eventCb: () => {}, tls: TLS })
      : as.tcpServer('127.0.0.1', 0, echo, { backlog: 4096, eventCb: () => {}, tls: TLS });
    console.log(`ready ${server.port}`);
    if (gc) setInterval(gc, 500).unref();
    process.on('SIGTERM', () => as.exitEventLoop());
  }, { driver: (process.argv[3] as 'main' | 'thread' | undefined) ?? undefined }).then(() => process.exit(0));
}
