/**
 * 1 M delays scheduled and fired: evasync `delay` vs Node's `setTimeout`, interleaved rounds in
 * one process. Both get a 1 ms deadline (setTimeout's minimum).
 */
import * as as from 'evasync';

import { median, saveResults, table } from './common';

const N = 1_000_000;

async function evasyncRound(): Promise<number> {
  let fired = 0;
  const t0 = process.hrtime.bigint();
  let t1 = t0;
  await as.startEventLoop(() => {
    const cb = () => {
      if (++fired === N) t1 = process.hrtime.bigint();
    };
    for (let i = 0; i < N; i++) as.delay(cb, { time: 0.001 });
  });
  return Number(t1 - t0) / 1e9;
}

async function nodeRound(): Promise<number> {
  let fired = 0;
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const cb = () => {
      if (++fired === N) resolve();
    };
    for (let i = 0; i < N; i++) setTimeout(cb, 1);
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function main(): Promise<void> {
  const ev: number[] = [];
  const nd: number[] = [];
  for (let round = 0; round < 3; round++) {
    ev.push(await evasyncRound());
    nd.push(await nodeRound());
  }
  const e = median(ev);
  const n = median(nd);
  const rows = [
    { impl: 'evasync delay', 'timers/s': Math.round(N / e), 'seconds (median of 3)': e },
    { impl: 'node setTimeout', 'timers/s': Math.round(N / n), 'seconds (median of 3)': n },
  ];
  table(rows);
  console.log(`ratio evasync/setTimeout: ${(n / e).toFixed(2)}×`);
  console.log(saveResults('timers', { n: N, evasync: ev, setTimeout: nd, ratio: n / e, driver: process.env.EVASYNC_DRIVER ?? 'default' }));
}
