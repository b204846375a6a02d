/**
 * Idle connections: open 15 000 connections (IDLE_CONNS) to a server process and read its RSS
 * per connection, evasync vs node:net (both servers with --expose-gc collecting every 0.5 s);
 * then the same for HTTP keep-alive connections that each served one request: evasync vs
 * node:http vs uWebSockets.js.
 *
 * Two figures per server: the whole growth over the baseline divided by N, and the slope — RSS
 * after the last three quarters of the connections minus RSS after the first quarter, each read
 * once the storm settled — which leaves out what the first connections cost once (JIT, heap
 * and allocator growth, tables sized on first use) and the baseline's own noise.
 */
import * as net from 'node:net';

import { rssBytes, saveResults, startChild, stopChild, table } from './common';

const N = Number(process.env.IDLE_CONNS ?? 15_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens N connections; with `http`, each sends one request and waits for its response. */
async function openAll(port: number, http: boolean, count: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < count; i += 500) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(count, i + 500); j++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      socks.push(s);
      batch.push(
        new Promise((r) => {
          if (!http) return s.once('connect', r);
          s.once('connect', () => s.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
          s.once('data', r);
        }),
      );
    }
    await Promise.all(batch);
  }
  return socks;
}

async function measure(impl: string, driver?: string, http = false) {
  const script = http ? 'http-server.ts' : 'tcp-echo-server.ts';
  const { child, line } = await startChild(script, driver ? [impl, driver] : [impl], {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`,
  });
  const port = Number(line.split(' ')[1]);
  const pid = child.pid!;
  try {
    await sleep(1500);
    const before = rssBytes(pid);
    const quarter = Math.floor(N / 4);
    const socks = await openAll(port, http, quarter);
    await sleep(2500);
    const atQuarter = rssBytes(pid);
    socks.push(...(await openAll(port, http, N - quarter)));
    await sleep(2500);
    const after = rssBytes(pid);
    for (const s of socks) s.destroy();
    const name = http ? `${impl === 'node' ? 'node:http' : impl} http` : impl;
    return {
      server: driver ? `${name} (${driver})` : name,
      connections: N,
      'RSS before MiB': before / 2 ** 20,
      'RSS after MiB': after / 2 ** 20,
      'bytes/conn': Math.round((after - before) / N),
      'slope bytes/conn': Math.round((after - atQuarter) / (N - quarter)),
    };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  // IDLE_ONLY=tcp or IDLE_ONLY=http runs one half.
  const only = process.env.IDLE_ONLY;
  const rows = [];
  if (only !== 'http') {
    rows.push(await measure('evasync', 'main'), await measure('evasync', 'thread'), await measure('node'));
  }
  if (only !== 'tcp') {
    rows.push(await measure('evasync', 'main', true), await measure('node', undefined, true), await measure('uws', undefined, true));
  }
  table(rows);
  console.log(saveResults('idle-conns', { rows }));
}
