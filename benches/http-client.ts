/**
 * `npm run bench -- http-client`: requests/s of HTTP clients against the same uWebSockets.js
 * hello server (its own process), 50 requests in flight, keep-alive, interleaved rounds:
 * evasync `httpClient` (both drivers) vs undici `request` vs node:http `http.request` with a
 * keep-alive Agent. Client CPU per request (this process, all threads) from /proc.
 */
import * as http from 'node:http';

import * as as from 'evasync';
import { Agent, request } from 'undici';

import { cpuSeconds, median, saveResults, startChild, stopChild, table } from './common';

const SECONDS = Number(process.env.CLIENT_BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.CLIENT_BENCH_ROUNDS ?? 3);
const IN_FLIGHT = 50;

/** Runs `one` with IN_FLIGHT concurrent loops for SECONDS; returns requests/s and CPU µs/req. */
async function drive(one: () => Promise<void>): Promise<{ rps: number; cpu: number }> {
  let done = 0;
  const end = Date.now() + SECONDS * 1000;
  const cpu0 = cpuSeconds(process.pid);
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (Date.now() < end) {
        await one();
        done++;
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { rps: done / secs, cpu: ((cpuSeconds(process.pid) - cpu0) / done) * 1e6 };
}

export async function main(): Promise<void> {
  const { child, line } = await startChild('http-server.ts', ['uws']);
  const url = `http://127.0.0.1:${line.split(' ')[1]}/`;
  const rows: Array<{ client: string; rps: number; cpu: number }> = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const driver of ['main', 'thread'] as const) {
        await as.startEventLoop(
          async () => {
            await as.httpClient(url);
            const r = await drive(async () => {
              const res = await as.httpClient(url, { maxConnections: IN_FLIGHT });
              if (res.status !== 200) throw new Error(`status ${res.status}`);
            });
            rows.push({ client: `evasync-${driver}`, ...r });
          },
          { driver },
        );
      }
      const agent = new Agent({ connections: IN_FLIGHT, pipelining: 1 });
      await request(url, { dispatcher: agent }).then((r) => r.body.text());
      rows.push({
        client: 'undici request',
        ...(await drive(async () => {
          const r = await request(url, { dispatcher: agent });
          await r.body.text();
        })),
      });
      await agent.close();
      const nodeAgent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
      rows.push({
        client: 'node:http request',
        ...(await drive(
          () =>
            new Promise<void>((resolve, reject) => {
              http
                .get(url, { agent: nodeAgent }, (res) => {
                  res.resume();
                  res.on('end', () => resolve());
                })
                .on('error', reject);
            }),
        )),
      });
      nodeAgent.destroy();
    }
  } finally {
    await stopChild(child);
  }
  const clients = [...new Set(rows.map((r) => r.client))];
  const med = (c: string, k: 'rps' | 'cpu') => median(rows.filter((r) => r.client === c).map((r) => r[k]));
  const summary = clients.map((c) => ({
    client: c,
    'req/s': Math.round(med(c, 'rps')),
    'client cpu µs/req': med(c, 'cpu'),
    'vs undici': med(c, 'rps') / med('undici request', 'rps'),
  }));
  console.log(`${IN_FLIGHT} in flight, ${SECONDS} s, ${ROUNDS} interleaved rounds, against uWS hello (medians):`);
  table(summary);
  console.log(`results: ${saveResults('http-client', { rounds: rows, summary })}`);
}
