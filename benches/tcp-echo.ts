/**
 * TCP echo: 64-byte ping-pong over 50 connections, and a 1 GiB bulk stream echoed back, against
 * an evasync `tcpServer` and a `node:net` server, each in its own process (CPU from /proc, all
 * threads), interleaved, with the same evasync client.
 */
import * as as from 'evasync';

import { cpuSeconds, median, saveResults, startChild, stopChild, table } from './common';

const CONNS = Number(process.env.CONNS ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 4);
const MSG = Buffer.alloc(64, 0x61);
const BULK = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;

async function pingPong(port: number): Promise<number> {
  let msgs = 0;
  await as.startEventLoop(() => {
    const sockets: as.Socket[] = [];
    let stop = false;
    for (let i = 0; i < CONNS; i++) {
      let got = 0;
      sockets.push(as.tcpConnect('127.0.0.1', port, (s, d: Buffer) => {
        got += d.length;
        while (got >= 64) {
          got -= 64;
          msgs++;
          if (!stop) as.writeSocketData(s, MSG);
        }
      }, { data: MSG }));
    }
    as.delay(() => {
      stop = true;
      for (const s of sockets) if (!s.closed) as.closeSocket(s);
    }, { time: SECONDS });
  });
  return msgs;
}

async function bulk(port: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await as.startEventLoop(() => {
    let sent = 0;
    let got = 0;
    const chunk = Buffer.alloc(CHUNK, 0x62);
    const pump = (s: as.Socket) => {
      while (sent < BULK) {
        sent += CHUNK;
        if (!as.writeSocketData(s, chunk)) return;
      }
    };
    as.tcpConnect('127.0.0.1', port, (s, d: Buffer) => {
      got += d.length;
      if (got === BULK) as.closeSocket(s);
    }, { connectCb: (s) => { s.setWriteBufferLimits(4 * CHUNK); pump(s); }, drainCb: pump });
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

interface Row { server: string; 'msgs/s': number; 'server CPU µs/msg': number; 'bulk MB/s': number; 'bulk server CPU s/GiB': number }

async function measure(impl: string, driver?: string): Promise<Row> {
  const { child, line } = await startChild('tcp-echo-server.ts', driver ? [impl, driver] : [impl]);
  const port = Number(line.split(' ')[1]);
  const pid = child.pid!;
  try {
    const c0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const msgs = await pingPong(port);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const c1 = cpuSeconds(pid);
    const bulkSecs = await bulk(port);
    const c2 = cpuSeconds(pid);
    return {
      server: driver ? `${impl} (${driver})` : impl,
      'msgs/s': Math.round(msgs / secs),
      'server CPU µs/msg': ((c1 - c0) * 1e6) / msgs,
      'bulk MB/s': Math.round((2 * BULK) / 1e6 / bulkSecs),
      'bulk server CPU s/GiB': (c2 - c1),
    };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const configs: Array<[string, string | undefined]> = [['evasync', 'thread'], ['node', undefined]];
  if (process.env.EVASYNC_MAIN_DRIVER === '1') configs.splice(1, 0, ['evasync', 'main']);
  const runs: Row[][] = configs.map(() => []);
  for (let round = 0; round < 3; round++) {
    for (const [i, [impl, driver]] of configs.entries()) runs[i]!.push(await measure(impl, driver));
  }
  const rows = runs.map((rs) => ({
    server: rs[0]!.server,
    'msgs/s': median(rs.map((r) => r['msgs/s'])),
    'server CPU µs/msg': median(rs.map((r) => r['server CPU µs/msg'])),
    'bulk MB/s': median(rs.map((r) => r['bulk MB/s'])),
    'bulk server CPU s/GiB': median(rs.map((r) => r['bulk server CPU s/GiB'])),
  }));
  console.log(`${CONNS} connections, ${MSG.length}-byte ping-pong for ${SECONDS} s; 1 GiB echoed; median of 3 interleaved rounds`);
  table(rows);
  const node = rows[rows.length - 1]!;
  for (const r of rows.slice(0, -1)) {
    console.log(`${r.server}: ${(r['msgs/s'] / node['msgs/s']).toFixed(2)}× node:net msgs/s, ${(r['server CPU µs/msg'] / node['server CPU µs/msg']).toFixed(2)}× its CPU/msg`);
  }
  console.log(saveResults('tcp-echo', { connections: CONNS, seconds: SECONDS, rows, runs }));
}
