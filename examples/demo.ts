/**
 * What `npm start` runs: evasync next to Node's own modules, on loopback, in well under a minute.
 *   npm start      DEMO_SECONDS=N: each HTTP run's length (4); DEMO_LOAD=loadgen: not wrk
 * 1. HTTP: a hello-world server from evasync and one from node:http, each in a process of its
 *    own, loaded in turn with the same load (wrk when installed, else evasync's own HTTP client
 *    in Rust: crates/loadgen) at 50 keep-alive connections; a live progress line, then a table
 *    of requests/s, server CPU per request, latency p50/p99 and the server's RSS.
 * 2. TCP: 64-byte ping-pong over 50 connections against an evasync and a node:net echo server.
 * 3. In this process: DNS, the HTTP client with res.json(), and asyncio's Protocol/Transport.
 * Everything closes and the loop ends by itself; the exit code is 0.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as as from 'evasync';

const ROOT = path.resolve(__dirname, '..');
const HTTP_SECONDS = Number(process.env.DEMO_SECONDS ?? 4);
const TCP_SECONDS = 2;
const CONNS = 50;
const TTY = process.stdout.isTTY === true;

// ---------------------------------------------------------------- measuring a process

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Server {
  child: ChildProcess;
  port: number;
  /** Requests answered, as last reported by the server. */
  count: () => number;
}

function startServer(kind: 'http' | 'tcp', impl: 'evasync' | 'node'): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'demo-servers.ts'), kind, impl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let count = 0;
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [word, n] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (word === 'ready') resolve({ child, port: Number(n), count: () => count });
        else if (word === 'count') count = Number(n);
      }
    });
    child.on('exit', (code) => reject(new Error(`the ${impl} ${kind} server exited (${code}) before it was ready`)));
  });
}

function stopServer(s: Server): Promise<void> {
  return new Promise((r) => {
    if (s.child.exitCode !== null) return r();
    s.child.on('exit', () => r());
    s.child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- the HTTP load

interface LoadResult {
  requests: number;
  seconds: number;
  p50ms: number;
  p99ms: number;
}

/** How the HTTP load is made: wrk when installed, else evasync's own client in Rust. */
function chooseLoad(): { name: string; run: (port: number) => Promise<LoadResult> } {
  const hasWrk = (() => {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' });
      return true;
    } catch (e) {
      // wrk --version exits 1 after printing its version.
      return (e as { status?: number }).status === 1;
    }
  })();
  const forced = process.env.DEMO_LOAD; // 'wrk' or 'loadgen'
  if (hasWrk && forced !== 'loadgen') return { name: `wrk -t1 -c${CONNS}`, run: wrk };
  // Built for the host triple explicitly, as `napi build` builds the addon: the same target
  // directory, so the engine and its dependencies compiled for the addon are reused and only
  // the final link is new.
  const host = /^host: (\S+)$/m.exec(execFileSync('rustc', ['-vV'], { encoding: 'utf8' }))?.[1] ?? '';
  const bin = path.join(ROOT, 'target', host, 'release', 'evasync-loadgen');
  if (!existsSync(bin)) {
    console.log('building evasync-loadgen, the HTTP load generator on evasync\'s Rust client (once, about half a minute after the addon\'s build)…');
    execFileSync('cargo', ['build', '--release', '-q', '-p', 'evasync-loadgen', '--target', host], { cwd: ROOT, stdio: 'inherit' });
  }
  return { name: `evasync's HTTP client (crates/loadgen), ${CONNS} in flight`, run: (port) => loadgen(bin, port) };
}

function runProgram(program: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${program} exited with ${code}`))));
  });
}

async function wrk(port: number): Promise<LoadResult> {
  const out = await runProgram('wrk', ['-t1', `-c${CONNS}`, `-d${HTTP_SECONDS}s`, '--latency', `http://127.0.0.1:${port}/`]);
  const ms = (q: string) => {
    const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1) : NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  return { requests, seconds: rps > 0 ? requests / rps : HTTP_SECONDS, p50ms: ms('50'), p99ms: ms('99') };
}

async function loadgen(bin: string, port: number): Promise<LoadResult> {
  const out = await runProgram(bin, [`http://127.0.0.1:${port}/`, String(CONNS), String(HTTP_SECONDS)]);
  const last = out.trim().split('\n').pop() ?? '{}';
  const r = JSON.parse(last) as { requests: number; seconds: number; p50_us: number; p99_us: number };
  return { requests: r.requests, seconds: r.seconds, p50ms: r.p50_us / 1000, p99ms: r.p99_us / 1000 };
}

// ---------------------------------------------------------------- printing

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (Number.isFinite(n) ? `${n < 1 ? n.toFixed(2) : n.toFixed(1)} ms` : '–');
const fmtMB = (n: number) => `${(n / 1048576).toFixed(0)} MB`;

function printTable(rows: Array<Record<string, string>>): void {
  const cols = Object.keys(rows[0]!);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c]!.length)));
  const line = (vals: string[]) => '  ' + vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('   ');
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => r[c]!)));
}

