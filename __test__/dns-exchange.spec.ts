/**
 * The lookups exchanged on the reactor's own thread (A and AAAA for ordinary names, one UDP
 * datagram each way) against servers that misbehave: forged answers before the real one, a
 * truncated answer (asked again over TCP, through hickory), a server that is not there, one that
 * never answers, REFUSED; and enough cold lookups that sockets are retired and replaced.
 */
import { readdirSync } from 'node:fs';
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { dnsResponse, scriptedServer, silentServer, startDnsmasq, type DnsServer } from './dns-server';
import { expectClean, runLoop } from './helpers';

let dns: DnsServer;

test.before(async () => {
  dns = await startDnsmasq({ logQueries: false });
});

test.after.always(async () => {
  await dns?.stop();
});

/** A loopback UDP port with nothing bound to it: queries sent there meet ICMP port unreachable. */
async function closedPort(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

const elapsed = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

test('forged answers (wrong id, wrong name, a query, garbage) are dropped; the real one is taken', async (t) => {
  const server = await scriptedServer((q) => [
    dnsResponse(q, { addresses: ['10.6.6.6'], id: q.readUInt16BE(0) ^ 0x5555 }),
    dnsResponse(q, { addresses: ['10.6.6.7'], name: 'elsewhere.test' }),
    dnsResponse(q, { addresses: ['10.6.6.8'], notResponse: true }),
    Buffer.concat([q.subarray(0, 2), Buffer.from('not a dns message')]),
    dnsResponse(q, { addresses: ['127.0.0.42'] }),
  ]);
  try {
    await runLoop(t, async () => {
      as.setDnsServers([server.address], { timeout: 2, attempts: 1 });
      t.deepEqual(await as.dnsLookup('real.test', { family: 4 }), { address: '127.0.0.42', family: 4 });
      t.deepEqual(await as.dnsLookupAll('both.test'), [{ address: '127.0.0.42', family: 4 }]);
      await expectClean(t);
    });
  } finally {
    server.close();
  }
});

test('a truncated answer is asked again over TCP', async (t) => {
  const server = await scriptedServer((q, transport) =>
    transport === 'udp' ? [dnsResponse(q, { truncated: true })] : [dnsResponse(q, { addresses: ['127.0.0.43', '127.0.0.44'] })],
  );
  try {
    await runLoop(t, async () => {
      as.setDnsServers([server.address], { timeout: 2, attempts: 1 });
      const all = await as.dnsLookupAll('large.test', { family: 4 });
      t.deepEqual(
        all.map((a) => a.address),
        ['127.0.0.43', '127.0.0.44'],
      );
      t.true(server.queries.tcp >= 1, 'asked over TCP');
      await expectClean(t);
    });
  } finally {
    server.close();
  }
});

test('a server that is not there passes the query on at once; none reachable is ECONNREFUSED', async (t) => {
  const closed = await closedPort();
  await runLoop(t, async () => {
    as.setDnsServers([closed, dns.address], { timeout: 5, attempts: 1 });
    const started = process.hrtime.bigint();
    t.is((await as.dnsLookup('next.bench.test', { family: 4 })).address, '127.0.0.1');
    t.true(elapsed(started) < 2.5, `moved on without waiting out the timeout (${elapsed(started)}s)`);
    as.setDnsServers([closed], { timeout: 5, attempts: 2 });
    const err = await t.throwsAsync(as.dnsLookup('nowhere.bench.test', { family: 4 }));
    t.is((err as as.DnsError).errcode, 'ECONNREFUSED');
    t.true(err!.message.includes('nowhere.bench.test'));
    await expectClean(t);
  });
});

test('a server that never answers: the next one is asked after the timeout', async (t) => {
  const silent = await silentServer();
  try {
    await runLoop(t, async () => {
      as.setDnsServers([silent.address, dns.address], { timeout: 0.3, attempts: 1 });
      const started = process.hrtime.bigint();
      t.deepEqual(await as.dnsLookup('second.bench.test'), { address: '127.0.0.1', family: 4 });
      const secs = elapsed(started);
      t.true(secs >= 0.25 && secs < 3, `${secs}s`);
      await expectClean(t);
    });
  } finally {
    silent.close();
  }
});

test('REFUSED from every server is ECONNREFUSED; from the first only, the second answers', async (t) => {
  const refusing = await scriptedServer((q) => [dnsResponse(q, { rcode: 5 })]);
  try {
    await runLoop(t, async () => {
      as.setDnsServers([refusing.address], { timeout: 2, attempts: 1 });
      const err = await t.throwsAsync(as.dnsLookup('refused.test', { family: 4 }));
      t.is((err as as.DnsError).errcode, 'ECONNREFUSED');
      as.setDnsServers([refusing.address, dns.address], { timeout: 2, attempts: 1 });
      t.is((await as.dnsLookup('after-refusal.bench.test', { family: 4 })).address, '127.0.0.1');
      await expectClean(t);
    });
  } finally {
    refusing.close();
  }
});

test('5 000 cold lookups, 100 in flight (sockets retired and replaced), all resolve; stats return to 0', async (t) => {
  await runLoop(t, async () => {
    as.setDnsServers([dns.address], { timeout: 2, attempts: 2 });
    const tag = `${process.pid}-${Date.now()}`;
    let next = 0;
    let ok = 0;
    const worker = async () => {
      while (next < 5000) {
        const i = next++;
        const a = await as.dnsLookup(`c${i}-${tag}.bench.test`, { family: i % 3 === 0 ? 0 : 4 });
        if (a.address === '127.0.0.1') ok++;
      }
    };
    await Promise.all(Array.from({ length: 100 }, worker));
    t.is(ok, 5000);
    t.is(as.stats().openDnsQueries, 0);
    await expectClean(t);
  });
});

test('changing servers closes the sockets of the old ones (no descriptor left behind)', async (t) => {
  const fds = () => readdirSync('/proc/self/fd').length;
  await runLoop(t, async () => {
    as.setDnsServers([dns.address], { timeout: 2, attempts: 1 });
    await as.dnsLookup(`warm-${Date.now()}.bench.test`, { family: 4 });
    const before = fds();
    for (let i = 0; i < 30; i++) {
      as.setDnsServers([dns.address], { timeout: 2, attempts: 1 });
      await as.dnsLookup(`r${i}-${Date.now()}.bench.test`, { family: 4 });
    }
    t.true(fds() - before <= 2, `${fds() - before} more descriptors after 30 changes`);
    await expectClean(t);
  });
});

test('negative answers are kept as long as their SOA says (RFC 2308), not without one; dnsCacheClear forgets them', async (t) => {
  const server = await scriptedServer((q) => {
    const name = q.subarray(13, 13 + q[12]!).toString();
    return [dnsResponse(q, { rcode: 3, soa: name === 'withsoa' ? { ttl: 300, minimum: 30 } : undefined })];
  });
  try {
    await runLoop(t, async () => {
      as.setDnsServers([server.address], { timeout: 2, attempts: 1 });
      for (const host of ['withsoa.test', 'withsoa.test', 'nosoa.test', 'nosoa.test']) {
        const err = await t.throwsAsync(as.dnsLookup(host, { family: 4 }));
        t.is((err as as.DnsError).errcode, 'ENOTFOUND');
        t.true(err!.message.includes(host));
      }
      t.is(server.queries.udp, 3, 'the NXDOMAIN with an SOA was asked once, the other twice');
      as.dnsCacheClear();
      await t.throwsAsync(as.dnsLookup('withsoa.test', { family: 4 }));
      t.is(server.queries.udp, 4, 'asked again after dnsCacheClear');
      // Both families: kept when both halves may be.
      await t.throwsAsync(as.dnsLookup('withsoa.test'));
      await t.throwsAsync(as.dnsLookup('withsoa.test'));
      t.is(server.queries.udp, 6, 'A and AAAA asked once');
      await expectClean(t);
    });
  } finally {
    server.close();
  }
});
