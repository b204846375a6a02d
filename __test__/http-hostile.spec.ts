/**
 * Hostile clients at small scale, one spec per invariant of the hostile-load benches
 * (`npm run bench -- slowloris|churn|flood|hostile|emfile`): slow heads and bodies are cut with
 * 408, churned connections (FIN, close, reset) leave nothing behind, a pipelined flood from a
 * peer that does not read is answered in full and in order once it reads, every malformed input
 * is refused and never answered twice, and running out of descriptors is reported once per
 * episode. Each ends with a normal request served and stats back to 0.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { hostileInputs } from '../benches/hostile-inputs';
import { DRIVER, expectClean, runLoop, sleep } from './helpers';
import { raw } from './http-raw';

const H = 'Host: example.com\r\n';

async function stillServes(t: import('ava').ExecutionContext, port: number): Promise<void> {
  const res = await raw(port, `GET /check HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.is(res.responses[0]?.status, 200, 'a normal request is served');
}

const BIG = 'x'.repeat(4096);

/** Answers `/echo/<n>` with its path followed by 4 KiB (so a flood outgrows the kernel's
 * buffers), anything else with "hello". */
function hello(req: as.HttpRequest): void {
  as.httpResponse(req, { body: req.uri.startsWith('/echo/') ? `${req.uri}:${BIG}` : 'hello' });
}

test('slowloris: slow heads and slow bodies get 408 at requestTimeout while others are served', async (t) => {
  await runLoop(t, async () => {
    const server = as.httpServer('127.0.0.1', 0, hello, { requestTimeout: 0.5 });
    const slow = Array.from({ length: 20 }, (_, i) => {
      const input = i % 2 === 0 ? `GET /slow HTTP/1.1\r\n${H}X-Slow: ${'a'.repeat(50)}` : `POST /slow HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\n${'b'.repeat(50)}`;
      // One byte every 50 ms: never complete within the timeout.
      return raw(server.port, input.match(/.{1,1}/gs)!, { gapMs: 50, timeoutMs: 8000 });
    });
    await sleep(0.1);
    await stillServes(t, server.port);
    const results = await Promise.all(slow);
    t.true(results.every((r) => r.responses[0]?.status === 408 && r.closed), results.map((r) => r.responses[0]?.status).join(','));
    await stillServes(t, server.port);
    await server.close();
    await expectClean(t);
  });
});

test('churn: connections ended by FIN, close and reset in turn leave stats at 0', async (t) => {
  await runLoop(t, async () => {
    const server = as.httpServer('127.0.0.1', 0, hello);
    const one = (n: number) =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(server.port, '127.0.0.1', () => s.write(`GET / HTTP/1.1\r\n${H}\r\n`));
        s.on('data', () => {
          if (n % 3 === 0) s.end();
          else if (n % 3 === 1) s.destroy();
          else s.resetAndDestroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
    let served = 0;
    for (let i = 0; i < 600; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => one(i + j)));
      served += batch.filter(Boolean).length;
    }
    t.is(served, 600);
    while (as.stats().incomingHttpConnections > 0) await sleep(0.01);
    await stillServes(t, server.port);
    await server.close();
    await expectClean(t);
  });
});

test('flood: 5 000 pipelined requests (20 MiB of answers) from a peer that reads nothing are held back, then answered in order once it reads', async (t) => {
  await runLoop(t, async () => {
    let calls = 0;
    const server = as.httpServer('127.0.0.1', 0, (req) => {
      calls++;
      hello(req);
    });
    const s = net.connect(server.port, '127.0.0.1');
    s.pause();
    await new Promise((r) => s.on('connect', r));
    s.write(Array.from({ length: 5000 }, (_, i) => `GET /echo/${i} HTTP/1.1\r\n${H}\r\n`).join(''));
    await sleep(0.5);
    t.true(calls < 5000, `the server held back (${calls} requests taken while the peer read nothing)`);
    const bodies: string[] = [];
    let buf = '';
    await new Promise<void>((resolve) => {
      s.on('data', (d) => {
        buf += d.toString('latin1');
        let pos = 0;
        for (;;) {
          const head = buf.indexOf('\r\n\r\n', pos);
          if (head < 0) break;
          const len = Number(/Content-Length: (\d+)/.exec(buf.slice(pos, head))?.[1]);
          if (buf.length < head + 4 + len) break;
          bodies.push(buf.slice(head + 4, head + 4 + len).split(':')[0]!);
          pos = head + 4 + len;
        }
        buf = buf.slice(pos);
        if (bodies.length === 5000) resolve();
      });
      s.resume();
    });
    s.destroy();
    t.deepEqual(bodies, Array.from({ length: 5000 }, (_, i) => `/echo/${i}`));
    await stillServes(t, server.port);
    await server.close();
    await expectClean(t);
  });
});

test('hostile inputs: each of 120+ is refused (or, where RFC 9112 allows, served once), never answered twice', async (t) => {
  const inputs = hostileInputs();
  t.true(inputs.length >= 120);
  await runLoop(
    t,
    async () => {
      const server = as.httpServer('127.0.0.1', 0, hello);
      const wrong: string[] = [];
      for (const input of inputs) {
        const res = await raw(server.port, input.bytes, { end: true, timeoutMs: 5000 });
        const statuses = res.responses.map((r) => r.status);
        const served = statuses.filter((s) => s < 400).length;
        if (served > 1 || (served === 1 && !input.mayServe)) wrong.push(`${input.name}: ${statuses.join(',')}`);
        if (!res.closed) wrong.push(`${input.name}: the connection stayed open`);
      }
      t.deepEqual(wrong, []);
      await stillServes(t, server.port);
      await server.close();
      await expectClean(t);
    },
    {},
    120,
  );
});

test('emfile: an HTTP server out of descriptors serves everyone in the end and reports it once', async (t) => {
  // The server runs in a child whose descriptor limit is low; this process is the client.
  const script = `
    const as = require('evasync');
    as.startEventLoop(() => {
      const srv = as.httpServer('127.0.0.1', 0, (req) => {
        if (req.uri === '/quit') { as.httpResponse(req, { body: 'bye' }); srv.close(); return; }
        as.httpResponse(req, { body: 'hello' });
      }, { backlog: 512, eventCb: (e) => console.log('event ' + e.errcode) });
      console.log('port ' + srv.port);
    }, { driver: ${JSON.stringify(DRIVER ?? null)} ?? undefined }).then(() => console.log('done'));
  `;
  const child = spawn('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" -e "$0"`, script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n').filter(Boolean)) {
        lines.push(l);
        if (l.startsWith('port ')) resolve(Number(l.slice(5)));
      }
    });
    child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
  const request = (path: string) =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\n${H}\r\n`));
      s.on('data', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  const results = await Promise.all(Array.from({ length: 200 }, () => request('/')));
  t.is(results.filter(Boolean).length, 200, 'every client was served');
  t.is(lines.filter((l) => l === 'event EMFILE').length, 1, `reported once: ${lines.join(' | ')}`);
  t.true(await request('/quit'));
  const exit = await new Promise<number | null>((r) => child.on('exit', r));
  t.is(exit, 0);
  t.true(lines.includes('done'));
});