/** A progress line rewritten in place (a TTY), or printed once at the end. */
function progress(label: string, seconds: number, count: () => number): { stop: (why: string) => void; report: (final: string) => void } {
  const t0 = Date.now();
  let last = { t: t0, n: 0 };
  let rate = 0;
  const draw = (text: string) => process.stdout.write(`\r  ${label.padEnd(10)} ${text}\x1b[K`);
  const timer = TTY
    ? setInterval(() => {
        const now = Date.now();
        const n = count();
        if (now > last.t) rate = ((n - last.n) * 1000) / (now - last.t);
        last = { t: now, n };
        const done = Math.min(1, (now - t0) / (seconds * 1000));
        const bar = '█'.repeat(Math.round(done * 24)).padEnd(24, '·');
        draw(`${bar} ${((now - t0) / 1000).toFixed(1)} s   ${fmtInt(rate).padStart(8)} req/s now`);
      }, 250)
    : undefined;
  const stop = () => {
    if (timer) clearInterval(timer);
  };
  return {
    stop,
    report: (final) => {
      stop();
      if (TTY) draw(`${final}\n`);
      else console.log(`  ${label.padEnd(10)} ${final}`);
    },
  };
}

// ---------------------------------------------------------------- 1. HTTP

async function httpPart(): Promise<void> {
  const load = chooseLoad();
  console.log(`\n1. HTTP hello world, ${CONNS} keep-alive connections, ${HTTP_SECONDS} s per server; load: ${load.name}`);
  const rows: Array<Record<string, string>> = [];
  const results: Record<string, { rps: number; cpu: number }> = {};
  for (const impl of ['evasync', 'node'] as const) {
    const name = impl === 'node' ? 'node:http' : 'evasync';
    const server = await startServer('http', impl);
    const pid = server.child.pid!;
    const c0 = cpuSeconds(pid);
    const bar = progress(name, HTTP_SECONDS, server.count);
    const r = await load.run(server.port).finally(() => bar.stop(''));
    const cpu = cpuSeconds(pid) - c0;
    const rss = rssBytes(pid);
    await stopServer(server);
    const rps = r.requests / r.seconds;
    bar.report(`${fmtInt(rps)} req/s`);
    results[impl] = { rps, cpu: (cpu * 1e6) / r.requests };
    rows.push({
      server: name,
      'req/s': fmtInt(rps),
      'CPU µs/req': ((cpu * 1e6) / r.requests).toFixed(1),
      p50: fmtMs(r.p50ms),
      p99: fmtMs(r.p99ms),
      'RSS after': fmtMB(rss),
    });
  }
  console.log();
  printTable(rows);
  const e = results.evasync!;
  const n = results.node!;
  console.log(`  → evasync answers ${(e.rps / n.rps).toFixed(1)}× the requests of node:http at ${(e.cpu / n.cpu).toFixed(2)}× its CPU per request`);
}

// ---------------------------------------------------------------- 2. TCP

/** 64-byte ping-pong over CONNS connections from evasync's client in this process. */
function pingPong(port: number): Promise<number> {
  const msg = Buffer.alloc(64, 0x61);
  return new Promise((resolve) => {
    let msgs = 0;
    let stop = false;
    const sockets: as.Socket[] = [];
    for (let i = 0; i < CONNS; i++) {
      let got = 0;
      sockets.push(
        as.tcpConnect('127.0.0.1', port, (s, d: Buffer) => {
          got += d.length;
          while (got >= 64) {
            got -= 64;
            msgs++;
            if (!stop) as.writeSocketData(s, msg);
          }
        }, { data: msg }),
      );
    }
    as.delay(() => {
      stop = true;
      for (const s of sockets) if (!s.closed) as.closeSocket(s);
      resolve(msgs);
    }, { time: TCP_SECONDS });
  });
}

