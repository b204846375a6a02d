/**
 * The servers of the demo (`npm start`), one process each so that their CPU and memory can be
 * read from /proc while the demo loads them:
 *   demo-servers.ts http <evasync|node>   hello world on 127.0.0.1, "ready <port>", then
 *                                         "count <requests answered>" every 200 ms
 *   demo-servers.ts tcp <evasync|node>    an echo server, "ready <port>"
 * Both stop on SIGTERM.
 */
import * as http from 'node:http';
import * as net from 'node:net';

import * as as from 'evasync';

const [kind, impl] = process.argv.slice(2);
const BODY = 'Hello, World!';
let answered = 0;
const report = () => process.stdout.write(`count ${answered}\n`);

if (impl === 'node') {
  if (kind === 'http') {
    const server = http.createServer((_req, res) => {
      answered++;
      res.setHeader('Content-Type', 'text/plain');
      res.end(BODY);
    });
    server.keepAliveTimeout = 60_000;
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
      console.log(`ready ${(server.address() as net.AddressInfo).port}`);
      setInterval(report, 200);
    });
  } else {
    const server = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('data', (d) => s.write(d));
      s.on('error', () => {});
    });
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
      console.log(`ready ${(server.address() as net.AddressInfo).port}`);
    });
  }
  process.on('SIGTERM', () => process.exit(0));
} else {
  void as.startEventLoop(() => {
    if (kind === 'http') {
      const headers: Array<[string, string]> = [['Content-Type', 'text/plain']];
      const server = as.httpServer('127.0.0.1', 0, (req) => {
        answered++;
        as.httpResponse(req, { headers, body: BODY });
      }, { backlog: 4096, keepAliveTimeout: 60 });
      console.log(`ready ${server.port}`);
      as.interval(report, { time: 0.2 });
    } else {
      const server = as.tcpServer('127.0.0.1', 0, (socket, data: Buffer) => as.writeSocketData(socket, data), { backlog: 4096, noDelay: true });
      console.log(`ready ${server.port}`);
    }
    process.on('SIGTERM', () => as.exitEventLoop());
  }).then(() => process.exit(0));
}
