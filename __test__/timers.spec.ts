import test from 'ava';
import * as as from 'evasync';

import { expectClean, runLoop, sleep } from './helpers';

test('a delay without time runs after the current callback returns', async (t) => {
  const order: string[] = [];
  await runLoop(t, async () => {
    as.delay(() => order.push('delay'));
    order.push('after delay()');
    await sleep(0.02);
    await expectClean(t);
  });
  t.deepEqual(order, ['after delay()', 'delay']);
});

test('a 0.2 s delay fires no earlier than 0.19 s', async (t) => {
  let elapsed = -1;
  await runLoop(t, () => {
    const t0 = process.hrtime.bigint();
    as.delay(() => {
      elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    }, { time: 0.2 });
  });
  t.true(elapsed >= 0.19, `fired after ${elapsed}s`);
});

test('equal deadlines fire in creation order', async (t) => {
  const order: number[] = [];
  await runLoop(t, () => {
    for (let i = 0; i < 200; i++) as.delay(() => order.push(i));
    for (let i = 200; i < 400; i++) as.delay(() => order.push(i), { time: 0.03 });
  });
  t.deepEqual(order, Array.from({ length: 400 }, (_, i) => i));
});

test('an interval of 0.05 s freed in its 3rd run ran exactly 3 times', async (t) => {
  let runs = 0;
  await runLoop(t, async () => {
    const iv = as.interval(() => {
      runs++;
      if (runs === 3) as.removeInterval(iv);
    }, { time: 0.05 });
    await sleep(0.3);
    t.true(iv.freed);
    await expectClean(t);
  });
  t.is(runs, 3);
});

test('an unref\'d timer does not keep the loop alive but fires while something else does', async (t) => {
  let unrefFired = 0;
  let heldFired = false;
  await runLoop(t, () => {
    const u = as.delay(() => unrefFired++, { time: 0.02 });
    t.is(u.unref(), u);
    as.delay(() => {
      heldFired = true;
    }, { time: 0.1 });
  });
  t.is(unrefFired, 1, 'fired while the referenced timer held the loop');
  t.true(heldFired, 'the loop lived until the referenced timer');
  await runLoop(t, () => {
    as.delay(() => unrefFired++, { time: 5 }).unref();
  });
  // Had the loop waited for the unref'd 5 s timer, it would have fired.
  t.is(unrefFired, 1);
});

test('ref() makes an unref\'d timer hold the loop again', async (t) => {
  let fired = false;
  await runLoop(t, () => {
    as.delay(() => {
      fired = true;
    }, { time: 0.05 }).unref().ref();
  });
  t.true(fired);
});

test('free is idempotent; freed reflects free, fire and loop end', async (t) => {
  await runLoop(t, async () => {
    const a = as.delay(() => t.fail('freed timer fired'), { time: 0.01 });
    t.false(a.freed);
    a.free();
    a.free();
    as.freeDelay(a);
    t.true(a.freed);
    let seenFreed: boolean | undefined;
    const b: as.Timer = as.delay(() => {
      seenFreed = b.freed;
    });
    await sleep(0.03);
    t.true(seenFreed, 'a one-shot is freed while its own callback runs');
    await expectClean(t);
  });
});

test('a one-shot no longer counts in activeTimers while its callback runs', async (t) => {
  await runLoop(t, () => {
    as.delay(() => {
      t.is(as.stats().activeTimers, 1, 'only the other timer');
    }, { time: 0.01 });
    as.delay(() => {}, { time: 0.05 });
    t.is(as.stats().activeTimers, 2);
  });
});

test('timer() is a deprecated alias of delay that warns once', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  let fired = 0;
  await runLoop(t, () => {
    as.timer(0.01, () => fired++);
    as.timer(0.01, () => fired++);
  });
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  t.is(fired, 2);
  const dep = warnings.filter((w) => w.name === 'DeprecationWarning' && /timer\(/.test(w.message));
  t.is(dep.length, 1);
});

test('bad arguments throw TypeError', async (t) => {
  await runLoop(t, () => {
    t.throws(() => as.delay(undefined as unknown as () => void), { instanceOf: TypeError });
    t.throws(() => as.delay(() => {}, { time: -1 }), { instanceOf: TypeError });
    t.throws(() => as.interval(() => {}, { time: 0 }), { instanceOf: TypeError });
  });
});

test('10 000 timers fire in deadline order, creation order among equals, and leave stats at 0', async (t) => {
  const order: Array<[number, number]> = [];
  // Groups far enough apart that creating all timers takes less than the gap.
  const groups = [150, 50, 100, 0];
  await runLoop(t, async () => {
    for (const ms of groups) {
      for (let i = 0; i < 2500; i++) as.delay(() => order.push([ms, i]), { time: ms / 1000 });
    }
    await sleep(0.2);
    await expectClean(t);
  });
  t.is(order.length, 10_000);
  const expected = [...groups].sort((a, b) => a - b).flatMap((ms) => Array.from({ length: 2500 }, (_, i) => [ms, i]));
  t.deepEqual(order, expected);
});

test('100 durations at once: each timer fires no earlier than its time, in deadline order', async (t) => {
  const fired: Array<[number, number]> = [];
  await runLoop(t, () => {
    const start = performance.now();
    // Made in a scrambled order, so the lists enter the queue out of deadline order.
    for (let k = 0; k < 100; k++) {
      const ms = 1 + ((k * 37) % 100);
      as.delay(() => fired.push([ms, performance.now() - start]), { time: ms / 1000 });
    }
  });
  t.is(fired.length, 100);
  for (const [ms, at] of fired) t.true(at >= ms, `${ms} ms timer fired at ${at.toFixed(2)} ms`);
  t.deepEqual(
    fired.map(([ms]) => ms),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
});

test('freeing the earliest timer does not hold back the others; intervals of three periods keep their counts', async (t) => {
  const runs = { a: 0, b: 0, c: 0 };
  let laterAt = 0;
  await runLoop(t, () => {
    const start = performance.now();
    const early = as.delay(() => t.fail('freed'), { time: 0.02 });
    as.delay(() => (laterAt = performance.now() - start), { time: 0.06 });
    early.free();
    const a = as.interval(() => runs.a++, { time: 0.01 });
    const b = as.interval(() => runs.b++, { time: 0.025 });
    const c = as.interval(() => runs.c++, { time: 0.04 });
    as.delay(() => [a, b, c].forEach((iv) => iv.free()), { time: 0.205 });
  });
  t.true(laterAt >= 59 && laterAt < 1000, `${laterAt} ms`);
  // Cadence kept, give or take a late turn on a busy machine.
  t.true(runs.a >= 15 && runs.a <= 20, `a ran ${runs.a} times`);
  t.true(runs.b >= 6 && runs.b <= 8, `b ran ${runs.b} times`);
  t.true(runs.c >= 4 && runs.c <= 5, `c ran ${runs.c} times`);
});
