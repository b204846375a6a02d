/**
 * DNS against a real server: dnsmasq on 127.0.0.1 with records this suite writes (A, AAAA, PTR,
 * a CNAME chain, NXDOMAIN, an upstream that fails), a UDP socket that never answers, /etc/hosts,
 * the cache (counted in dnsmasq's query log), 200 concurrent lookups, and names in tcpConnect.
 */
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { silentServer, startDnsmasq, ZONE, type DnsServer } from './dns-server';
import { deferred, expectClean, runLoop } from './helpers';
import { blackholeListener, closeServer } from './tcp-peers';

let dns: DnsServer;

test.before(async () => {
  dns = await startDnsmasq();
});

test.after.always(async () => {
  await dns?.stop();
});

/** Runs `body` in a loop whose resolver asks our dnsmasq, then checks stats. */
async function withDns(t: import('ava').ExecutionContext, body: () => Promise<void>): Promise<void> {
  await runLoop(t, async () => {
    as.setDnsServers([dns.address], { timeout: 2, attempts: 1 });
    await body();
    await expectClean(t);
  });
}

test('A, AAAA and family 0 order (IPv4 first, then IPv6)', async (t) => {
  await withDns(t, async () => {
    t.deepEqual(await as.dnsLookup(ZONE.dual.name, { family: 4 }), { address: ZONE.dual.v4, family: 4 });
    t.deepEqual(await as.dnsLookup(ZONE.dual.name, { family: 6 }), { address: ZONE.dual.v6, family: 6 });
    t.deepEqual(await as.dnsLookup(ZONE.dual.name), { address: ZONE.dual.v4, family: 4 });
    t.deepEqual(await as.dnsLookupAll(ZONE.dual.name), [
      { address: ZONE.dual.v4, family: 4 },
      { address: ZONE.dual.v6, family: 6 },
    ]);
  });
});

test('dnsLookupAll returns every address, IPv4 ones first', async (t) => {
  await withDns(t, async () => {
    const all = await as.dnsLookupAll(ZONE.multi.name);
    t.deepEqual(
      all.map((a) => a.address).sort(),
      [...ZONE.multi.v4, ...ZONE.multi.v6].sort(),
    );
    t.deepEqual(
      all.map((a) => a.family),
      [4, 4, 6],
    );
    t.deepEqual(await as.dnsLookupAll(ZONE.multi.name, { family: 6 }), [{ address: ZONE.multi.v6[0]!, family: 6 }]);
  });
});

test('callback form: resolveCb(address, family), never synchronously', async (t) => {
  await withDns(t, async () => {
    const got = deferred<[string, number]>();
    let returned = false;
    as.dnsLookup(ZONE.v4only.name, (address, family) => {
      t.true(returned);
      got.resolve([address, family]);
    });
    returned = true;
    t.deepEqual(await got.promise, [ZONE.v4only.v4, 4]);
    const lit = deferred<[string, number]>();
    let litReturned = false;
    as.dnsLookup('::1', (address, family) => {
      t.true(litReturned, 'an IP literal resolves asynchronously too');
      lit.resolve([address, family]);
    });
    litReturned = true;
    t.deepEqual(await lit.promise, ['::1', 6]);
  });
});

test('reverse lookup (PTR)', async (t) => {
  await withDns(t, async () => {
    t.is(await as.reverseDnsLookup(ZONE.ptr.ip), ZONE.ptr.name);
    const got = deferred<string>();
    as.reverseDnsLookup(ZONE.ptr.ip, (name) => got.resolve(name));
    t.is(await got.promise, ZONE.ptr.name);
    // The Promise form rejects bad arguments; the callback form throws them.
    await t.throwsAsync(as.reverseDnsLookup('not-an-ip'), { instanceOf: TypeError });
    t.throws(() => as.reverseDnsLookup('not-an-ip', () => {}), { instanceOf: TypeError });
  });
});

test('a CNAME chain is followed to the addresses', async (t) => {
  await withDns(t, async () => {
    t.deepEqual(await as.dnsLookupAll(ZONE.cname.alias), [
      { address: ZONE.dual.v4, family: 4 },
      { address: ZONE.dual.v6, family: 6 },
    ]);
  });
});

