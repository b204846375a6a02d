/**
 * Child processes (API.md §14) with real programs: /bin/sh, cat, echo, sleep.
 */
import { createHash } from 'node:crypto';

import test from 'ava';
import * as as from 'evasync';

import { deferred, expectClean, runLoop } from './helpers';
import { pattern, sha256 } from './tcp-peers';

test('exit codes and signals reach exitCb; processKill is false once it exited', async (t) => {
  await runLoop(t, async () => {
    const a = deferred<[number | null, string | null]>();
    const { process: p, input, output, errorOutput } = as.spawn('/bin/sh', ['-c', 'exit 3'], {
      exitCb: (_p, status, signal) => a.resolve([status, signal]),
    });
    t.is(input, null);
    t.is(output, null);
    t.is(errorOutput, null);
    t.true(p.pid > 0);
    t.is(as.stats().processes, 1);
    t.deepEqual(await a.promise, [3, null]);
    t.true(p.exited);
    t.is(p.exitStatus, 3);

    const b = deferred<[number | null, string | null]>();
    const { process: sleeper } = as.spawn('sleep', ['30'], { exitCb: (_p, s, sig) => b.resolve([s, sig]) });
    t.true(as.processKill(sleeper, 'SIGTERM'));
    t.deepEqual(await b.promise, [null, 'SIGTERM']);
    t.is(sleeper.termSignal, 'SIGTERM');
    t.false(as.processKill(sleeper), 'it has exited');
    t.throws(() => as.processKill(sleeper, 'SIGNOPE'), { instanceOf: TypeError });
    await expectClean(t);
  });
});

test('a spawn that fails throws Node\'s system error', async (t) => {
  await runLoop(t, async () => {
    const err = t.throws(() => as.spawn('/no/such/program', ['x']));
    const e = err as Error & { code: string; syscall: string; path: string; spawnargs: string[] };
    t.is(e.code, 'ENOENT');
    t.is(e.syscall, 'spawn /no/such/program');
    t.is(e.path, '/no/such/program');
    t.deepEqual(e.spawnargs, ['x']);
    const notInPath = t.throws(() => as.spawn('no-such-program-evasync', [], { env: { PATH: '/nonexistent' } }));
    t.is((notInPath as { code?: string }).code, 'ENOENT');
    t.throws(() => as.spawn('cat', [], { input: 'bogus' as as.StdioOpt }), { instanceOf: TypeError });
    await expectClean(t);
  });
});

test('stdin to stdout through cat: 10 MiB with sha256, stdin closed for EOF', async (t) => {
  const payload = pattern(10 * 1024 * 1024, 3);
  await runLoop(t, async () => {
    const hash = createHash('sha256');
    let got = 0;
    const done = deferred();
    const exited = deferred<number | null>();
    const { input, output } = as.spawn('cat', [], {
      input: { pipe: {} },
      output: {
        pipe: {
          readCb: (_s, d: Buffer) => {
            hash.update(d);
            got += d.length;
          },
          eventCb: (e) => {
            if (e instanceof as.ConnectionEof) done.resolve();
          },
        },
      },
      exitCb: (_p, s) => exited.resolve(s),
    });
    as.writeSocketData(input!, payload);
    as.closeSocket(input!);
    await done.promise;
    t.is(got, payload.length);
    t.is(hash.digest('hex'), sha256(payload));
    t.is(await exited.promise, 0);
    t.true(output!.closed);
    await expectClean(t);
  });
});

test('env, cwd, stderr and stream mode; the pipes outlive the exit', async (t) => {
  await runLoop(t, async () => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const ended = deferred();
    let outEnded = false;
    let errEnded = false;
    const check = () => outEnded && errEnded && ended.resolve();
    const { output } = as.spawn('/bin/sh', ['-c', 'echo "$GREETING from $(pwd)"; echo oops >&2'], {
      env: { GREETING: 'hello', PATH: process.env.PATH },
      cwd: '/tmp',
      output: { stream: true },
      errorOutput: {
        pipe: {
          readCb: (_s, d: Buffer) => err.push(d),
          eventCb: (e) => {
            if (e instanceof as.ConnectionEof) {
              errEnded = true;
              check();
            }
          },
        },
      },
    });
    output!.stream.on('data', (d: Buffer) => out.push(d));
    output!.stream.on('end', () => {
      outEnded = true;
      check();
    });
    await ended.promise;
    t.is(Buffer.concat(out).toString(), 'hello from /tmp\n');
    t.is(Buffer.concat(err).toString(), 'oops\n');
    await expectClean(t);
  });
});

test('a child keeps the loop alive until it exits', async (t) => {
  let exitedAt = 0;
  const start = Date.now();
  await runLoop(t, () => {
    as.spawn('sleep', ['0.3'], { exitCb: () => (exitedAt = Date.now()) });
  });
  t.true(exitedAt - start >= 250, `the loop waited for the child (${exitedAt - start} ms)`);
});
