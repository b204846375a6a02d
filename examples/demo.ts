/**
 * The demo `npm start` runs: what evasync does so far, on loopback, in a few seconds.
 *   npm start
 * 1. timers: a delay, an interval, equal deadlines in creation order;
 * 2. TCP: an echo server, 50 clients hammering it for 3 s, a stats line once per second;
 * 3. HTTP: a server answering on loopback, node:http keep-alive clients loading it for 2 s, its
 *    stats, then a graceful close;
 * then everything closes and the loop ends by itself.
 */
import * as http from 'node:http';

import * as as from 'evasync';

const CLIENTS = 50;
const SECONDS = 3;
const MESSAGE = Buffer.from('x'.repeat(64));

function line(label: string, text: string): void {
  console.log(`${label.padEnd(10)} ${text}`);
}

async function timersPart(): Promise<void> {
  await new Promise<void>((done) => {
    const order: number[] = [];
    for (let i = 0; i < 5; i++) as.delay(() => order.push(i), { time: 0.01 });
    let ticks = 0;
    const iv = as.interval(() => {
      ticks++;
      if (ticks === 3) {
        iv.free();
        line('timers', `5 equal delays fired in order ${order.join(',')}; an interval ran ${ticks} times`);
        done();
      }
    }, { time: 0.02 });
  });
}

async function tcpPart(): Promise<void> {
  let echoed = 0;
  const server = as.tcpServer('127.0.0.1', 0, (socket, data: Buffer) => {
    as.writeSocketData(socket, data);
  });
  line('tcp', `echo server listening on ${server.address}:${server.port}; ${CLIENTS} clients for ${SECONDS} s`);
  const started = Date.now();
  const sockets: as.Socket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    sockets.push(
      as.tcpConnect('127.0.0.1', server.port, (socket, data: Buffer) => {
        echoed += data.length / MESSAGE.length;
        if (!socket.closed) as.writeSocketData(socket, MESSAGE);
      }, { data: MESSAGE }),
    );
  }
  let last = 0;
  const meter = as.interval(() => {
    const s = as.stats();
    const rate = echoed - last;
    last = echoed;
    line('stats', `in=${s.incomingTcpConnections} out=${s.outgoingTcpConnections} echoes/s=${rate} batches=${s.eventBatches} events=${s.eventsDelivered}`);
  }, { time: 1 });
  await new Promise<void>((r) => as.delay(r, { time: SECONDS }));
  meter.free();
  for (const s of sockets) if (!s.closed) as.closeSocket(s);
  server.close();
  const secs = (Date.now() - started) / 1000;
  line('tcp', `${echoed} round trips of ${MESSAGE.length} B in ${secs.toFixed(1)} s (${Math.round(echoed / secs)}/s)`);
}

async function httpPart(): Promise<void> {
  const server = as.httpServer('127.0.0.1', 0, (req) => {
    as.httpResponse(req, { headers: [['Content-Type', 'text/plain']], body: `hello from evasync, you asked for ${req.resource}\n` });
  });
  line('http', `server on http://${server.address}:${server.port}/; 50 node:http keep-alive clients for 2 s`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  let answered = 0;
  let first = '';
  const until = Date.now() + 2000;
  const client = async () => {
    while (Date.now() < until) {
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: server.port, path: `/item/${answered}`, agent }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => {
              if (!first) first = `${res.statusCode} ${body.trim()}`;
              answered++;
              resolve();
            });
          })
          .on('error', reject);
      });
    }
  };
  const meter = as.interval(() => {
    const s = as.stats();
    line('stats', `httpConnections=${s.incomingHttpConnections} answered=${answered} batches=${s.eventBatches}`);
  }, { time: 1 });
  await Promise.all(Array.from({ length: 50 }, client));
  meter.free();
  line('http', `first answer: ${first}; ${answered} requests in 2 s (${Math.round(answered / 2)}/s, client-bound: node:http is the client)`);
  agent.destroy();
  await server.close({ timeout: 1 });
  line('http', `closed gracefully; connections now ${as.stats().incomingHttpConnections}`);
}

async function main(): Promise<void> {
  await as.startEventLoop(async () => {
    await timersPart();
    await tcpPart();
    await httpPart();
  });
  const s = as.stats();
  line('done', `the loop ended by itself; stats now ${JSON.stringify({ in: s.incomingTcpConnections, out: s.outgoingTcpConnections, timers: s.activeTimers })}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