test('NXDOMAIN is DnsError ENOTFOUND naming the host, delivered exactly once', async (t) => {
  await withDns(t, async () => {
    const err = await t.throwsAsync(as.dnsLookup(ZONE.nxdomain));
    t.true(err instanceof as.DnsError);
    t.is((err as as.DnsError).errcode, 'ENOTFOUND');
    t.true(err!.message.includes(ZONE.nxdomain));
    t.is((err as as.DnsError).code, 'EVASYNC_DNS_ERROR');
    let calls = 0;
    const once = deferred();
    as.dnsLookup(ZONE.nxdomain, () => t.fail('resolveCb must not run'), (e) => {
      calls++;
      t.is((e as as.DnsError).errcode, 'ENOTFOUND');
      once.resolve();
    });
    await once.promise;
    await new Promise<void>((r) => as.delay(() => r(), { time: 0.1 }));
    t.is(calls, 1);
  });
});

test('a name without an address of the asked family is ENODATA', async (t) => {
  await withDns(t, async () => {
    const err = await t.throwsAsync(as.dnsLookup(ZONE.v4only.name, { family: 6 }));
    t.is((err as as.DnsError).errcode, 'ENODATA');
  });
});

test('a failing upstream gives ESERVFAIL', async (t) => {
  await withDns(t, async () => {
    const err = await t.throwsAsync(as.dnsLookup(ZONE.servfail));
    t.is((err as as.DnsError).errcode, 'ESERVFAIL');
  });
});

test('a server that never answers gives ETIMEOUT within the configured timeout', async (t) => {
  const silent = await silentServer();
  try {
    await runLoop(t, async () => {
      as.setDnsServers([silent.address], { timeout: 0.3, attempts: 1 });
      const started = process.hrtime.bigint();
      const err = await t.throwsAsync(as.dnsLookup('anything.test'));
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      t.is((err as as.DnsError).errcode, 'ETIMEOUT');
      // One try of 0.3 s; generous bounds, this is a behaviour check, not a benchmark.
      t.true(secs >= 0.25 && secs < 3, `${secs}s`);
      await expectClean(t);
    });
  } finally {
    silent.close();
  }
});

test('localhost comes from /etc/hosts, even with custom servers', async (t) => {
  await withDns(t, async () => {
    const before = dns.queries('localhost');
    t.deepEqual(await as.dnsLookup('localhost', { family: 4 }), { address: '127.0.0.1', family: 4 });
    t.is(dns.queries('localhost'), before, 'no query reached the server');
  });
});

test('with the system configuration, localhost resolves too', async (t) => {
  await runLoop(t, async () => {
    as.setDnsServers([]);
    t.is((await as.dnsLookup('localhost', { family: 4 })).address, '127.0.0.1');
    await expectClean(t);
  });
});

test('200 concurrent lookups all resolve; openDnsQueries counts them and returns to 0', async (t) => {
  await withDns(t, async () => {
    as.dnsCacheClear();
    const names = [ZONE.dual.name, ZONE.v4only.name, ZONE.multi.name, ZONE.cname.alias];
    const all = Array.from({ length: 200 }, (_, i) => as.dnsLookup(names[i % names.length]!, { family: 4 }));
    t.is(as.stats().openDnsQueries, 200);
    const got = await Promise.all(all);
    t.is(got.length, 200);
    t.true(got.every((a) => a.family === 4 && a.address.startsWith('127.0.0.')));
    t.is(as.stats().openDnsQueries, 0);
  });
});

test('a cached answer sends no query; dnsCacheClear forgets it', async (t) => {
  await withDns(t, async () => {
    as.dnsCacheClear();
    await as.dnsLookup(ZONE.v4only.name, { family: 4 });
    const after = dns.queries(ZONE.v4only.name);
    t.true(after >= 1);
    for (let i = 0; i < 5; i++) await as.dnsLookup(ZONE.v4only.name, { family: 4 });
    t.is(dns.queries(ZONE.v4only.name), after, 'answered from the cache');
    as.dnsCacheClear();
    await as.dnsLookup(ZONE.v4only.name, { family: 4 });
    t.is(dns.queries(ZONE.v4only.name), after + 1, 'asked again after dnsCacheClear');
  });
});

