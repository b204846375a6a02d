/**
 * TCP echo: 64-byte ping-pong over 50 connections, and a 1 GiB bulk stream echoed back, against
 * an evasync `tcpServer` and a `node:net` server, each in its own process (CPU from /proc, all
 * threads), interleaved, with the same client for all (the C one of benches/c/pingpong.c, or
 * evasync in this process with CLIENT=evasync; the bulk stream's client is evasync).
 */
import * as as from 'evasync';

import { buildC, cpuSeconds, median, saveResults, startChild, startProgram, stopChild, table } from './common';
import { clientLabel, echoClient } from './ping-pong';

/** Connection counts swept (issue: 10, 50 and 200). */
const CONN_COUNTS = (process.env.CONNS ?? '10,50,200').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const BULK = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;

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

interface Row { server: string; conns: number; 'msgs/s': number; 'server CPU µs/msg': number }
interface BulkRow { server: string; 'bulk MB/s': number; 'bulk server CPU s/GiB': number }

async function withServer<T>(impl: string, driver: string | undefined, fn: (port: number, pid: number) => Promise<T>): Promise<T> {
  const { child, line } =
    impl === 'c' ? await startProgram(buildC('echo-epoll'), []) : await startChild('tcp-echo-server.ts', driver ? [impl, driver] : [impl]);
  try {
    return await fn(Number(line.split(' ')[1]), child.pid!);
  } finally {
    await stopChild(child);
  }
}

function label(impl: string, driver?: string): string {
  if (impl === 'c') return 'C epoll';
  return driver ? `${impl} (${driver})` : `${impl === 'node' ? 'node:net' : impl}`;
}

async function measurePingPong(impl: string, driver: string | undefined, conns: number): Promise<Row> {
  return withServer(impl, driver, async (port, pid) => {
    const c0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const msgs = await echoClient(['tcp', String(port)], conns, SECONDS);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const c1 = cpuSeconds(pid);
    return { server: label(impl, driver), conns, 'msgs/s': Math.round(msgs / secs), 'server CPU µs/msg': ((c1 - c0) * 1e6) / msgs };
  });
}

async function measureBulk(impl: string, driver: string | undefined): Promise<BulkRow> {
  return withServer(impl, driver, async (port, pid) => {
    const c0 = cpuSeconds(pid);
    const secs = await bulk(port);
    const c1 = cpuSeconds(pid);
    return { server: label(impl, driver), 'bulk MB/s': Math.round((2 * BULK) / 1e6 / secs), 'bulk server CPU s/GiB': c1 - c0 };
  });
}

export async function main(): Promise<void> {
  const configs: Array<[string, string | undefined]> = [['evasync', 'main'], ['evasync', 'thread'], ['node', undefined], ['c', undefined]];
  const rows: Row[] = [];
  for (const conns of CONN_COUNTS) {
    const runs: Row[][] = configs.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [impl, driver]] of configs.entries()) runs[i]!.push(await measurePingPong(impl, driver, conns));
    }
    for (const rs of runs) {
      rows.push({ ...rs[0]!, 'msgs/s': median(rs.map((r) => r['msgs/s'])), 'server CPU µs/msg': median(rs.map((r) => r['server CPU µs/msg'])) });
    }
  }
  const bulkRows: BulkRow[] = [];
  for (const [impl, driver] of configs) if (impl !== 'c') bulkRows.push(await measureBulk(impl, driver));
  console.log(`64-byte ping-pong for ${SECONDS} s per run, median of ${ROUNDS} interleaved rounds; the client is ${clientLabel()}`);
  const table1 = rows.map((r) => {
    const node = rows.find((n) => n.conns === r.conns && n.server === 'node:net')!;
    const c = rows.find((n) => n.conns === r.conns && n.server === 'C epoll')!;
    return {
      ...r,
      'vs node:net msgs/s': r['msgs/s'] / node['msgs/s'],
      'vs node:net CPU/msg': r['server CPU µs/msg'] / node['server CPU µs/msg'],
      'CPU/msg vs C epoll': r['server CPU µs/msg'] / c['server CPU µs/msg'],
    };
  });
  table(table1);
  console.log('\n1 GiB streamed and echoed back');
  table(bulkRows);
  console.log(saveResults('tcp-echo', { seconds: SECONDS, rounds: ROUNDS, pingPong: table1, bulk: bulkRows }));
}
