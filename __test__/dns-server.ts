/**
 * A real DNS server for the specs: dnsmasq on 127.0.0.1 and a free port, with a config file
 * written here (records below) and its query log, so a spec can count the queries that reached
 * it. Loopback only; stopped by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** The records the config file declares. */
export const ZONE = {
  dual: { name: 'dual.test', v4: '127.0.0.2', v6: '::2' },
  v4only: { name: 'v4only.test', v4: '127.0.0.3' },
  multi: { name: 'multi.test', v4: ['127.0.0.4', '127.0.0.5'], v6: ['::4'] },
  // Not a loopback address: resolvers answer loopback reverse lookups with localhost themselves.
  ptr: { ip: '192.0.2.9', name: 'reverse.test' },
  cname: { alias: 'alias2.test', via: 'alias1.test', target: 'dual.test' },
  /** Happy Eyeballs: a dead IPv6 address (a blackholed listener on ::1) and a live IPv4 one. */
  eyeballs: { name: 'eyeballs.test', v4: '127.0.0.7', v6: '::1' },
  /** A record with a TTL of 1 s. */
  short: { name: 'short.test', v4: '127.0.0.8' },
  nxdomain: 'nothing.nx.test',
  /** Forwarded to an upstream that fails every query. */
  servfail: 'broken.dead.test',
};

