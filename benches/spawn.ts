/**
 * `npm run bench -- spawn`: (1) `/bin/true` spawned and reaped per second, 8 in flight, by
 * evasync's `spawn` (both drivers) against Node's `child_process.spawn`; (2) 100 MiB read from a
 * child's stdout (`head -c … /dev/zero`) through an evasync pipe against Node's `child.stdout`.
 * Everything runs in this process (the spawner is what is measured); rounds interleaved, medians.
 */
import { spawn as nodeSpawn } from 'node:child_process';

import * as as from 'evasync';

import { median, saveResults, table } from './common';

const SECONDS = Number(process.env.SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const IN_FLIGHT = 8;
const BYTES = 100 * 1024 * 1024;

async function evasyncTrue(driver: 'main' | 'thread'): Promise<number> {
  let done = 0;
  const t0 = process.hrtime.bigint();
  await as.startEventLoop(() => {
    const end = Date.now() + SECONDS * 1000;
    const one = (): void => {
      if (Date.now() >= end) return;
      as.spawn('/bin/true', [], {
        exitCb: () => {
          done++;
          one();
        },
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) one();
  }, { driver });
  return done / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function nodeTrue(): Promise<number> {
  let done = 0;
  const t0 = process.hrtime.bigint();
  const end = Date.now() + SECONDS * 1000;
  await new Promise<void>((resolve) => {
    let running = 0;
    const one = (): void => {
      if (Date.now() >= end) {
        if (running === 0) resolve();
        return;
      }
      running++;
      nodeSpawn('/bin/true', [], { stdio: 'ignore' }).on('exit', () => {
        running--;
        done++;
        one();
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) one();
  });
  return done / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function evasyncRead(driver: 'main' | 'thread'): Promise<number> {
  let got = 0;
  const t0 = process.hrtime.bigint();
  await as.startEventLoop(() => {
    as.spawn('head', ['-c', String(BYTES), '/dev/zero'], {
      output: { pipe: { readCb: (_s, d: Buffer) => (got += d.length) } },
    });
  }, { driver });
  if (got !== BYTES) throw new Error(`read ${got} bytes`);
  return BYTES / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function nodeRead(): Promise<number> {
  let got = 0;
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const c = nodeSpawn('head', ['-c', String(BYTES), '/dev/zero'], { stdio: ['ignore', 'pipe', 'ignore'] });
    c.stdout.on('data', (d: Buffer) => (got += d.length));
    c.stdout.on('end', () => resolve());
  });
  if (got !== BYTES) throw new Error(`read ${got} bytes`);
  return BYTES / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export async function main(): Promise<void> {
  const runs: Record<string, { spawns: number[]; mbs: number[] }> = {
    'evasync (main)': { spawns: [], mbs: [] },
    'evasync (thread)': { spawns: [], mbs: [] },
    'node child_process': { spawns: [], mbs: [] },
  };
  for (let r = 0; r < ROUNDS; r++) {
    runs['evasync (main)']!.spawns.push(await evasyncTrue('main'));
    runs['evasync (thread)']!.spawns.push(await evasyncTrue('thread'));
    runs['node child_process']!.spawns.push(await nodeTrue());
    runs['evasync (main)']!.mbs.push(await evasyncRead('main'));
    runs['evasync (thread)']!.mbs.push(await evasyncRead('thread'));
    runs['node child_process']!.mbs.push(await nodeRead());
  }
  const node = runs['node child_process']!;
  const rows = Object.entries(runs).map(([impl, r]) => ({
    impl,
    '/bin/true per s': Math.round(median(r.spawns)),
    'vs node spawns': median(r.spawns) / median(node.spawns),
    'stdout MB/s': Math.round(median(r.mbs)),
    'vs node MB/s': median(r.mbs) / median(node.mbs),
  }));
  console.log(`/bin/true with ${IN_FLIGHT} in flight for ${SECONDS} s; ${BYTES / 2 ** 20} MiB from a child's stdout; median of ${ROUNDS} interleaved rounds`);
  table(rows);
  console.log(`results: ${saveResults('spawn', { rows, runs })}`);
}
