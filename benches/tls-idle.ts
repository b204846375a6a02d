/**
 * `npm run bench -- tls-idle`: 10 000 TLS keep-alive connections that each served one HTTPS
 * request, held idle; the server process's RSS per connection (servers run with --expose-gc
 * and collect every 0.5 s): evasync (both drivers) against uWebSockets.js's SSLApp and
 * node:https, same P-256 certificate. The clients are node:tls sockets in this process.
 * TLS_IDLE_CONNS sets the count.
 */
import * as tls from 'node:tls';

import { rssBytes, saveResults, startChild, stopChild, table } from './common';
import { tlsEnv } from './tls-cert';

const N = Number(process.env.TLS_IDLE_CONNS ?? 10_000);
const BATCH = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openAll(port: number): Promise<tls.TLSSocket[]> {
  const socks: tls.TLSSocket[] = [];
  for (let i = 0; i < N; i += BATCH) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) {
      const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      s.on('error', () => {});
      socks.push(s);
      batch.push(
        new Promise((r) => {
          s.once('secureConnect', () => s.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
          s.once('data', r);
        }),
      );
    }
    await Promise.all(batch);
  }
  return socks;
}

async function measure(name: string, args: string[]) {
  const { child, line } = await startChild('http-server.ts', args, {
    ...tlsEnv(),
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`,
  });
  const port = Number(line.split(' ')[1]);
  try {
    await sleep(1500);
    const before = rssBytes(child.pid!);
    const socks = await openAll(port);
    await sleep(3000);
    const after = rssBytes(child.pid!);
    for (const s of socks) s.destroy();
    return { server: name, connections: N, 'RSS before MiB': before / 2 ** 20, 'RSS after MiB': after / 2 ** 20, 'bytes/conn': Math.round((after - before) / N) };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const rows = [];
  for (const [name, args] of [
    ['evasync (main)', ['evasync', 'main']],
    ['evasync (thread)', ['evasync', 'thread']],
    ['uws SSLApp', ['uws']],
    ['node:https', ['node']],
  ] as Array<[string, string[]]>) {
    rows.push(await measure(name, args));
  }
  const uws = rows.find((r) => r.server === 'uws SSLApp')!['bytes/conn'];
  table(rows.map((r) => ({ ...r, 'vs uws': r['bytes/conn'] / uws })));
  console.log(`results: ${saveResults('tls-idle', { rows })}`);
}
