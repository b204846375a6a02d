/** Shared bench helpers: process CPU and RSS from /proc, tables, JSON results, child servers. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds (user + system, all threads) used so far by `pid`. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Prints rows as an aligned table. */
export function table<T extends object>(items: T[]): void {
  const rows = items as unknown as Array<Record<string, string | number>>;
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i]!)).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c] ?? ''))));
}

/** Writes `benches/results/<name>.json` with the machine and the figures. */
export function saveResults(name: string, data: unknown): string {
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const os = require('node:os') as typeof import('node:os');
  writeFileSync(
    file,
    JSON.stringify({ bench: name, date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, data }, null, 2),
  );
  return file;
}

/** Starts `benches/<script>` in a child process and waits for its first stdout line ("ready <port>"). */
export async function startChild(script: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; line: string }> {
  return startProgram(process.execPath, ['--import', 'tsx', path.join(__dirname, script), ...args], env);
}

/** Starts a program and waits for its first stdout line ("ready <port>"). */
export async function startProgram(program: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(program, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.on('exit', (code) => reject(new Error(`${program} exited with ${code} before it was ready`)));
  });
  return { child, line };
}

/** Stops a child and waits for it. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.on('exit', () => r());
    child.kill('SIGTERM');
  });
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The C programs compiled in this run. */
const builtC = new Set<string>();

/** Compiles `benches/c/<name>.c` into `target/bench/<name>` (once per run); its path. */
export function buildC(name: string): string {
  const out = path.join(__dirname, '..', 'target', 'bench', name);
  if (!builtC.has(name)) {
    mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('cc', ['-O2', '-o', out, path.join(__dirname, 'c', `${name}.c`)]);
    builtC.add(name);
  }
  return out;
}
