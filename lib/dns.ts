/**
 * DNS: lookups through the engine's resolver (hickory on its own thread), with the
 * system configuration or per-loop name servers, answers cached by TTL. IP literals resolve
 * without a query, still asynchronously.
 */
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';

import { DnsError } from './conditions';
import { seconds } from './data';
import { EventKind } from '../binding';
import { errorRecord, requireLoop, type Dispatchee, type Loop } from './loop';
import type { EventCb } from './tcp';
import { abortReason, checkSignal, whenAborted } from './abort';
import { shown } from './args';

/** One resolved address. */
export interface LookupAddress {
  address: string;
  family: 4 | 6;
}

/** Options of the lookups. */
export interface LookupOpts {
  /** 0 (any: IPv4 first, then IPv6; the default), 4 or 6. */
  family?: 0 | 4 | 6;
  /** Drops the query until its answer (the Promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Options of `setDnsServers`. */
export interface DnsServerOpts {
  /** Seconds per try (default 5). */
  timeout?: number;
  /** Tries per server (default 2). */
  attempts?: number;
}

type Settle = (err: unknown, value?: unknown) => void;

/** A query in flight: registered under its id until its answer. */
class Query implements Dispatchee {
  readonly #loop: Loop;
  readonly #id: number;
  readonly #settle: Settle;
  readonly #parse: (text: string, ttlMs: number) => unknown;
  #done = false;
  readonly #stopAbort: () => void;

  constructor(loop: Loop, id: number, parse: (text: string, ttlMs: number) => unknown, settle: Settle, signal: AbortSignal | undefined) {
    this.#loop = loop;
    this.#id = id;
    this.#parse = parse;
    this.#settle = settle;
    loop.track(id, this);
    loop.openDns++;
    // Aborted: the query is dropped here (the resolver's answer, if any, finds no one).
    this.#stopAbort = whenAborted(signal, (reason) => {
      if (this.#finish()) this.#settle(reason);
    });
  }

  #finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#stopAbort();
    this.#loop.untrack(this.#id);
    this.#loop.openDns--;
    return true;
  }

  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    if (!this.#finish()) return;
    if (kind === EventKind.DnsFailed) {
      this.#settle(errorRecord(r, i, arena) as DnsError);
    } else {
      const off = r[i + 2]!;
      // DnsAddrs records carry the TTL (ms) beside the text; DnsName records none.
      this.#settle(null, this.#parse(arena.toString('latin1', off, off + r[i + 3]!), kind === EventKind.DnsAddrs ? r[i + 4]! : 0));
    }
  }

  /** The loop ended with the query in flight. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    this.#loop.fnRegistry--;
    this.#loop.openDns--;
  }
}

/**
 * Answers kept on this side for their TTL (the engine sends it with each answer), so a cached
 * name costs no native call at all; the engine's caches stay the authority (a miss, an expiry,
 * `dnsCacheClear` and `setDnsServers` all go back to them). One map per family, keyed by the
 * host as given.
 */
type Kept = { addrs: LookupAddress[]; expires: number };
const answers = new WeakMap<Loop, [Map<string, Kept>, Map<string, Kept>, Map<string, Kept>]>();
const MAX_JS_CACHE = 10_000;

function familyMap(loop: Loop, family: 0 | 4 | 6): Map<string, Kept> {
  let m = answers.get(loop);
  if (m === undefined) answers.set(loop, (m = [new Map(), new Map(), new Map()]));
  return m[family === 0 ? 0 : family === 4 ? 1 : 2];
}

function cached(loop: Loop, host: string, family: 0 | 4 | 6): LookupAddress[] | undefined {
  const m = answers.get(loop)?.[family === 0 ? 0 : family === 4 ? 1 : 2];
  const e = m?.get(host);
  if (e === undefined) return undefined;
  if (e.expires > performance.now()) return e.addrs;
  m!.delete(host);
  return undefined;
}

/** Parses `<addr> <addr>…` and keeps the answer for its TTL. */
function addressesOf(loop: Loop, host: string, family: 0 | 4 | 6): (text: string, ttl: number) => LookupAddress[] {
  return (list, ttl) => {
    const addrs: LookupAddress[] =
      list === '' ? [] : list.split(' ').map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if (ttl > 0 && addrs.length > 0) {
      const m = familyMap(loop, family);
      if (m.size >= MAX_JS_CACHE) m.clear();
      m.set(host, { addrs, expires: performance.now() + ttl });
    }
    return addrs;
  };
}

/** Forgets the answers kept on this side. */
function forget(loop: Loop): void {
  answers.delete(loop);
}

function checkFamily(fn: string, family: unknown): 0 | 4 | 6 {
  if (family === undefined) return 0;
  if (family !== 0 && family !== 4 && family !== 6) throw new TypeError(`${fn}: family must be 0, 4 or 6, not ${shown(family)}`);
  return family;
}

