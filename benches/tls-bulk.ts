/**
 * `npm run bench -- tls-bulk`: 1 GiB sent through a TLS echo server and read back, by a node:tls
 * client in this process (the same client for every server): evasync (both drivers) against
 * node:tls, same P-256 certificate, 3 interleaved rounds. MB/s counts both directions; the
 * figure to compare is the server's CPU per GiB echoed (the client's own cost is the same for
 * every server).
 */
import * as tls from 'node:tls';

import { cpuSeconds, median, saveResults, startChild, stopChild, table } from './common';
import { tlsEnv } from './tls-cert';

const BULK = Number(process.env.TLS_BULK_BYTES ?? 1024 ** 3);
const ROUNDS = Number(process.env.TLS_BULK_ROUNDS ?? 3);
const CHUNK = 256 * 1024;

/** Streams BULK bytes through the echo at `port`; resolves with the seconds it took. */
function stream(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const chunk = Buffer.alloc(CHUNK, 0x62);
    let sent = 0;
    let got = 0;
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => pump());
    const pump = () => {
      while (sent < BULK) {
        sent += CHUNK;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
    };
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= BULK) {
        s.destroy();
        resolve(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    });
    s.on('error', reject);
  });
}

interface Row {
  server: string;
  'MB/s': number;
  'server CPU s/GiB': number;
}

async function measure(name: string, args: string[]): Promise<Row> {
  const { child, line } = await startChild('tcp-echo-server.ts', args, tlsEnv());
  const port = Number(line.split(' ')[1]);
  try {
    const c0 = cpuSeconds(child.pid!);
    const secs = await stream(port);
    const cpu = cpuSeconds(child.pid!) - c0;
    return { server: name, 'MB/s': Math.round((2 * BULK) / 1e6 / secs), 'server CPU s/GiB': cpu / (BULK / 1024 ** 3) };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const servers: Array<[string, string[]]> = [
    ['evasync (main)', ['evasync', 'main']],
    ['evasync (thread)', ['evasync', 'thread']],
    ['node:tls', ['node']],
  ];
  const runs = new Map<string, Row[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, args] of servers) {
      const list = runs.get(name) ?? [];
      list.push(await measure(name, args));
      runs.set(name, list);
    }
  }
  const nodeRows = runs.get('node:tls')!;
  const nodeMbs = median(nodeRows.map((r) => r['MB/s']));
  const nodeCpu = median(nodeRows.map((r) => r['server CPU s/GiB']));
  const rows = [...runs.entries()].map(([server, rs]) => {
    const mbs = median(rs.map((r) => r['MB/s']));
    const cpu = median(rs.map((r) => r['server CPU s/GiB']));
    return { server, 'MB/s': mbs, 'server CPU s/GiB': cpu, 'vs node:tls MB/s': mbs / nodeMbs, 'CPU vs node:tls': cpu / nodeCpu };
  });
  console.log(`${BULK / 1024 ** 3} GiB through a TLS echo and back (node:tls client), median of ${ROUNDS} interleaved rounds`);
  table(rows);
  console.log(`results: ${saveResults('tls-bulk', { bytes: BULK, rounds: [...runs.entries()], rows })}`);
}
