/**
 * Test kit: run a loop under a watchdog, wait without timed assertions, and check that every
 * count of `stats()` is back to 0 (API.md §10).
 */
import type { ExecutionContext } from 'ava';
import * as as from 'evasync';

/** The counts that must return to 0 once everything is closed. */
export const COUNTS = [
  'incomingTcpConnections',
  'outgoingTcpConnections',
  'incomingHttpConnections',
  'outgoingHttpConnections',
  'openDnsQueries',
  'activeTimers',
  'fnRegistryCount',
  'dataRegistryCount',
  'servers',
  'signalHandlers',
  'idlers',
  'notifiers',
  'pollers',
  'processes',
  'fsMonitors',
] as const;

/** The driver the suite runs under (EVASYNC_DRIVER), or the platform default. */
export const DRIVER = (process.env.EVASYNC_DRIVER as 'main' | 'thread' | undefined) ?? undefined;

/**
 * Runs `startFn` in an event loop. A watchdog (a Node timer, outside our loop) ends the loop and
 * fails the test if it has not finished after `limitSec`, so no test can hang.
 */
export async function runLoop(
  t: ExecutionContext,
  startFn: () => unknown,
  opts: as.EventLoopOptions = {},
  limitSec = 30,
): Promise<void> {
  let fired = false;
  const wd = setTimeout(() => {
    fired = true;
    t.fail(`watchdog: the loop was still running after ${limitSec}s`);
    as.exitEventLoop();
  }, limitSec * 1000);
  try {
    await as.startEventLoop(startFn, { driver: DRIVER, ...opts });
  } finally {
    clearTimeout(wd);
  }
  t.false(fired);
  t.false(as.eventLoopRunning());
}

/** Resolves after `sec` seconds of the loop's own timers. */
export function sleep(sec: number): Promise<void> {
  return new Promise((res) => as.delay(res, { time: sec }));
}

/**
 * Waits (up to `limitSec`) until every count of `stats()` is 0, then asserts it. Run it inside the
 * loop at the end of a test, after closing what the test opened.
 */
export async function expectClean(t: ExecutionContext, limitSec = 3): Promise<void> {
  const end = Date.now() + limitSec * 1000;
  for (;;) {
    const s = as.stats() as unknown as Record<string, number>;
    const bad = COUNTS.filter((k) => s[k] !== 0);
    if (bad.length === 0) {
      t.pass('stats back to 0');
      return;
    }
    if (Date.now() > end) {
      t.fail(`stats not back to 0: ${bad.map((k) => `${k}=${s[k]}`).join(', ')}`);
      return;
    }
    await sleep(0.01);
  }
}

/** A promise with its resolvers, for waiting on callbacks. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
