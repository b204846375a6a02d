/**
 * The clients of the echo benches (`tcp-echo`, `unix-echo`): `conns` connections, each sending
 * 64 bytes and sending again on every 64 bytes echoed, for `seconds`; each returns the messages
 * echoed. Two of them: evasync in this process, and a single-threaded C epoll client that costs
 * less per message than the servers, so that on a two-core machine the figures are the server's
 * (the default; CLIENT=evasync picks the other).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import * as as from 'evasync';

import { buildC } from './common';

/** Which client the echo benches use: `c` (default) or `evasync`. */
const CLIENT = process.env.CLIENT === 'evasync' ? 'evasync' : 'c';

/** Where the echo server listens: `['tcp', port]` (127.0.0.1) or `['unix', path]`. */
export type EchoTarget = ['tcp' | 'unix', string];

/** The ping-pong against `target` with the client CLIENT picks; the messages echoed. */
export function echoClient(target: EchoTarget, conns: number, seconds: number): Promise<number> {
  if (CLIENT === 'c') return lightPingPong(target, conns, seconds);
  const [kind, where] = target;
  return pingPong(
    (cb, o) => (kind === 'tcp' ? as.tcpConnect('127.0.0.1', Number(where), cb, o) : as.pipeConnect(where, cb, o)),
    conns,
    seconds,
  );
}

export function clientLabel(): string {
  return CLIENT === 'c' ? 'the C epoll client (benches/c/pingpong.c)' : 'evasync in this process';
}

/** The C client against `target`. */
async function lightPingPong(target: EchoTarget, conns: number, seconds: number): Promise<number> {
  const { stdout } = await promisify(execFile)(buildC('pingpong'), [...target, String(conns), String(seconds)]);
  return Number(stdout.trim());
}

const MSG = Buffer.alloc(64, 0x61);

/** `connect(readCb, opts)` opens one connection (tcpConnect, pipeConnect, …). */
async function pingPong(
  connect: (readCb: as.ReadCb, opts: { data: Buffer }) => as.Socket,
  conns: number,
  seconds: number,
): Promise<number> {
  let msgs = 0;
  await as.startEventLoop(() => {
    const sockets: as.Socket[] = [];
    let stop = false;
    for (let i = 0; i < conns; i++) {
      let got = 0;
      sockets.push(
        connect((s, d) => {
          got += d.length;
          while (got >= 64) {
            got -= 64;
            msgs++;
            if (!stop) as.writeSocketData(s, MSG);
          }
        }, { data: MSG }),
      );
    }
    as.delay(() => {
      stop = true;
      for (const s of sockets) if (!s.closed) as.closeSocket(s);
    }, { time: seconds });
  });
  return msgs;
}
