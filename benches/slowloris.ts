/**
 * `npm run bench -- slowloris`: 2 000 slow clients against an HTTP server while wrk measures
 * normal traffic. Half send their request head a byte a second (slow head), half send a whole
 * head announcing a 1 MB body and then trickle it (slow body). The server runs with
 * `requestTimeout: 10`; every slow client must be cut (408, or closed) within it plus a
 * margin, and the server must serve normally afterwards (invariants: the script exits non-zero
 * when one breaks). The goal, printed: normal throughput stays ≥ 0.9× of the same server's
 * run without slow clients. Figures for evasync under both drivers.
 */
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';

import { median, rssBytes, saveResults, startChild, stopChild, table } from './common';

const SLOW = Number(process.env.SLOWLORIS_CLIENTS ?? 2000);
const TIMEOUT = Number(process.env.SLOWLORIS_TIMEOUT ?? 10);
const SECONDS = Number(process.env.SLOWLORIS_SECONDS ?? 5);
const MARGIN = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wrk(port: number): number {
  const out = execFileSync('wrk', ['-t1', '-c50', `-d${SECONDS}s`, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
}

interface Slow {
  /** Seconds from connect to the server's close (NaN while open). */
  cutAfter: number;
  status: number;
}

/** Opens one slow client; resolves its record when the server cuts it. */
function slowClient(port: number, kind: 'head' | 'body', out: Slow[]): void {
  const rec: Slow = { cutAfter: NaN, status: 0 };
  out.push(rec);
  const s = net.connect(port, '127.0.0.1');
  const t0 = Date.now();
  let got = '';
  let timer: NodeJS.Timeout | undefined;
  const payload = kind === 'head' ? 'GET /slow HTTP/1.1\r\nHost: bench\r\nX-Slow: ' + 'a'.repeat(1000) : 'x'.repeat(10_000);
  let i = 0;
  s.on('connect', () => {
    if (kind === 'body') s.write('POST /slow HTTP/1.1\r\nHost: bench\r\nContent-Length: 1000000\r\n\r\n');
    timer = setInterval(() => {
      if (i < payload.length && !s.destroyed) s.write(payload[i++]!);
    }, 1000);
  });
  s.on('data', (d) => (got += d.toString('latin1')));
  const done = () => {
    clearInterval(timer);
    if (Number.isNaN(rec.cutAfter)) rec.cutAfter = (Date.now() - t0) / 1000;
    rec.status = Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0);
  };
  s.on('close', done);
  s.on('error', () => {});
}

async function run(driver: string): Promise<Record<string, string | number>> {
  const { child, line } = await startChild('http-server.ts', ['evasync', driver], { HTTP_SERVER_OPTS: JSON.stringify({ requestTimeout: TIMEOUT }) });
  const port = Number(line.split(' ')[1]);
  const pid = child.pid!;
  try {
    execFileSync('wrk', ['-t1', '-c50', '-d1s', `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
    const alone = wrk(port);
    const rssBefore = rssBytes(pid);
    const slow: Slow[] = [];
    for (let i = 0; i < SLOW; i++) slowClient(port, i % 2 === 0 ? 'head' : 'body', slow);
    await sleep(1500);
    const rssWith = rssBytes(pid);
    const under = wrk(port);
    // Wait for the cut-off of every slow client.
    const end = Date.now() + (TIMEOUT + MARGIN + 2) * 1000;
    while (slow.some((r) => Number.isNaN(r.cutAfter)) && Date.now() < end) await sleep(200);
    const cut = slow.filter((r) => !Number.isNaN(r.cutAfter));
    const got408 = cut.filter((r) => r.status === 408).length;
    const times = cut.map((r) => r.cutAfter);
    const after = wrk(port);
    return {
      server: `evasync (${driver})`,
      'req/s alone': Math.round(alone),
      'req/s with slow': Math.round(under),
      ratio: under / alone,
      'req/s after': Math.round(after),
      'slow cut': `${cut.length}/${SLOW}`,
      '408s': got408,
      'cut p50 s': median(times),
      'cut max s': Math.max(...times),
      'RSS MiB': rssBefore / 2 ** 20,
      'RSS with slow MiB': rssWith / 2 ** 20,
    };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const rows = [];
  for (const driver of ['main', 'thread']) rows.push(await run(driver));
  console.log(`${SLOW} slow clients (half slow head, half slow body), requestTimeout ${TIMEOUT} s, wrk -t1 -c50 -d${SECONDS}s:`);
  table(rows);
  const broken: string[] = [];
  for (const r of rows) {
    if (r['slow cut'] !== `${SLOW}/${SLOW}`) broken.push(`${r.server}: only ${r['slow cut']} slow clients were cut`);
    if ((r['cut max s'] as number) > TIMEOUT + MARGIN) broken.push(`${r.server}: a slow client lasted ${r['cut max s']} s (requestTimeout ${TIMEOUT})`);
    if ((r['req/s after'] as number) <= 0) broken.push(`${r.server}: no throughput after the slow clients`);
  }
  console.log(saveResults('slowloris', { slow: SLOW, timeout: TIMEOUT, rows, broken }));
  for (const r of rows) {
    const ok = (r.ratio as number) >= 0.9;
    console.log(`goal ${ok ? 'met' : 'MISSED'}: ${r.server} keeps ${(r.ratio as number).toFixed(2)}× of its throughput with slow clients (goal ≥ 0.9×)`);
  }
  for (const b of broken) console.log(`INVARIANT BROKEN: ${b}`);
  if (broken.length > 0) process.exitCode = 1;
}