/** An upstream server that answers every query with SERVFAIL. */
async function failingUpstream(): Promise<{ port: number; close(): void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (q, from) => {
    if (q.length < 12) return;
    const r = Buffer.from(q);
    r[2] = 0x81; // QR, RD
    r[3] = 0x82; // RA, RCODE 2 (SERVFAIL)
    sock.send(r, from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, close: () => sock.close() };
}

/** A free TCP port on loopback. */
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface DnsServer {
  port: number;
  /** `127.0.0.1:<port>`, for setDnsServers. */
  address: string;
  /** How many queries for `name` reached the server so far. */
  queries(name: string): number;
  stop(): Promise<void>;
}

/** Finds dnsmasq (Debian's dnsmasq-base); fails with the fix when it is missing. */
function dnsmasqPath(): string {
  for (const p of ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq', '/sbin/dnsmasq']) if (existsSync(p)) return p;
  throw new Error('dnsmasq not found: install it (apt-get install -y dnsmasq-base); .ci/run does');
}

export async function startDnsmasq(opts: { logQueries?: boolean } = {}): Promise<DnsServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evasync-dns-'));
  const log = path.join(dir, 'queries.log');
  const port = await freePort();
  const upstream = await failingUpstream();
  const z = ZONE;
  const conf = [
    `port=${port}`,
    'listen-address=127.0.0.1',
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-negcache',
    ...(opts.logQueries === false ? [] : ['log-queries', `log-facility=${log}`]),
    'pid-file=',
    ...(process.getuid?.() === 0 ? ['user=root'] : []),
    `host-record=${z.dual.name},${z.dual.v4},${z.dual.v6}`,
    `host-record=${z.v4only.name},${z.v4only.v4}`,
    `host-record=${z.multi.name},${z.multi.v4[0]}`,
    `host-record=${z.multi.name},${z.multi.v4[1]},${z.multi.v6[0]}`,
    `host-record=${z.eyeballs.name},${z.eyeballs.v4},${z.eyeballs.v6}`,
    `host-record=${z.short.name},${z.short.v4},1`,
    `ptr-record=9.2.0.192.in-addr.arpa,${z.ptr.name}`,
    `cname=${z.cname.via},${z.cname.target}`,
    `cname=${z.cname.alias},${z.cname.via}`,
    // .test is ours: unknown names are NXDOMAIN, missing types of known names NODATA.
    'local=/test/',
    'address=/nx.test/',
    // Any name under bench.test resolves: distinct names defeat every cache (benches/dns.ts).
    'address=/bench.test/127.0.0.1',
    `server=/dead.test/127.0.0.1#${upstream.port}`,
    'local-ttl=60',
  ].join('\n');
  const confFile = path.join(dir, 'dnsmasq.conf');
  writeFileSync(confFile, `${conf}\n`);
  const child: ChildProcess = spawn(dnsmasqPath(), ['-k', `--conf-file=${confFile}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // Ready when it answers a query.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`);
    if (await answers(port)) break;
    if (Date.now() > deadline) throw new Error(`dnsmasq did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    address: `127.0.0.1:${port}`,
    queries(name: string): number {
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return text.split('\n').filter((l) => / query\[[A-Z]+\] /.test(l) && l.includes(` ${name} from`)).length;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        upstream.close();
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** True when something answers a DNS query on 127.0.0.1:port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    // A query for dual.test A: id 0x1234, RD, one question.
    const q = Buffer.from('123401000001000000000000046475616c04746573740000010001', 'hex');
    const t = setTimeout(() => {
      sock.close();
      resolve(false);
    }, 200);
    sock.on('message', () => {
      clearTimeout(t);
      sock.close();
      resolve(true);
    });
    sock.on('error', () => {
      clearTimeout(t);
      sock.close();
      resolve(false);
    });
    sock.send(q, port, '127.0.0.1');
  });
}

/** A UDP socket that receives queries and never answers (for timeouts). */
export async function silentServer(): Promise<{ address: string; close(): void }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { address: `127.0.0.1:${sock.address().port}`, close: () => sock.close() };
}

/** What a scripted server sends back for one query: datagrams (or TCP messages), in order. */
export type Script = (query: Buffer, transport: 'udp' | 'tcp') => Buffer[];

/**
 * A DNS server whose every answer a spec writes: UDP and TCP on one loopback port, each query
 * handed to `script`, whatever it returns sent back as is (forged, truncated or garbage
 * datagrams included). Counts the queries per transport.
 */
export async function scriptedServer(
  script: Script,
): Promise<{ address: string; queries: { udp: number; tcp: number }; close(): void }> {
  const tcp = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('error', () => {});
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        queries.tcp++;
        for (const r of script(q, 'tcp')) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(r.length);
          c.write(Buffer.concat([len, r]));
        }
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const port = (tcp.address() as net.AddressInfo).port;
  const udp = dgram.createSocket('udp4');
  const queries = { udp: 0, tcp: 0 };
  udp.on('message', (q, from) => {
    queries.udp++;
    for (const r of script(q, 'udp')) udp.send(r, from.port, from.address);
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', () => r()));
  return {
    address: `127.0.0.1:${port}`,
    queries,
    close: () => {
      udp.close();
      tcp.close();
    },
  };
}

/** The question section of `query` (name, type, class), and where it ends. */
function question(query: Buffer): Buffer {
  let i = 12;
  while (i < query.length && query[i] !== 0) i += query[i]! + 1;
  return query.subarray(12, i + 5);
}

/** `name` in DNS wire form. */
function wireName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/**
 * A response to `query`: its id and question unless told otherwise, one A record per address
 * (TTL 60), `rcode`, the TC bit, or the QR bit cleared (a query, not a response); `soa` adds the
 * zone's SOA to the authority section (what a negative answer is cached by, RFC 2308).
 */
export function dnsResponse(
  query: Buffer,
  opts: {
    addresses?: string[];
    id?: number;
    name?: string;
    rcode?: number;
    truncated?: boolean;
    notResponse?: boolean;
    soa?: { ttl: number; minimum: number };
  } = {},
): Buffer {
  const q = question(query);
  const qs = opts.name === undefined ? q : Buffer.concat([wireName(opts.name), q.subarray(q.length - 4)]);
  const addrs = opts.addresses ?? [];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(opts.id ?? query.readUInt16BE(0), 0);
  head[2] = (opts.notResponse ? 0 : 0x80) | 0x01 | (opts.truncated ? 0x02 : 0);
  head[3] = 0x80 | (opts.rcode ?? 0);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(addrs.length, 6);
  head.writeUInt16BE(opts.soa ? 1 : 0, 8);
  const records = addrs.map((a) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name of the question
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    a.split('.').forEach((b, i) => (rr[12 + i] = Number(b)));
    return rr;
  });
  const authority: Buffer[] = [];
  if (opts.soa) {
    const names = Buffer.concat([wireName('ns.test'), wireName('admin.test')]);
    const fixed = Buffer.alloc(20);
    [1, 3600, 600, 86400, opts.soa.minimum].forEach((v, i) => fixed.writeUInt32BE(v, i * 4));
    const rr = Buffer.alloc(10);
    rr.writeUInt16BE(6, 0); // SOA
    rr.writeUInt16BE(1, 2); // IN
    rr.writeUInt32BE(opts.soa.ttl, 4);
    rr.writeUInt16BE(names.length + fixed.length, 8);
    authority.push(wireName('test'), rr, names, fixed);
  }
  return Buffer.concat([head, qs, ...records, ...authority]);
}
