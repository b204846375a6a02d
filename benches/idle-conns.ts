/**
 * Idle connections: open 15 000 connections to a server process and read its RSS per
 * connection, evasync vs node:net (both servers with --expose-gc collecting every 0.5 s).
 */
import * as net from 'node:net';

import { rssBytes, saveResults, startChild, stopChild, table } from './common';

const N = Number(process.env.IDLE_CONNS ?? 15_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openAll(port: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < N; i += 500) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(N, i + 500); j++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      socks.push(s);
      batch.push(new Promise((r) => s.once('connect', r)));
    }
    await Promise.all(batch);
  }
  return socks;
}

async function measure(impl: string, driver?: string) {
  const { child, line } = await startChild('tcp-echo-server.ts', driver ? [impl, driver] : [impl], {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`,
  });
  const port = Number(line.split(' ')[1]);
  const pid = child.pid!;
  try {
    await sleep(1500);
    const before = rssBytes(pid);
    const socks = await openAll(port);
    await sleep(2500);
    const after = rssBytes(pid);
    for (const s of socks) s.destroy();
    return { server: driver ? `${impl} (${driver})` : impl, connections: N, 'RSS before MiB': before / 2 ** 20, 'RSS after MiB': after / 2 ** 20, 'bytes/conn': Math.round((after - before) / N) };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const rows = [await measure('evasync', 'main'), await measure('evasync', 'thread'), await measure('node')];
  table(rows);
  console.log(saveResults('idle-conns', { rows }));
}
