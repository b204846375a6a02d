import { spawnSync } from 'node:child_process';

import test from 'ava';
import * as as from 'evasync';

import { DRIVER, expectClean, runLoop, sleep } from './helpers';

test('loop resolves with undefined once nothing is left', async (t) => {
  let ran = false;
  const result = await as.startEventLoop(() => {
    as.delay(() => {
      ran = true;
    }, { time: 0.01 });
  }, { driver: DRIVER });
  t.is(result, undefined);
  t.true(ran);
  t.false(as.eventLoopRunning());
});

test('eventLoopRunning is true inside the loop only', async (t) => {
  t.false(as.eventLoopRunning());
  await runLoop(t, () => {
    t.true(as.eventLoopRunning());
  });
  t.false(as.eventLoopRunning());
});

test('exitEventLoop in the start function cancels a pending 1 s delay and resolves', async (t) => {
  let fired = false;
  let timer: as.Timer | undefined;
  await runLoop(t, () => {
    timer = as.delay(() => {
      fired = true;
    }, { time: 1 });
    as.exitEventLoop();
  });
  t.false(fired);
  t.true(timer!.freed);
  t.deepEqual(
    Object.values(as.stats()).filter((v) => v !== 0),
    [],
    'stats read 0 after exit',
  );
});

test('exit callbacks run on drain and on exit, before the promise resolves', async (t) => {
  const calls: string[] = [];
  await runLoop(t, () => {
    as.addEventLoopExitCallback(() => calls.push('drain-a'));
    as.addEventLoopExitCallback(() => calls.push('drain-b'));
    as.delay(() => calls.push('timer'), { time: 0.01 });
  });
  t.deepEqual(calls, ['timer', 'drain-a', 'drain-b']);
  calls.length = 0;
  await runLoop(t, () => {
    as.addEventLoopExitCallback(() => calls.push('exit'));
    as.delay(() => calls.push('never'), { time: 5 });
    as.delay(() => as.exitEventLoop(), { time: 0.01 });
  });
  t.deepEqual(calls, ['exit']);
});

test('the loop lives until the start function promise settles', async (t) => {
  let after = false;
  await runLoop(t, async () => {
    await new Promise((r) => setTimeout(r, 50));
    after = true;
  });
  t.true(after);
});

test('a rejected start promise rejects the loop', async (t) => {
  const err = await t.throwsAsync(
    as.startEventLoop(async () => {
      await sleep(0.01);
      throw new Error('boom in start');
    }, { driver: DRIVER }),
  );
  t.is(err?.message, 'boom in start');
  t.false(as.eventLoopRunning());
});

test('a second loop on the same thread throws EventLoopError synchronously', async (t) => {
  await runLoop(t, () => {
    const err = t.throws(() => as.startEventLoop(() => {}), { instanceOf: as.EventLoopError });
    t.is(err?.code, 'EVASYNC_EVENT_LOOP_ERROR');
  });
});

test('operations without a loop throw EventLoopError; exit, free and stats do not', (t) => {
  const noLoop = { instanceOf: as.EventLoopError, message: /no event loop is running/ };
  t.throws(() => as.delay(() => {}), noLoop);
  t.throws(() => as.interval(() => {}, { time: 1 }), noLoop);
  t.throws(() => as.tcpConnect('127.0.0.1', 1, null), noLoop);
  t.throws(() => as.tcpServer('127.0.0.1', 0, null), noLoop);
  t.throws(() => as.addEventLoopExitCallback(() => {}), noLoop);
  t.notThrows(() => as.exitEventLoop());
  t.deepEqual(Object.values(as.stats()).filter((v) => v !== 0), []);
});

test('a Timer freed after its loop ended does nothing', async (t) => {
  let tm: as.Timer | undefined;
  await runLoop(t, () => {
    tm = as.delay(() => {}, { time: 5 }).unref();
  });
  t.notThrows(() => tm!.free());
  t.true(tm!.freed);
});

test('a Node process whose loop ended exits by itself', (t) => {
  const script = `
    const as = require('evasync');
    as.startEventLoop(() => { as.delay(() => {}, { time: 0.05 }); }, { driver: ${JSON.stringify(DRIVER ?? null)} ?? undefined })
      .then(() => { console.log('loop ended'); });
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  t.is(r.error, undefined, 'the child did not hang');
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'loop ended');
});

test('a Node process exits while an unref-only loop ends', (t) => {
  const script = `
    const as = require('evasync');
    as.startEventLoop(() => { as.interval(() => {}, { time: 0.01 }).unref(); })
      .then(() => console.log('ended'));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'ended');
});

test('stats() has every field and counts batches and events', async (t) => {
  await runLoop(t, async () => {
    await sleep(0.01);
    const s = as.stats();
    for (const k of [
      'incomingTcpConnections', 'outgoingTcpConnections', 'incomingHttpConnections', 'outgoingHttpConnections',
      'openDnsQueries', 'activeTimers', 'fnRegistryCount', 'dataRegistryCount', 'servers', 'bytesRead',
      'bytesWritten', 'eventBatches', 'eventsDelivered',
    ]) {
      t.is(typeof (s as unknown as Record<string, number>)[k], 'number', k);
    }
    t.true(s.eventBatches >= 1);
    t.true(s.eventsDelivered >= 1);
    t.true(s.driver === 'main' || s.driver === 'thread');
    await expectClean(t);
  });
});

test('ESM import and CommonJS require give the same API', async (t) => {
  const esm = await import('evasync');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cjs = require('evasync');
  t.is(esm.startEventLoop, cjs.startEventLoop);
  t.is(typeof esm.delay, 'function');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import * as as from 'evasync'; import { delay } from 'evasync'; console.log(typeof as.tcpServer, typeof delay);"], { encoding: 'utf8' });
  t.is(r.stdout.trim(), 'function function', r.stderr);
});