test('answers are kept for their TTL and asked again after it', async (t) => {
  await withDns(t, async () => {
    as.dnsCacheClear();
    const before = dns.queries(ZONE.short.name);
    t.deepEqual(await as.dnsLookup(ZONE.short.name, { family: 4 }), { address: ZONE.short.v4, family: 4 });
    const asked = dns.queries(ZONE.short.name);
    t.is(asked, before + 1);
    await as.dnsLookup(ZONE.short.name, { family: 4 });
    t.is(dns.queries(ZONE.short.name), asked, 'within the TTL: no query');
    await new Promise<void>((r) => as.delay(() => r(), { time: 1.3 }));
    t.deepEqual(await as.dnsLookup(ZONE.short.name, { family: 4 }), { address: ZONE.short.v4, family: 4 });
    t.is(dns.queries(ZONE.short.name), asked + 1, 'after the 1 s TTL: asked again');
  });
});

test('registry counts are unchanged after lookups (cl-async leak test)', async (t) => {
  await withDns(t, async () => {
    const before = as.stats();
    await as.dnsLookup(ZONE.dual.name);
    await t.throwsAsync(as.dnsLookup(ZONE.nxdomain));
    await as.reverseDnsLookup(ZONE.ptr.ip);
    await as.dnsLookup('127.0.0.1');
    const after = as.stats();
    t.is(after.fnRegistryCount, before.fnRegistryCount);
    t.is(after.dataRegistryCount, before.dataRegistryCount);
    t.is(after.openDnsQueries, 0);
  });
});

test('setDnsServers refuses malformed servers with TypeError', async (t) => {
  await runLoop(t, async () => {
    t.throws(() => as.setDnsServers(['dns.example:53']), { instanceOf: TypeError });
    t.throws(() => as.setDnsServers(['127.0.0.1:5353'], { attempts: 0 }), { instanceOf: RangeError });
    await expectClean(t);
  });
});

test('tcpConnect by name; an unknown name fails with DnsError', async (t) => {
  const server = net.createServer((s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, ZONE.v4only.v4, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await withDns(t, async () => {
      const got = deferred<string>();
      as.tcpConnect(ZONE.v4only.name, port, (_s, data: Buffer) => got.resolve(data.toString()), {
        connectCb: (s) => t.is(s.remoteAddress, ZONE.v4only.v4),
      });
      t.is(await got.promise, 'hi');
      const failed = deferred<unknown>();
      as.tcpConnect(ZONE.nxdomain, port, null, { eventCb: (e) => failed.resolve(e) });
      const e = await failed.promise;
      t.true(e instanceof as.DnsError);
      t.is((e as as.DnsError).errcode, 'ENOTFOUND');
    });
  } finally {
    await closeServer(server);
  }
});

test('Happy Eyeballs: a name with a dead IPv6 address and a live IPv4 one connects over IPv4', async (t) => {
  // eyeballs.test is ::1 and 127.0.0.7. On ::1 the port belongs to a listener whose accept
  // queue is full: SYNs go unanswered, the IPv6 attempt hangs. The IPv4 attempt starts 250 ms
  // later and wins; without the race the IPv6 attempt would run into the 5 s connect timeout
  // and the connection would fail with ConnectionTimeout, never reading 'v4 won'.
  const bh = await blackholeListener('::1');
  const server = net.createServer((s) => s.end('v4 won'));
  await new Promise<void>((r) => server.listen(bh.port, ZONE.eyeballs.v4, () => r()));
  try {
    await withDns(t, async () => {
      const got = deferred<string>();
      as.tcpConnect(ZONE.eyeballs.name, bh.port, (_s, data: Buffer) => got.resolve(data.toString()), {
        connectTimeout: 5,
        connectCb: (s) => t.is(s.remoteAddress, ZONE.eyeballs.v4),
        eventCb: (e) => got.reject(e),
      });
      t.is(await got.promise, 'v4 won');
    });
  } finally {
    bh.child.kill();
    await closeServer(server);
  }
});

test('Happy Eyeballs: a refused IPv6 address falls back to IPv4 at once', async (t) => {
  const server = net.createServer((s) => s.end('fallback'));
  await new Promise<void>((r) => server.listen(0, ZONE.eyeballs.v4, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await withDns(t, async () => {
      const got = deferred<string>();
      as.tcpConnect(ZONE.eyeballs.name, port, (_s, data: Buffer) => got.resolve(data.toString()));
      t.is(await got.promise, 'fallback');
    });
  } finally {
    await closeServer(server);
  }
});
