/**
 * `npm run bench -- cores`: one HTTP server over N loops (examples/cores.ts: N worker_threads,
 * each with its own event loop and its own `reusePort` listener on one port), N = 1 and 2 on this
 * machine, wrk -t1 at 50 and 200 connections taking what is left. Interleaved rounds, medians.
 *
 * Reports req/s, the scaling of N = 2 over N = 1, and the server's CPU per request (all threads,
 * user + system, from /proc): a flat CPU per request as N grows is what lets the projection for
 * a bigger machine multiply. On 2 cores, N = 2 leaves wrk no core of its own, so req/s here
 * understates the scaling; the README's projection for 16 cores is made from the CPU figures.
 *
 * CORES_BENCH_THREADS=1,2 CORES_BENCH_CONNS=50,200 CORES_BENCH_SECONDS=4 CORES_BENCH_ROUNDS=3.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { cpuSeconds, median, saveResults, startProgram, stopChild, table } from './common';

const SECONDS = Number(process.env.CORES_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.CORES_BENCH_ROUNDS ?? 3);
const THREADS = (process.env.CORES_BENCH_THREADS ?? '1,2').split(',').map(Number);
const CONNS = (process.env.CORES_BENCH_CONNS ?? '50,200').split(',').map(Number);
const EXAMPLE = path.join(__dirname, '..', 'examples', 'cores.ts');

interface Sample {
  threads: number;
  conns: number;
  rps: number;
  cpuUsPerReq: number;
}

async function measure(threads: number, conns: number): Promise<Sample> {
  const { child, line } = await startProgram(process.execPath, ['--import', 'tsx', EXAMPLE, String(threads), '0']);
  const [, port, started] = line.split(' ');
  if (Number(started) !== threads) throw new Error(`cores example started ${started} loops, not ${threads}`);
  const url = `http://127.0.0.1:${port}/`;
  try {
    execFileSync('wrk', ['-t1', `-c${conns}`, '-d1s', url], { stdio: 'ignore' });
    const before = cpuSeconds(child.pid!);
    const out = execFileSync('wrk', ['-t1', `-c${conns}`, `-d${SECONDS}s`, url], { encoding: 'utf8' });
    const cpu = cpuSeconds(child.pid!) - before;
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
    if (errors) throw new Error(`wrk saw errors against ${threads} loops: ${errors[0]}`);
    return { threads, conns, rps, cpuUsPerReq: rps > 0 ? (cpu / (rps * SECONDS)) * 1e6 : NaN };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  const samples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const conns of CONNS) for (const threads of THREADS) samples.push(await measure(threads, conns));
  }
  const rows = CONNS.flatMap((conns) => {
    const med = (threads: number) => {
      const mine = samples.filter((s) => s.threads === threads && s.conns === conns);
      return { rps: median(mine.map((s) => s.rps)), cpu: median(mine.map((s) => s.cpuUsPerReq)) };
    };
    const one = med(THREADS[0]!);
    return THREADS.map((threads) => {
      const m = med(threads);
      return {
        loops: threads,
        conns,
        'req/s': Math.round(m.rps),
        [`vs ${THREADS[0]} loop`]: (m.rps / one.rps).toFixed(2) + '×',
        'CPU µs/req': m.cpu.toFixed(1),
      };
    });
  });
  console.log(`examples/cores.ts under wrk -t1 -d${SECONDS}s, ${ROUNDS} interleaved rounds, medians (server CPU: all its threads):`);
  table(rows);
  console.log(`results: ${saveResults('cores', { seconds: SECONDS, rounds: ROUNDS, samples, rows })}`);
}
