/**
 * `npm run bench -- dns`: lookups/s against the same dnsmasq (started here on loopback), in one
 * run: evasync's resolver (hickory, on its own thread) vs Node's `dns.promises.Resolver.resolve4`
 * (c-ares), cold (a distinct name per lookup, so no cache can answer) and cached (one name
 * again and again), 50 lookups in flight. `dns.lookup` (getaddrinfo on libuv's thread pool)
 * cannot be pointed at a server on a high port, so it is measured on `localhost` (/etc/hosts).
 */
import { promises as dnsp, lookup } from 'node:dns';

import * as as from 'evasync';

import { startDnsmasq } from '../__test__/dns-server';
import { median, saveResults, table } from './common';

const COUNT = Number(process.env.DNS_BENCH_COUNT ?? 20000);
const IN_FLIGHT = 50;
const ROUNDS = 3;

/** Runs `count` lookups with IN_FLIGHT at a time; returns lookups per second. */
async function rate(count: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function main(): Promise<void> {
  const server = await startDnsmasq({ logQueries: false });
  const results: Record<string, number[]> = {};
  const add = (k: string, v: number) => (results[k] ??= []).push(v);
  const cares = new dnsp.Resolver({ timeout: 2000, tries: 1 });
  cares.setServers([server.address]);
  const getaddrinfo = (name: string) =>
    new Promise<void>((res, rej) => lookup(name, { family: 4 }, (e) => (e ? rej(e) : res())));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const tag = `${round}-${Date.now()}`;
      await as.startEventLoop(async () => {
        as.setDnsServers([server.address], { timeout: 2, attempts: 1 });
        add('evasync cold', await rate(COUNT, (i) => as.dnsLookup(`e${i}-${tag}.bench.test`, { family: 4 })));
        await as.dnsLookup('cached.bench.test', { family: 4 });
        add('evasync cached', await rate(COUNT, () => as.dnsLookup('cached.bench.test', { family: 4 })));
      });
      add('c-ares resolve4 cold', await rate(COUNT, (i) => cares.resolve4(`c${i}-${tag}.bench.test`)));
      add('c-ares resolve4 same name', await rate(COUNT, () => cares.resolve4('cached.bench.test')));
      add('getaddrinfo localhost', await rate(Math.min(COUNT, 5000), () => getaddrinfo('localhost')));
      await as.startEventLoop(async () => {
        as.setDnsServers([server.address]);
        add('evasync localhost (hosts)', await rate(Math.min(COUNT, 5000), () => as.dnsLookup('localhost', { family: 4 })));
      });
    }
  } finally {
    await server.stop();
  }
  const med = (k: string) => median(results[k]!);
  const rows = Object.keys(results).map((k) => ({ lookup: k, 'per s': Math.round(med(k)) }));
  table(rows);
  const ratios = {
    coldVsResolve4: med('evasync cold') / med('c-ares resolve4 cold'),
    cachedVsResolve4: med('evasync cached') / med('c-ares resolve4 same name'),
    hostsVsGetaddrinfo: med('evasync localhost (hosts)') / med('getaddrinfo localhost'),
  };
  console.log(
    `evasync vs resolve4: cold ${ratios.coldVsResolve4.toFixed(2)}x (goal >= 1.0), cached ${ratios.cachedVsResolve4.toFixed(1)}x (goal >= 10); ` +
      `/etc/hosts vs getaddrinfo ${ratios.hostsVsGetaddrinfo.toFixed(1)}x`,
  );
  console.log(`results: ${saveResults('dns', { count: COUNT, inFlight: IN_FLIGHT, rounds: results, ratios })}`);
}
