/**
 * Signals, idlers, notifiers, pollers (API.md §13) and file watching (§14).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop, sleep } from './helpers';

test('signalHandler: SIGUSR2 to ourselves, replaced handlers, other listeners untouched, freed at exit', async (t) => {
  let other = 0;
  const otherListener = () => other++;
  process.on('SIGUSR2', otherListener);
  const seen: string[] = [];
  await runLoop(t, async () => {
    const first = deferred();
    as.signalHandler('SIGUSR2', () => {
      seen.push('first');
      first.resolve();
    });
    t.is(as.stats().signalHandlers, 1);
    process.kill(process.pid, 'SIGUSR2');
    await first.promise;
    const second = deferred<number>();
    as.signalHandler(as.SIGUSR2, (signo) => {
      seen.push('second');
      second.resolve(signo);
    });
    t.is(as.stats().signalHandlers, 1, 'replaced, not added');
    process.kill(process.pid, 'SIGUSR2');
    t.is(await second.promise, as.SIGUSR2);
    t.throws(() => as.signalHandler('SIGKILL', () => {}), { instanceOf: TypeError });
    t.throws(() => as.signalHandler('SIGNOPE', () => {}), { instanceOf: TypeError });
    as.freeSignalHandler('SIGUSR2');
    as.freeSignalHandler('SIGUSR2');
    as.signalHandler('SIGUSR2', () => {});
    // Left set: the loop's exit frees it (and the loop must be ended to exit at all).
    as.delay(() => as.exitEventLoop(), { time: 0.05 });
  });
  t.deepEqual(seen, ['first', 'second']);
  t.is(other, 2);
  t.is(process.listenerCount('SIGUSR2'), 1, 'only the other listener is left');
  process.removeListener('SIGUSR2', otherListener);
});

test('signalHandler in a worker throws ERR_WORKER_UNSUPPORTED_OPERATION', async (t) => {
  const code = await new Promise<string>((resolve, reject) => {
    const w = new Worker(
      `const as = require('evasync');
       as.startEventLoop(() => {
         try { as.signalHandler('SIGUSR2', () => {}); require('worker_threads').parentPort.postMessage('no error'); }
         catch (e) { require('worker_threads').parentPort.postMessage(e.code); }
       });`,
      { eval: true },
    );
    w.once('message', resolve);
    w.once('error', reject);
  });
  t.is(code, 'ERR_WORKER_UNSUPPORTED_OPERATION');
});

test('idle: once per turn while active, freed by free()', async (t) => {
  await runLoop(t, async () => {
    let turns = 0;
    const done = deferred();
    const idler = as.idle(() => {
      turns++;
      if (turns === 50) {
        idler.free();
        done.resolve();
      }
    });
    t.is(as.stats().idlers, 1);
    await done.promise;
    t.true(idler.freed);
    as.freeIdler(idler);
    await sleep(0.02);
    t.is(turns, 50);
    await expectClean(t);
  });
});

test('notifiers: triggered 100 000 times from a worker, coalesced, single-shot and repeating', async (t) => {
  await runLoop(t, async () => {
    let calls = 0;
    const n = as.makeNotifier(() => calls++, { singleShot: false });
    const worker = new Worker(
      `const { parentPort, workerData } = require('worker_threads');
       const as = require('evasync');
       let ok = 0;
       for (let i = 0; i < 100000; i++) if (as.triggerNotifier(workerData)) ok++;
       parentPort.postMessage(ok);`,
      { eval: true, workerData: n.token },
    );
    const ok = await new Promise<number>((r) => worker.once('message', r));
    t.is(ok, 100000);
    await sleep(0.05);
    t.true(calls >= 1 && calls <= 100000, `${calls} calls`);
    const before = calls;
    t.true(n.trigger());
    t.true(n.trigger());
    await sleep(0.02);
    t.is(calls, before + 1, 'two triggers before the callback ran: one call');
    n.free();
    n.free();
    t.false(n.trigger());
    t.false(as.triggerNotifier(n.token));

    const once = deferred();
    const single = as.makeNotifier(() => once.resolve());
    t.true(single.trigger());
    await once.promise;
    t.true(single.freed, 'single-shot frees itself');
    t.false(single.trigger());

    const unrefd = as.makeNotifier(() => {}).unref();
    t.is(unrefd.ref(), unrefd);
    unrefd.unref();
    unrefd.free();
    await expectClean(t);
  });
});

test('poll: level-triggered on a socket, EEXIST for an fd polled twice, EPERM for a regular file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'evasync-poll-'));
  // pauseOnConnect: Node never reads the accepted socket, so its bytes stay in the kernel.
  const accepted = deferred<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true }, (s) => accepted.resolve(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const peer = await accepted.promise;
  client.write('x');
  const fd = (peer as unknown as { _handle: { fd: number } })._handle.fd;
  await runLoop(t, async () => {
    let reports = 0;
    const three = deferred();
    const p = as.poll(fd, (events) => {
      if (events.includes('readable')) reports++;
      if (reports === 3) three.resolve();
    }, { pollFor: ['readable'] });
    await three.promise;
    t.is(as.stats().pollers, 1);
    const twice = deferred<unknown>();
    as.poll(fd, () => {}, { pollFor: ['readable'], eventCb: (e) => twice.resolve(e) });
    const e1 = (await twice.promise) as as.ConnectionError;
    t.is(e1.errcode, 'EEXIST');
    p.free();
    as.freePoller(p);
    const file = join(dir, 'regular');
    writeFileSync(file, 'x');
    const { openSync, closeSync } = await import('node:fs');
    const ffd = openSync(file, 'r');
    const perm = deferred<unknown>();
    as.poll(ffd, () => {}, { eventCb: (e) => perm.resolve(e) });
    const e2 = (await perm.promise) as as.ConnectionError;
    t.is(e2.errcode, 'EPERM');
    closeSync(ffd);
    t.throws(() => as.poll(fd, () => {}, { pollFor: [] }), { instanceOf: TypeError });
    t.throws(() => as.poll(fd, () => {}, { pollFor: ['sideways' as 'readable'] }), { instanceOf: TypeError });
    await expectClean(t);
  });
  client.destroy();
  peer.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

test('fsWatch: changes and renames in a directory; a missing path throws ENOENT', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'evasync-watch-'));
  await runLoop(t, async () => {
    const seen = deferred<[string | null, boolean, boolean]>();
    const m = as.fsWatch(dir, (mon, filename, renamed, changed) => {
      t.is(mon, m);
      seen.resolve([filename, renamed, changed]);
    });
    t.is(as.stats().fsMonitors, 1);
    writeFileSync(join(dir, 'new-file'), 'x');
    const [name, renamed, changed] = await seen.promise;
    t.is(name, 'new-file');
    t.true(renamed || changed);
    as.fsMonitorClose(m);
    m.close();
    t.true(m.closed);
    const err = t.throws(() => as.fsWatch(join(dir, 'missing'), () => {}));
    t.is((err as { code?: string }).code, 'ENOENT');
    await expectClean(t);
  });
  rmSync(dir, { recursive: true, force: true });
});
