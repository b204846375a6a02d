/**
 * `npm run bench -- http`: wrk (-t1) against a hello-world server at 10, 50 and 200 connections,
 * interleaved rounds of evasync (both drivers), uWebSockets.js and node:http, each server in its
 * own process. Reports req/s, p99 latency and server CPU µs per request (user + system, all
 * threads, from /proc), plain and with 10-deep pipelining; ratios are against uWS and
 * node:http of the same connection count. For evasync also what one wake-up carries: requests
 * per delivery into JS, and native calls per delivery (operations made during a delivery go
 * back with its return at no call).
 *
 * HTTP_BENCH_CONNS=10,50,200 HTTP_BENCH_MODES=plain,pipeline10 HTTP_BENCH_SERVERS=… select.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';

import { cpuSeconds, median, saveResults, startChild, stopChild, table } from './common';

const SECONDS = Number(process.env.HTTP_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.HTTP_BENCH_ROUNDS ?? 3);
const CONNS = (process.env.HTTP_BENCH_CONNS ?? '10,50,200').split(',').map(Number);

const ALL_SERVERS: Array<{ name: string; args: string[] }> = [
  { name: 'evasync-main', args: ['evasync', 'main'] },
  { name: 'evasync-thread', args: ['evasync', 'thread'] },
  { name: 'uws', args: ['uws'] },
  { name: 'node:http', args: ['node'] },
];
/** HTTP_BENCH_SERVERS=evasync-main,uws runs a subset (uws must stay: ratios are against it). */
const SERVERS = process.env.HTTP_BENCH_SERVERS
  ? ALL_SERVERS.filter((s) => process.env.HTTP_BENCH_SERVERS!.split(',').includes(s.name))
  : ALL_SERVERS;
const MODES = (process.env.HTTP_BENCH_MODES?.split(',') ?? ['plain', 'pipeline10']) as Array<'plain' | 'pipeline10'>;

const PIPELINE_LUA = `
init = function(args)
  local r = {}
  for i = 1, 10 do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
`;

interface Row {
  server: string;
  mode: string;
  conns: number;
  rps: number;
  p99ms: number;
  cpuUsPerReq: number;
  /** evasync only: requests per delivery into JS, native calls per delivery. */
  reqPerWake: number;
  callsPerWake: number;
}

/** Parses wrk's report: requests/s and the 99th percentile latency in ms. */
function parseWrk(out: string): { rps: number; p99ms: number } {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const scale = m?.[2] === 'us' ? 1e-3 : m?.[2] === 's' ? 1e3 : 1;
  return { rps, p99ms: m ? Number(m[1]) * scale : NaN };
}

/** The evasync server's stats (`{}` for the others). */
function stats(port: number, scheme: 'http' | 'https'): Promise<Record<string, number>> {
  const get = scheme === 'https' ? https.get : http.get;
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/__stats', agent: false, rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, number>));
      })
      .on('error', () => resolve({}));
  });
}

/** What a run of the HTTP bench varies: plain or TLS servers, keep-alive or a new connection
 * per request (`https`, `tls-handshakes` reuse this runner). */
export interface HttpBenchSetup {
  /** Results file name. */
  name: string;
  scheme: 'http' | 'https';
  /** Environment of the server processes (the TLS certificate). */
  env: Record<string, string>;
  /** `Connection: close` on every request: each one a new connection (and handshake). */
  closeEach: boolean;
}

const PLAIN: HttpBenchSetup = { name: 'http', scheme: 'http', env: {}, closeEach: false };

