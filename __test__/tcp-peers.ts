/** Real peers for the TCP specs: Node's own `net` servers and a listener that never accepts. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';

/** Connections each test server accepted, destroyed by `closeServer`. */
const accepted = new WeakMap<net.Server, Set<net.Socket>>();

function track(server: net.Server, s: net.Socket): void {
  let set = accepted.get(server);
  if (!set) accepted.set(server, (set = new Set()));
  set.add(s);
  s.on('close', () => set!.delete(s));
}

/** A Node `net` echo server on loopback. */
export async function nodeEchoServer(): Promise<{ server: net.Server; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server: net.Server = net.createServer((s) => {
    track(server, s);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port, sockets };
}

/** A Node `net` server running `onConn` for each connection. */
export async function nodeServer(onConn: (s: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  const server: net.Server = net.createServer((s) => {
    track(server, s);
    s.on('error', () => {});
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** Closes a test server, destroying the connections it still holds. */
export function closeServer(server: net.Server): Promise<void> {
  for (const s of accepted.get(server) ?? []) s.destroy();
  return new Promise((r) => server.close(() => r()));
}

/**
 * A listener that never accepts: a child Node process listens with backlog 0 and then blocks its
 * own event loop, so the kernel's accept queue fills and later SYNs go unanswered.
 */
export async function blackholeListener(host = '127.0.0.1'): Promise<{ port: number; child: ChildProcess }> {
  const script = `
    const net = require('net');
    const s = net.createServer();
    s.listen({ port: 0, host: ${JSON.stringify(host)}, backlog: 1 }, () => {
      // Block at once, inside the listen callback, so libuv never gets to accept.
      require('fs').writeSync(1, String(s.address().port) + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
    });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(Number(buf.trim()));
    });
    child.on('exit', (code) => reject(new Error(`blackhole child exited ${code}`)));
  });
  // Fill the accept queue (capacity backlog + 1 on Linux; Node turns 0 into its default) so the next SYN is dropped.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const c = net.connect(port, host);
    c.on('error', () => {});
    fillers.push(c);
  }
  await new Promise((r) => setTimeout(r, 100));
  child.on('exit', () => fillers.forEach((f) => f.destroy()));
  return { port, child };
}

/** Deterministic pseudo-random bytes. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, Math.min(i, size - 4));
  }
  return b;
}

export function sha256(chunks: Buffer[] | Buffer): string {
  const h = createHash('sha256');
  for (const c of Array.isArray(chunks) ? chunks : [chunks]) h.update(c);
  return h.digest('hex');
}
