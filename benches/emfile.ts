/**
 * `npm run bench -- emfile`: an HTTP server whose process may hold 256 descriptors (`ulimit -n
 * 256`) meets 1 000 clients at once; each sends a request, reads its answer and closes, so
 * descriptors free as the burst is served. Invariants (non-zero exit): every client is served,
 * the server reports running out of descriptors once per episode (not once per failed accept),
 * and it serves a normal request afterwards. evasync under both drivers.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

import { saveResults, table } from './common';

const CLIENTS = Number(process.env.EMFILE_CLIENTS ?? 1000);
const LIMIT = Number(process.env.EMFILE_LIMIT ?? 256);

function request(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('Hello, World!')) {
        s.destroy();
        resolve(true);
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(got.includes('Hello, World!')));
  });
}

async function run(driver: string) {
  const script = path.join(__dirname, 'http-server.ts');
  const child = spawn('sh', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" --import tsx "${script}" evasync ${driver}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, HTTP_SERVER_LOG_EVENTS: '1' },
  });
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n').filter(Boolean)) {
        lines.push(l);
        if (l.startsWith('ready ')) resolve(Number(l.slice(6)));
      }
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  try {
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: CLIENTS }, () => request(port)));
    const ms = Date.now() - t0;
    const served = results.filter(Boolean).length;
    const reports = lines.filter((l) => l === 'event EMFILE').length;
    const after = await request(port);
    return { server: `evasync (${driver})`, clients: CLIENTS, 'fd limit': LIMIT, served, 'EMFILE reports': reports, 'burst ms': ms, 'serves after': after ? 'yes' : 'NO', alive: child.exitCode === null ? 'yes' : 'NO' };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

export async function main(): Promise<void> {
  const rows = [await run('main'), await run('thread')];
  console.log(`${CLIENTS} clients at once against a server limited to ${LIMIT} descriptors:`);
  table(rows);
  const broken: string[] = [];
  for (const r of rows) {
    if (r.served !== CLIENTS) broken.push(`${r.server}: ${r.served}/${CLIENTS} clients served`);
    if (r['EMFILE reports'] !== 1) broken.push(`${r.server}: ${r['EMFILE reports']} EMFILE reports for one burst (one per episode expected)`);
    if (r['serves after'] !== 'yes' || r.alive !== 'yes') broken.push(`${r.server}: not serving after the burst`);
  }
  console.log(saveResults('emfile', { rows, broken }));
  for (const b of broken) console.log(`INVARIANT BROKEN: ${b}`);
  if (broken.length > 0) process.exitCode = 1;
}
