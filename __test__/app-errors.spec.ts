import test from 'ava';
import * as as from 'evasync';

import { DRIVER, expectClean, runLoop, sleep } from './helpers';

test('an app error without catchAppErrors rejects the loop and cancels pending timers', async (t) => {
  let later = false;
  const boom = new Error('boom');
  const err = await t.throwsAsync(
    as.startEventLoop(() => {
      as.delay(() => {
        later = true;
      }, { time: 0.3 });
      as.delay(() => {
        throw boom;
      }, { time: 0.01 });
    }, { driver: DRIVER }),
  );
  t.is(err, boom);
  t.false(later);
  t.false(as.eventLoopRunning());
  await new Promise((r) => setTimeout(r, 350));
  t.false(later, 'the cancelled timer never fires');
});

test('a start function that throws rejects the loop with that error', async (t) => {
  const boom = new Error('start');
  const err = await t.throwsAsync(as.startEventLoop(() => {
    throw boom;
  }, { driver: DRIVER }));
  t.is(err, boom);
});

test('with catchAppErrors the error reaches the operation\'s eventCb', async (t) => {
  const seen: unknown[] = [];
  const boom = new Error('in timer');
  await runLoop(t, async () => {
    as.delay(() => {
      throw boom;
    }, { eventCb: (e) => seen.push(e) });
    await sleep(0.02);
    await expectClean(t);
  }, { catchAppErrors: true });
  t.deepEqual(seen, [boom]);
});

test('with catchAppErrors and no eventCb the error reaches defaultEventCb', async (t) => {
  const seen: unknown[] = [];
  const boom = new Error('no eventCb');
  await runLoop(t, () => {
    as.delay(() => {
      throw boom;
    });
  }, { catchAppErrors: true, defaultEventCb: (e) => seen.push(e) });
  t.deepEqual(seen, [boom]);
});

test('with catchAppErrors an interval keeps running after a caught error', async (t) => {
  let runs = 0;
  const seen: unknown[] = [];
  await runLoop(t, () => {
    const iv = as.interval(() => {
      runs++;
      if (runs === 3) iv.free();
      throw new Error(`run ${runs}`);
    }, { time: 0.01, eventCb: (e) => seen.push(e) });
  }, { catchAppErrors: true });
  t.is(runs, 3);
  t.is(seen.length, 3);
});

test('with catchAppErrors the default defaultEventCb re-throws, ending the loop', async (t) => {
  const boom = new Error('rethrown');
  const err = await t.throwsAsync(as.startEventLoop(() => {
    as.delay(() => {
      throw boom;
    });
  }, { catchAppErrors: true, driver: DRIVER }));
  t.is(err, boom);
});

test('an exception thrown by an eventCb always ends the loop', async (t) => {
  const second = new Error('from eventCb');
  const err = await t.throwsAsync(as.startEventLoop(() => {
    as.delay(() => {
      throw new Error('first');
    }, { eventCb: () => {
      throw second;
    } });
  }, { catchAppErrors: true, driver: DRIVER }));
  t.is(err, second);
});

test('a rejected start promise goes to defaultEventCb under catchAppErrors', async (t) => {
  const seen: unknown[] = [];
  const boom = new Error('async start');
  await runLoop(t, async () => {
    await sleep(0.01);
    throw boom;
  }, { catchAppErrors: true, defaultEventCb: (e) => seen.push(e) });
  t.deepEqual(seen, [boom]);
});

test('exit callbacks run when an app error ends the loop', async (t) => {
  let ran = false;
  await t.throwsAsync(as.startEventLoop(() => {
    as.addEventLoopExitCallback(() => {
      ran = true;
    });
    as.delay(() => {
      throw new Error('x');
    });
  }, { driver: DRIVER }));
  t.true(ran);
});