async function measure(
  server: { name: string; args: string[] },
  mode: 'plain' | 'pipeline10',
  conns: number,
  lua: string,
  setup: HttpBenchSetup,
): Promise<Row> {
  const { child, line } = await startChild('http-server.ts', server.args, setup.env);
  const port = Number(line.split(' ')[1]);
  const url = `${setup.scheme}://127.0.0.1:${port}/`;
  const close = setup.closeEach ? ['-H', 'Connection: close'] : [];
  try {
    // Warm up (JIT, connection set-up) before measuring.
    execFileSync('wrk', ['-t1', `-c${conns}`, '-d1s', ...close, url], { stdio: 'ignore' });
    const s0 = await stats(port, setup.scheme);
    const before = cpuSeconds(child.pid!);
    const args = ['-t1', `-c${conns}`, `-d${SECONDS}s`, '--latency', ...close, url];
    if (mode === 'pipeline10') args.push('-s', lua);
    const out = execFileSync('wrk', args, { encoding: 'utf8' });
    const cpu = cpuSeconds(child.pid!) - before;
    const s1 = await stats(port, setup.scheme);
    const { rps, p99ms } = parseWrk(out);
    const wakes = (s1.eventBatches ?? 0) - (s0.eventBatches ?? 0);
    const calls = (s1.opCalls ?? 0) - (s0.opCalls ?? 0);
    return {
      server: server.name,
      mode,
      conns,
      rps,
      p99ms,
      cpuUsPerReq: rps > 0 ? (cpu / (rps * SECONDS)) * 1e6 : NaN,
      reqPerWake: wakes > 0 ? (rps * SECONDS) / wakes : NaN,
      callsPerWake: wakes > 0 ? calls / wakes : NaN,
    };
  } finally {
    await stopChild(child);
  }
}

export async function main(): Promise<void> {
  await runHttpBench(PLAIN, MODES, SERVERS);
}

/** Runs the bench for `setup`: every mode and connection count, rounds interleaved. */
export async function runHttpBench(
  setup: HttpBenchSetup,
  modes: Array<'plain' | 'pipeline10'>,
  servers: Array<{ name: string; args: string[] }>,
  labels: { rate: string; cpu: string; peer: string } = { rate: 'req/s', cpu: 'cpu µs/req', peer: 'node:http' },
): Promise<void> {
  const MODES = modes;
  const SERVERS = servers;
  const lua = path.join(os.tmpdir(), `evasync-pipeline-${process.pid}.lua`);
  writeFileSync(lua, PIPELINE_LUA);
  const rows: Row[] = [];
  for (const mode of MODES) {
    for (const conns of CONNS) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of SERVERS) rows.push(await measure(s, mode, conns, lua, setup));
      }
    }
  }
  const summary = [];
  for (const mode of MODES) {
    for (const conns of CONNS) {
      const med = (name: string, key: keyof Row) =>
        median(rows.filter((r) => r.server === name && r.mode === mode && r.conns === conns).map((r) => r[key] as number));
      for (const s of SERVERS) {
        const evasync = s.name.startsWith('evasync');
        summary.push({
          mode,
          conns,
          server: s.name,
          [labels.rate]: Math.round(med(s.name, 'rps')),
          'p99 ms': med(s.name, 'p99ms'),
          [labels.cpu]: med(s.name, 'cpuUsPerReq'),
          'vs uws': med(s.name, 'rps') / med('uws', 'rps'),
          'cpu vs uws': med(s.name, 'cpuUsPerReq') / med('uws', 'cpuUsPerReq'),
          [`vs ${labels.peer}`]: SERVERS.some((x) => x.name === labels.peer) ? med(s.name, 'rps') / med(labels.peer, 'rps') : NaN,
          'req/wake': evasync ? med(s.name, 'reqPerWake') : NaN,
          'calls/wake': evasync ? med(s.name, 'callsPerWake') : NaN,
        });
      }
    }
  }
  const what = setup.closeEach ? ', a new connection per request (Connection: close)' : '';
  console.log(`wrk -t1 -d${SECONDS}s ${setup.scheme} at ${CONNS.join('/')} connections${what}, ${ROUNDS} interleaved rounds, medians:`);
  table(summary);
  console.log(`results: ${saveResults(setup.name, { seconds: SECONDS, conns: CONNS, rounds: rows, summary })}`);
}