async function tcpPart(): Promise<void> {
  console.log(`\n2. TCP echo, 64-byte ping-pong over ${CONNS} connections, ${TCP_SECONDS} s per server; client: evasync in this process`);
  const rows: Array<Record<string, string>> = [];
  for (const impl of ['evasync', 'node'] as const) {
    const server = await startServer('tcp', impl);
    const pid = server.child.pid!;
    const c0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const msgs = await pingPong(server.port);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(pid) - c0;
    rows.push({
      server: impl === 'node' ? 'node:net' : 'evasync',
      'msgs/s': fmtInt(msgs / secs),
      'CPU µs/msg': ((cpu * 1e6) / msgs).toFixed(1),
      'RSS after': fmtMB(rssBytes(pid)),
    });
    await stopServer(server);
  }
  printTable(rows);
}

// ---------------------------------------------------------------- 3. the rest, in this process

class Shout implements as.Protocol {
  transport?: as.Transport;
  connectionMade(t: as.Transport): void {
    this.transport = t;
  }
  dataReceived(data: Buffer): void {
    this.transport!.write(data.toString().toUpperCase());
  }
}

class Ask implements as.Protocol {
  reply = '';
  lost?: Error | null;
  readonly done: Promise<void>;
  #done!: () => void;
  constructor() {
    this.done = new Promise((r) => (this.#done = r));
  }
  connectionMade(t: as.Transport): void {
    t.write('hello, protocol');
    t.writeEof();
  }
  dataReceived(data: Buffer): void {
    this.reply += data.toString();
  }
  connectionLost(exc: Error | null): void {
    this.lost = exc;
    this.#done();
  }
}

async function restPart(): Promise<void> {
  console.log('\n3. In this process');
  // DNS: /etc/hosts first, then the TTL cache (a hit never leaves JS).
  let t0 = performance.now();
  const { address } = await as.dnsLookup('localhost', { family: 4 });
  const first = performance.now() - t0;
  t0 = performance.now();
  const N = 100_000;
  for (let i = 0; i < N; i++) await as.dnsLookup('localhost', { family: 4 });
  const cached = performance.now() - t0;
  const name = await as.reverseDnsLookup('127.0.0.1');
  console.log(`  dns        dnsLookup('localhost') → ${address} in ${first.toFixed(2)} ms; ${fmtInt(N)} cached lookups in ${cached.toFixed(0)} ms (${fmtInt((N / cached) * 1000)}/s); reverseDnsLookup('127.0.0.1') → ${name}`);

  // The HTTP client against our own server, with fetch-style helpers.
  const server = as.httpServer('127.0.0.1', 0, (req) => {
    as.httpResponse(req, { headers: [['Content-Type', 'application/json']], body: JSON.stringify({ hello: 'world', path: req.resource }) });
  });
  const res = await as.httpClient(`http://127.0.0.1:${server.port}/greet`, { timeout: 5 });
  const body = await res.json<{ hello: string; path: string }>();
  console.log(`  http       httpClient(…/greet) → ${res.status} ${res.header('content-type')} ${JSON.stringify(body)}`);
  await server.close();

  // asyncio's Protocol/Transport.
  const shout = await as.createServer(() => new Shout(), '127.0.0.1', 0);
  const [, ask] = await as.createConnection(() => new Ask(), '127.0.0.1', shout.sockets[0]!.port);
  await ask.done;
  console.log(`  protocol   createServer(Shout) + createConnection(Ask): sent 'hello, protocol', got '${ask.reply}', connectionLost(${ask.lost})`);
  shout.close();
  await shout.waitClosed();
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`evasync demo: everything on loopback (${os.cpus().length} × ${cpu}, Node ${process.version})`);
  await httpPart();
  await as.startEventLoop(async () => {
    await tcpPart();
    await restPart();
  });
  const s = as.stats();
  console.log(`\nThe loop ended by itself; stats() counts are back to ${s.incomingTcpConnections + s.outgoingTcpConnections + s.activeTimers + s.servers}.`);
  console.log('Benchmarks with every peer (uWebSockets.js, the C reference, 10/50/200 connections, both drivers): npm run bench -- http');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
