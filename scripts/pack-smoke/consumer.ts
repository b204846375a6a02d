// A consumer program in strict TypeScript, compiled against the packed package with
// skipLibCheck off (scripts/pack-check.mjs): the shipped .d.ts files must resolve and type the
// callbacks without casts (API.md §15).
import * as as from 'evasync';

class Echo implements as.Protocol {
  received: Buffer[] = [];
  dataReceived(data: Buffer): void {
    this.received.push(data);
  }
}

async function main(): Promise<void> {
  await as.startEventLoop(async () => {
    const server = as.tcpServer('127.0.0.1', 0, (socket: as.Socket, data: Buffer) => {
      as.writeSocketData(socket, data);
    }, {
      eventCb: (ev: as.ConnectionInfo | Error) => {
        if (ev instanceof as.ConnectionError) console.error(ev.errcode, ev.errmsg);
      },
    });
    // createConnection is generic in its protocol: no cast to get Echo back.
    const [transport, protocol] = await as.createConnection(() => new Echo(), '127.0.0.1', server.port);
    const echo: Echo = protocol;
    transport.write('typed');
    transport.close();
    void echo;
    const res = await as.httpClient('http://127.0.0.1:1/', { signal: AbortSignal.timeout(1000) }).catch((e: unknown) => e);
    if (res instanceof as.HttpClientResponse) {
      const text: string = await res.text();
      void text;
    }
    server.close();
  });
}

void main;
