/**
 * `npm run bench -- unix-echo`: 64-byte ping-pong over Unix sockets at 10, 50 and 200
 * connections, an evasync `pipeServer` (both drivers) against a node:net server on the same
 * kind of path, each in its own process, with the same client for all (the C one of
 * benches/c/pingpong.c, or evasync's `pipeConnect` in this process with CLIENT=evasync);
 * rounds interleaved, medians. msgs/s and server CPU per message.
 */
import { rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cpuSeconds, median, saveResults, startChild, stopChild, table } from './common';
import { clientLabel, echoClient } from './ping-pong';

const CONN_COUNTS = (process.env.CONNS ?? '10,50,200').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

interface Row {
  server: string;
  conns: number;
  'msgs/s': number;
  'server CPU µs/msg': number;
}

async function measure(name: string, args: string[], conns: number): Promise<Row> {
  const sockPath = path.join(os.tmpdir(), `evasync-unix-echo-${process.pid}.sock`);
  rmSync(sockPath, { force: true });
  const { child } = await startChild('tcp-echo-server.ts', args, { UNIX_PATH: sockPath });
  try {
    const c0 = cpuSeconds(child.pid!);
    const t0 = process.hrtime.bigint();
    const msgs = await echoClient(['unix', sockPath], conns, SECONDS);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(child.pid!) - c0;
    return { server: name, conns, 'msgs/s': Math.round(msgs / secs), 'server CPU µs/msg': (cpu * 1e6) / msgs };
  } finally {
    await stopChild(child);
    rmSync(sockPath, { force: true });
  }
}

export async function main(): Promise<void> {
  const servers: Array<[string, string[]]> = [
    ['evasync (main)', ['evasync', 'main']],
    ['evasync (thread)', ['evasync', 'thread']],
    ['node:net', ['node']],
  ];
  const rows = [];
  for (const conns of CONN_COUNTS) {
    const runs = new Map<string, Row[]>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, args] of servers) {
        const list = runs.get(name) ?? [];
        list.push(await measure(name, args, conns));
        runs.set(name, list);
      }
    }
    const med = (name: string, k: 'msgs/s' | 'server CPU µs/msg') => median(runs.get(name)!.map((x) => x[k]));
    for (const [name] of servers) {
      rows.push({
        server: name,
        conns,
        'msgs/s': med(name, 'msgs/s'),
        'server CPU µs/msg': med(name, 'server CPU µs/msg'),
        'vs node:net msgs/s': med(name, 'msgs/s') / med('node:net', 'msgs/s'),
        'CPU/msg vs node:net': med(name, 'server CPU µs/msg') / med('node:net', 'server CPU µs/msg'),
      });
    }
  }
  console.log(`64-byte ping-pong over Unix sockets, ${SECONDS} s per run, median of ${ROUNDS} interleaved rounds; the client is ${clientLabel()}`);
  table(rows);
  console.log(`results: ${saveResults('unix-echo', { rows })}`);
}