function checkHost(fn: string, host: unknown): asserts host is string {
  if (typeof host !== 'string' || host === '') throw new TypeError(`${fn}: host must be a non-empty string, not ${shown(host)}`);
}

/**
 * Starts a lookup whose result is `parse(answer)`; settles through callbacks (errors to
 * `eventCb`, else `defaultEventCb`) or a Promise.
 */
function start(
  loop: Loop,
  check: () => void,
  begin: () => number | { literal: unknown },
  parse: (text: string, ttlMs: number) => unknown,
  onValue: ((v: unknown) => void) | undefined,
  eventCb: EventCb | undefined,
  signal: unknown,
  fn: string,
): Promise<unknown> | undefined {
  if (onValue === undefined) {
    // The Promise form never throws (but for a missing loop): bad arguments reject.
    return loop.operation((resolve, reject) => {
      check();
      run(loop, begin, parse, (err, value) => (err ? reject(err) : resolve(value)), checkSignal(fn, signal));
    });
  }
  check();
  const sig = checkSignal(fn, signal);
  run(loop, begin, parse, (err, value) => {
    if (err instanceof DnsError) loop.deliver(err, eventCb);
    else if (err) loop.callEventCb(eventCb ?? loop.defaultEventCb, err);
    else loop.callApp(eventCb, onValue, value);
  }, sig);
  return undefined;
}

/** Runs a lookup (or its literal answer, never synchronously), unless the signal has fired. */
function run(
  loop: Loop,
  begin: () => number | { literal: unknown },
  parse: (text: string, ttlMs: number) => unknown,
  settle: Settle,
  signal: AbortSignal | undefined,
): void {
  if (signal?.aborted) {
    const reason = abortReason(signal);
    loop.hold();
    queueMicrotask(() => {
      if (loop.running) settle(reason);
      loop.release();
    });
    return;
  }
  const r = begin();
  if (typeof r === 'number') {
    new Query(loop, r, parse, settle, signal);
  } else {
    // An IP literal or a kept answer: no query, but never synchronously.
    loop.hold();
    loop.fnRegistry++;
    queueMicrotask(() => {
      loop.fnRegistry--;
      if (loop.running) settle(null, r.literal);
      loop.release();
    });
  }
}

/** An answer kept for `key`, as a literal result (a copy: callers may not change ours). */
function keptAnswer(loop: Loop, host: string, family: 0 | 4 | 6): { literal: LookupAddress[] } | null {
  const addrs = cached(loop, host, family);
  return addrs ? { literal: addrs.map((a) => ({ ...a })) } : null;
}

