/**
 * `npm run bench -- flood`: one client pipelines 100 000 requests and reads nothing. The server
 * must bound what it takes on (it stops reading a peer that does not read its responses), so
 * its RSS grows by little; once the client reads, every response must arrive, in request order.
 * evasync (both drivers) and node:http, uWebSockets.js for comparison. Invariants (non-zero
 * exit): all responses, in order, and a normal request served afterwards.
 */
import * as net from 'node:net';

import { rssBytes, saveResults, startChild, stopChild, table } from './common';

const N = Number(process.env.FLOOD_REQUESTS ?? 100_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads `want` responses to /echo/<i> from `s`, checking their order; resolves the count. */
function readInOrder(s: net.Socket, want: number): Promise<{ got: number; inOrder: boolean }> {
  return new Promise((resolve) => {
    let got = 0;
    let inOrder = true;
    let buf = '';
    const finish = () => resolve({ got, inOrder });
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let pos = 0;
      for (;;) {
        const head = buf.indexOf('\r\n\r\n', pos);
        if (head < 0) break;
        const len = Number(/Content-Length: (\d+)/i.exec(buf.slice(pos, head))?.[1] ?? 0);
        if (buf.length < head + 4 + len) break;
        if (buf.slice(head + 4, head + 4 + len) !== `/echo/${got}`) inOrder = false;
        got++;
        pos = head + 4 + len;
      }
      buf = buf.slice(pos);
      if (got >= want) s.destroy();
    });
    s.on('close', finish);
  });
}

async function run(name: string, args: string[]) {
  const { child, line } = await startChild('http-server.ts', args);
  const port = Number(line.split(' ')[1]);
  const pid = child.pid!;
  try {
    await sleep(500);
    const rssBefore = rssBytes(pid);
    const s = net.connect(port, '127.0.0.1');
    s.pause();
    await new Promise((r) => s.on('connect', r));
    let burst = '';
    for (let i = 0; i < N; i++) burst += `GET /echo/${i} HTTP/1.1\r\nHost: flood\r\n\r\n`;
    s.write(burst);
    await sleep(2000);
    const rssHeld = rssBytes(pid);
    const t0 = Date.now();
    const reading = readInOrder(s, N);
    s.resume();
    const { got, inOrder } = await reading;
    const drainMs = Date.now() - t0;
    // A normal request afterwards.
    const after = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      c.on('data', (d) => (text += d));
      c.on('close', () => resolve(text.startsWith('HTTP/1.1 200')));
      c.on('error', () => resolve(false));
    });
    return { server: name, requests: N, 'RSS before MiB': rssBefore / 2 ** 20, 'RSS held MiB': rssHeld / 2 ** 20, 'growth MiB': (rssHeld - rssBefore) / 2 ** 20, answered: got, 'in order': inOrder ? 'yes' : 'NO', 'drain ms': drainMs, 'serves after': after ? 'yes' : 'NO' };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const rows = [
    await run('evasync (main)', ['evasync', 'main']),
    await run('evasync (thread)', ['evasync', 'thread']),
    await run('node:http', ['node']),
    await run('uws', ['uws']),
  ];
  console.log(`${N} pipelined requests from a client that reads nothing for 2 s, then reads:`);
  table(rows);
  const broken: string[] = [];
  for (const r of rows.filter((x) => x.server.startsWith('evasync'))) {
    if (r.answered !== N || r['in order'] !== 'yes') broken.push(`${r.server}: ${r.answered}/${N} answered, in order: ${r['in order']}`);
    if (r['serves after'] !== 'yes') broken.push(`${r.server}: no normal request served afterwards`);
    if (r['growth MiB'] > 64) broken.push(`${r.server}: RSS grew ${r['growth MiB'].toFixed(1)} MiB for a peer that reads nothing`);
  }
  console.log(saveResults('flood', { requests: N, rows, broken }));
  for (const b of broken) console.log(`INVARIANT BROKEN: ${b}`);
  if (broken.length > 0) process.exitCode = 1;
}
