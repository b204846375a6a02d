/**
 * `npm run bench -- churn`: 200 000 connections, each one request, ended by the client in turn
 * with FIN, a plain close or a reset, against evasync (both drivers) and uWebSockets.js, each
 * server in its own process. Reports server CPU per connection, RSS after warm-up (the first
 * 20 000) and at the end, open descriptors before and after, and evasync's stats. Invariants
 * (non-zero exit): every connection answered, descriptors and stats back to where they were.
 * Goals, printed: RSS growth after warm-up < 10 %, CPU per connection ≤ 1.0× uWS's (the median
 * of interleaved shorter rounds, as single runs vary too much here).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import { cpuSeconds, median, rssBytes, saveResults, startChild, stopChild, table } from './common';

const TOTAL = Number(process.env.CHURN_CONNECTIONS ?? 200_000);
const WARMUP = Math.min(20_000, Math.floor(TOTAL / 10));
const CONCURRENCY = Number(process.env.CHURN_CONCURRENCY ?? 50);
/** CPU per connection varies ±30 % between single runs here: it is also taken as the median of
 * this many interleaved rounds of CPU_CONNECTIONS each (after 2 000 to warm up). */
const CPU_ROUNDS = Number(process.env.CHURN_CPU_ROUNDS ?? 5);
const CPU_CONNECTIONS = Number(process.env.CHURN_CPU_CONNECTIONS ?? 20_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function get(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** Runs the churn client; calls `onProgress` at each 10 000; resolves its final counts. */
function churn(port: number, total: number, onProgress: (done: number) => void): Promise<{ ok: number; errors: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'churn-client.ts'), String(port), String(total), String(CONCURRENCY)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const [what, a, b, c] = line.split(' ');
        if (what === 'progress') onProgress(Number(a));
        if (what === 'done') resolve({ ok: Number(a), errors: Number(b), ms: Number(c) });
      }
    });
    child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`churn client exited ${code}`))));
  });
}

async function run(name: string, args: string[]) {
  const { child, line } = await startChild('http-server.ts', args);
  const port = Number(line.split(' ')[1]);
  const pid = child.pid!;
  try {
    await sleep(500);
    const fdsBefore = fds(pid);
    const statsBefore = await get(port, '/__stats');
    let rssWarm = 0;
    let cpuWarm = 0;
    const rssSeen: number[] = [];
    const res = await churn(port, TOTAL, (n) => {
      rssSeen.push(rssBytes(pid));
      if (n === WARMUP || (rssWarm === 0 && n >= WARMUP)) {
        rssWarm = rssBytes(pid);
        cpuWarm = cpuSeconds(pid);
      }
    });
    const cpu = cpuSeconds(pid) - cpuWarm;
    await sleep(1000);
    const rssEnd = rssBytes(pid);
    const fdsAfter = fds(pid);
    const stats = JSON.parse(await get(port, '/__stats')) as Record<string, number>;
    return {
      row: {
        server: name,
        connections: TOTAL,
        'conn/s': Math.round(TOTAL / (res.ms / 1000)),
        'cpu µs/conn': (cpu / (TOTAL - WARMUP)) * 1e6,
        'RSS warm MiB': rssWarm / 2 ** 20,
        'RSS end MiB': rssEnd / 2 ** 20,
        'RSS max MiB': Math.max(...rssSeen) / 2 ** 20,
        growth: rssWarm > 0 ? rssEnd / rssWarm - 1 : NaN,
        'fds before/after': `${fdsBefore}/${fdsAfter}`,
        unanswered: res.errors,
      },
      fdsBefore,
      fdsAfter,
      stats,
      statsBefore,
    };
  } finally {
    await stopChild(child);
  }
}

/** Server CPU µs per connection over CPU_CONNECTIONS churned connections, after a warm-up. */
async function cpuPerConnection(args: string[]): Promise<number> {
  const { child, line } = await startChild('http-server.ts', args);
  const port = Number(line.split(' ')[1]);
  try {
    await churn(port, 2000, () => {});
    const c0 = cpuSeconds(child.pid!);
    await churn(port, CPU_CONNECTIONS, () => {});
    return ((cpuSeconds(child.pid!) - c0) / CPU_CONNECTIONS) * 1e6;
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const servers: Array<[string, string[]]> = [
    ['evasync (main)', ['evasync', 'main']],
    ['evasync (thread)', ['evasync', 'thread']],
    ['uws', ['uws']],
  ];
  const results = [];
  for (const [name, args] of servers) results.push(await run(name, args));
  const rows = results.map((r) => r.row);
  console.log(`${TOTAL} connections, one request each, ended by FIN / close / reset in turn, ${CONCURRENCY} at a time; RSS growth from the first ${WARMUP}:`);
  table(rows);
  const broken: string[] = [];
  for (const r of results) {
    if (r.row.unanswered > 0) broken.push(`${r.row.server}: ${r.row.unanswered} connections not answered`);
    if (r.fdsAfter > r.fdsBefore + 2) broken.push(`${r.row.server}: descriptors ${r.fdsBefore} → ${r.fdsAfter}`);
    if (r.row.server.startsWith('evasync')) {
      // The /__stats request's own connection is the only one left.
      const left = ['incomingTcpConnections', 'outgoingTcpConnections', 'openDnsQueries', 'activeTimers'].filter((k) => r.stats[k] !== 0);
      if (r.stats.incomingHttpConnections! > 1 || left.length > 0) broken.push(`${r.row.server}: stats not back: ${JSON.stringify(r.stats)}`);
    }
  }
  const samples = new Map<string, number[]>(servers.map(([name]) => [name, []]));
  for (let round = 0; round < CPU_ROUNDS; round++) {
    for (const [name, args] of servers) samples.get(name)!.push(await cpuPerConnection(args));
  }
  const cpuMedian = (name: string) => median(samples.get(name)!);
  const cpuRows = servers.map(([name]) => ({
    server: name,
    'cpu µs/conn (median)': cpuMedian(name),
    'min–max': `${Math.min(...samples.get(name)!).toFixed(1)}–${Math.max(...samples.get(name)!).toFixed(1)}`,
    'vs uws': cpuMedian(name) / cpuMedian('uws'),
  }));
  console.log(`\nserver CPU per connection, ${CPU_ROUNDS} interleaved rounds of ${CPU_CONNECTIONS} connections:`);
  table(cpuRows);
  for (const r of rows.filter((x) => x.server.startsWith('evasync'))) {
    const cpuRatio = cpuMedian(r.server) / cpuMedian('uws');
    console.log(`goal ${r.growth < 0.1 ? 'met' : 'MISSED'}: ${r.server} RSS growth after warm-up ${(r.growth * 100).toFixed(1)} % (goal < 10 %)`);
    console.log(`goal ${cpuRatio <= 1 ? 'met' : 'MISSED'}: ${r.server} server CPU per connection ${cpuRatio.toFixed(2)}× uWS, median of ${CPU_ROUNDS} rounds (goal ≤ 1.0×)`);
  }
  console.log(saveResults('churn', { total: TOTAL, warmup: WARMUP, rows, cpuRows, broken }));
  for (const b of broken) console.log(`INVARIANT BROKEN: ${b}`);
  if (broken.length > 0) process.exitCode = 1;
}
