/**
 * 1 M delays scheduled and fired: evasync `delay` vs Node's `setTimeout`, interleaved rounds in
 * one process, for both drivers. Two shapes: every timer 1 ms (setTimeout's minimum; one list),
 * and durations spread over 1–100 ms (100 distinct expiries, so 100 lists and engine timers).
 * `free` adds a case where half the timers are cancelled before they fire.
 */
import * as as from 'evasync';

import { median, saveResults, table } from './common';

const N = 1_000_000;

interface Shape {
  name: string;
  ms: (i: number) => number;
  cancelHalf: boolean;
}

const SHAPES: Shape[] = [
  { name: '1 ms each', ms: () => 1, cancelHalf: false },
  { name: '1–100 ms', ms: (i) => 1 + (i % 100), cancelHalf: false },
  { name: '1 ms, half freed', ms: () => 1, cancelHalf: true },
];

async function evasyncRound(shape: Shape, driver: 'main' | 'thread'): Promise<number> {
  const target = shape.cancelHalf ? N / 2 : N;
  let fired = 0;
  const t0 = process.hrtime.bigint();
  let t1 = t0;
  await as.startEventLoop(() => {
    const cb = () => {
      if (++fired === target) t1 = process.hrtime.bigint();
    };
    for (let i = 0; i < N; i++) {
      const t = as.delay(cb, { time: shape.ms(i) / 1000 });
      if (shape.cancelHalf && i % 2 === 1) t.free();
    }
  }, { driver });
  return Number(t1 - t0) / 1e9;
}

async function nodeRound(shape: Shape): Promise<number> {
  const target = shape.cancelHalf ? N / 2 : N;
  let fired = 0;
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const cb = () => {
      if (++fired === target) resolve();
    };
    for (let i = 0; i < N; i++) {
      const t = setTimeout(cb, shape.ms(i));
      if (shape.cancelHalf && i % 2 === 1) clearTimeout(t);
    }
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function main(): Promise<void> {
  const rows: Array<Record<string, string | number>> = [];
  const results: Record<string, unknown> = {};
  for (const shape of SHAPES) {
    const main: number[] = [];
    const thread: number[] = [];
    const nd: number[] = [];
    for (let round = 0; round < 3; round++) {
      main.push(await evasyncRound(shape, 'main'));
      thread.push(await evasyncRound(shape, 'thread'));
      nd.push(await nodeRound(shape));
    }
    const m = median(main);
    const th = median(thread);
    const n = median(nd);
    rows.push({
      shape: shape.name,
      'delay main /s': Math.round(N / m),
      'delay thread /s': Math.round(N / th),
      'setTimeout /s': Math.round(N / n),
      'main vs setTimeout': `${(n / m).toFixed(2)}×`,
      'thread vs setTimeout': `${(n / th).toFixed(2)}×`,
    });
    results[shape.name] = { main, thread, setTimeout: nd };
  }
  console.log(`${N.toLocaleString('en')} timers scheduled and fired (seconds from the first delay() to the last callback), medians of 3 interleaved rounds:`);
  table(rows);
  console.log(saveResults('timers', { n: N, results, rows }));
}
