/**
 * The client of the echo benches (`tcp-echo`, `unix-echo`): `conns` connections, each sending
 * 64 bytes and sending again on every 64 bytes echoed, for `seconds`; returns the messages echoed.
 */
import * as as from 'evasync';

const MSG = Buffer.alloc(64, 0x61);

/** `connect(readCb, opts)` opens one connection (tcpConnect, pipeConnect, …). */
export async function pingPong(
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
