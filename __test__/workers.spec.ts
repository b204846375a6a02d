import { Worker } from 'node:worker_threads';

import test from 'ava';

import { DRIVER } from './helpers';

/** Runs a loop in a worker: a timer, then a TCP echo through its own server; reports the reply. */
function loopInWorker(tag: string): Promise<string> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const as = require('evasync');
    let reply = '';
    as.startEventLoop(() => {
      as.delay(() => {
        const srv = as.tcpServer('127.0.0.1', 0, (s, d) => as.writeSocketData(s, d));
        as.tcpConnect('127.0.0.1', srv.port, (s, d) => {
          reply = d.toString();
          as.closeSocket(s);
          srv.close();
        }, { data: workerData.tag });
      }, { time: 0.02 });
    }, { driver: workerData.driver }).then(() => parentPort.postMessage(reply + '|' + as.eventLoopRunning()));
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { tag, driver: DRIVER } });
    w.once('message', (m: string) => resolve(m));
    w.once('error', reject);
    w.once('exit', (c) => (c === 0 ? undefined : reject(new Error(`worker exited ${c}`))));
  });
}

test('worker threads each run their own loop at the same time', async (t) => {
  const replies = await Promise.all(['worker-a', 'worker-b', 'worker-c'].map(loopInWorker));
  t.deepEqual(replies, ['worker-a|false', 'worker-b|false', 'worker-c|false']);
});

test('a worker terminated while its loop runs leaves the process healthy', async (t) => {
  const code = `
    const as = require('evasync');
    as.startEventLoop(() => { as.interval(() => {}, { time: 0.01 }); as.tcpServer('127.0.0.1', 0, null); }, { driver: require('node:worker_threads').workerData.driver });
    require('node:worker_threads').parentPort.postMessage('running');
  `;
  const w = new Worker(code, { eval: true, workerData: { driver: DRIVER } });
  await new Promise((r) => w.once('message', r));
  const exit = await w.terminate();
  t.is(exit, 1);
  // This thread can still run a loop of its own.
  t.is(await loopInWorker('after-terminate'), 'after-terminate|false');
});
