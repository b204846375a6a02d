/**
 * The server side of the TCP benches, one process per run so its CPU and RSS can be read from
 * /proc: `tcp-echo-server.ts <evasync|node> [driver]` echoes everything; prints "ready <port>".
 */
import * as net from 'node:net';

import * as as from 'evasync';

const impl = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;

if (impl === 'node') {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    console.log(`ready ${(server.address() as net.AddressInfo).port}`);
  });
  if (gc) setInterval(gc, 500).unref();
  process.on('SIGTERM', () => process.exit(0));
} else {
  as.startEventLoop(() => {
    const server = as.tcpServer('127.0.0.1', 0, (socket, data: Buffer) => {
      as.writeSocketData(socket, data);
    }, { backlog: 4096, eventCb: () => {} });
    console.log(`ready ${server.port}`);
    if (gc) setInterval(gc, 500).unref();
    process.on('SIGTERM', () => as.exitEventLoop());
  }, { driver: (process.argv[3] as 'main' | 'thread' | undefined) ?? undefined }).then(() => process.exit(0));
}