/** A literal's answer for `family`, or a DnsError if it is of the other family. */
function literal(host: string, family: 0 | 4 | 6): { literal: LookupAddress[] } | null {
  // Names start with a letter far more often than not: skip the address parse for them.
  const c = host.charCodeAt(0);
  if (!((c >= 0x30 && c <= 0x39) || c === 0x3a || c === 0x5b || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return null;
  const f = isIP(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host) as 0 | 4 | 6;
  if (f === 0 || (family !== 0 && family !== f)) return null;
  return { literal: [{ address: host.replace(/^\[|\]$/g, ''), family: f }] };
}

/**
 * The first address of `host`: `resolveCb(address, family)` or, without callbacks,
 * a Promise of `{ address, family }`. Failures are `DnsError` with `errcode` ENOTFOUND, ENODATA,
 * ETIMEOUT, ESERVFAIL or ECONNREFUSED.
 * @example
 * ```ts
 * const { address, family } = await as.dnsLookup('example.com');
 * as.dnsLookup('example.com', (address, family) => console.log(address, family), (ev) => console.error(ev));
 * ```
 */
export function dnsLookup(host: string, opts?: LookupOpts): Promise<LookupAddress>;
export function dnsLookup(
  host: string,
  resolveCb: (address: string, family: 4 | 6) => void,
  eventCb?: EventCb,
  opts?: LookupOpts,
): void;
export function dnsLookup(
  host: string,
  cbOrOpts?: ((address: string, family: 4 | 6) => void) | LookupOpts,
  eventCb?: EventCb,
  opts?: LookupOpts,
): Promise<LookupAddress> | void {
  const loop = requireLoop();
  const resolveCb = typeof cbOrOpts === 'function' ? cbOrOpts : undefined;
  const o = (typeof cbOrOpts === 'function' ? opts : cbOrOpts) ?? {};
  let family: 0 | 4 | 6 = 0;
  const check = () => {
    checkHost('dnsLookup', host);
    family = checkFamily('dnsLookup', o.family);
  };
  if (o.signal === undefined) {
    // The fast path of a kept answer: no registration, just the next microtask.
    const kept = typeof host === 'string' ? cached(loop, host, (o.family ?? 0) as 0 | 4 | 6) : undefined;
    if (kept !== undefined && (o.family === undefined || o.family === 0 || o.family === 4 || o.family === 6)) {
      const v: LookupAddress = { address: kept[0]!.address, family: kept[0]!.family };
      if (resolveCb === undefined) return Promise.resolve(v);
      queueMicrotask(() => {
        if (loop.running) loop.callApp(eventCb, resolveCb, v.address, v.family);
      });
      return;
    }
  }
  const first = (v: unknown) => (v as LookupAddress[])[0];
  const p = start(
    loop,
    check,
    () => {
      const lit = literal(host, family);
      if (lit) return { literal: first(lit.literal) };
      const kept = keptAnswer(loop, host, family);
      return kept ? { literal: first(kept.literal) } : loop.native.dnsLookup(host, family);
    },
    (text, ttl) => first(addressesOf(loop, host, family)(text, ttl)),
    resolveCb && ((v) => resolveCb((v as LookupAddress).address, (v as LookupAddress).family)),
    eventCb,
    o.signal,
    'dnsLookup',
  );
  return p as Promise<LookupAddress> | undefined;
}

/**
 * Every address of `host`: IPv4 ones first, then IPv6.
 * @example
 * ```ts
 * for (const { address, family } of await as.dnsLookupAll('example.com')) console.log(family, address);
 * ```
 */
export function dnsLookupAll(host: string, opts: LookupOpts = {}): Promise<LookupAddress[]> {
  const loop = requireLoop();
  let family: 0 | 4 | 6 = 0;
  return start(
    loop,
    () => {
      checkHost('dnsLookupAll', host);
      family = checkFamily('dnsLookupAll', opts?.family);
    },
    () => literal(host, family) ?? keptAnswer(loop, host, family) ?? loop.native.dnsLookup(host, family),
    (text, ttl) => addressesOf(loop, host, family)(text, ttl),
    undefined,
    undefined,
    opts?.signal,
    'dnsLookupAll',
  ) as Promise<LookupAddress[]>;
}

/** Options of `reverseDnsLookup`. */
export interface ReverseLookupOpts {
  /** Drops the query until its answer. */
  signal?: AbortSignal;
}

/**
 * The host name of `ip` (PTR): `resolveCb(name)` or a Promise of it.
 * @example
 * ```ts
 * console.log(await as.reverseDnsLookup('127.0.0.1')); // 'localhost'
 * ```
 */
export function reverseDnsLookup(ip: string, opts?: ReverseLookupOpts): Promise<string>;
export function reverseDnsLookup(ip: string, resolveCb: (name: string) => void, eventCb?: EventCb, opts?: ReverseLookupOpts): void;
export function reverseDnsLookup(
  ip: string,
  cbOrOpts?: ((name: string) => void) | ReverseLookupOpts,
  eventCb?: EventCb,
  opts?: ReverseLookupOpts,
): Promise<string> | void {
  const loop = requireLoop();
  const resolveCb = typeof cbOrOpts === 'function' ? cbOrOpts : undefined;
  const o = (typeof cbOrOpts === 'function' ? opts : cbOrOpts) ?? {};
  return start(
    loop,
    () => {
      if (typeof ip !== 'string' || isIP(ip) === 0) throw new TypeError(`reverseDnsLookup: ip must be an IP address, not ${shown(ip)}`);
    },
    () => loop.native.dnsReverse(ip),
    (text) => text,
    resolveCb as ((v: unknown) => void) | undefined,
    eventCb,
    o.signal,
    'reverseDnsLookup',
  ) as Promise<string> | undefined;
}

/**
 * Replaces the system's name servers for this loop (`'127.0.0.1:5353'`, `'[::1]:53'`, or a bare
 * IP for port 53); `/etc/hosts` is still read first, search domains are not applied. `[]` goes
 * back to the system's configuration.
 * @example
 * ```ts
 * as.setDnsServers(['127.0.0.1:5353', '[::1]:53'], { timeout: 2, attempts: 2 });
 * ```
 */
export function setDnsServers(servers: string[], opts: DnsServerOpts = {}): void {
  const loop = requireLoop();
  if (!Array.isArray(servers) || servers.some((s) => typeof s !== 'string')) {
    throw new TypeError('setDnsServers: servers must be an array of strings');
  }
  const timeout = seconds('timeout', opts.timeout) ?? 5;
  const attempts = opts.attempts ?? 2;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError('setDnsServers: attempts must be a positive integer');
  try {
    loop.native.dnsSetServers(servers, timeout, attempts);
  } catch (err) {
    throw new TypeError(`setDnsServers: ${(err as Error).message}`);
  }
  forget(loop);
}

/**
 * Drops every cached answer (positive and negative).
 * @example
 * ```ts
 * as.dnsCacheClear(); // the next lookups ask the servers again
 * ```
 */
export function dnsCacheClear(): void {
  const loop = requireLoop();
  forget(loop);
  loop.native.dnsClearCache();
}
