/**
 * Events per second delivered into JS: the reactor emits synthetic events in one turn; JS
 * dispatches each to a handler. Reports batch sizes seen.
 */
import { OpCode } from '../binding';
import { currentLoop, startEventLoop } from '../lib/loop';
import { median, saveResults, table } from './common';

const PER_REQUEST = 100_000;
const REQUESTS = 50;

async function round(): Promise<{ rate: number; batches: number; maxBatch: number; meanBatch: number }> {
  let seen = 0;
  let batches = 0;
  let maxBatch = 0;
  let t0 = 0n;
  let t1 = 0n;
  await startEventLoop(() => new Promise<void>((resolve) => {
    const loop = currentLoop()!;
    loop.batchObserver = (n) => {
      batches++;
      if (n > maxBatch) maxBatch = n;
    };
    loop.tickHandler = () => {
      if (++seen === PER_REQUEST * REQUESTS) {
        t1 = process.hrtime.bigint();
        resolve();
      }
    };
    t0 = process.hrtime.bigint();
    // Each request is an operation; they are applied together.
    for (let i = 0; i < REQUESTS; i++) loop.wire.op(OpCode.EmitTicks, PER_REQUEST);
  }));
  const secs = Number(t1 - t0) / 1e9;
  return { rate: seen / secs, batches, maxBatch, meanBatch: seen / batches };
}

export async function main(): Promise<void> {
  const rounds = [];
  for (let i = 0; i < 5; i++) rounds.push(await round());
  const rate = median(rounds.map((r) => r.rate));
  table(rounds.map((r, i) => ({ round: i + 1, 'events/s': Math.round(r.rate), batches: r.batches, 'mean batch': Math.round(r.meanBatch), 'max batch': r.maxBatch })));
  console.log(`median: ${(rate / 1e6).toFixed(2)} M events/s`);
  console.log(saveResults('delivery', { rounds, medianEventsPerSec: rate }));
}
