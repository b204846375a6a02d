/**
 * `npm run bench -- notifier`: a worker thread triggers a notifier as fast as it can for a few
 * seconds while the loop runs its callback (triggers made before a callback runs coalesce into
 * it, as uv_async_send's): triggers accepted per second and callbacks per second, both drivers.
 */
import { Worker } from 'node:worker_threads';

import * as as from 'evasync';

import { saveResults, table } from './common';

const SECONDS = Number(process.env.SECONDS ?? 3);

async function run(driver: 'main' | 'thread') {
  let calls = 0;
  let triggers = 0;
  let secs = 0;
  await as.startEventLoop(async () => {
    const n = as.makeNotifier(() => calls++, { singleShot: false });
    const w = new Worker(
      `const { parentPort, workerData } = require('worker_threads');
       const as = require('evasync');
       const end = Date.now() + workerData.ms;
       let ok = 0;
       const t0 = process.hrtime.bigint();
       while (Date.now() < end) {
         for (let i = 0; i < 1000; i++) if (as.triggerNotifier(workerData.token)) ok++;
       }
       parentPort.postMessage({ ok, secs: Number(process.hrtime.bigint() - t0) / 1e9 });`,
      { eval: true, workerData: { token: n.token, ms: SECONDS * 1000 } },
    );
    const r = await new Promise<{ ok: number; secs: number }>((res) => w.once('message', res));
    triggers = r.ok;
    secs = r.secs;
    await w.terminate();
    n.free();
  }, { driver });
  return { driver, 'triggers/s': Math.round(triggers / secs), 'callbacks/s': Math.round(calls / secs), 'triggers per callback': triggers / Math.max(calls, 1) };
}

export async function main(): Promise<void> {
  const rows = [await run('main'), await run('thread')];
  console.log(`a worker triggering for ${SECONDS} s`);
  table(rows);
  console.log(`results: ${saveResults('notifier', { rows })}`);
}
