/**
 * The event loop: one per JS thread. Owns the native loop, the registries
 * (id → timer, socket, server), the count of what keeps the loop alive, the dispatcher that turns
 * event batches into callbacks, and the application-error policy.
 */
import { getSystemErrorName } from 'node:util';

import {
  AddressInUse,
  ConnectionError,
  ConnectionInfo,
  ConnectionRefused,
  ConnectionReset,
  ConnectionTimeout,
  DnsError,
  EventLoopError,
  HttpError,
  SocketClosed,
  TlsError,
} from './conditions';
import { ErrorKind, EventKind, Layout, OpCode } from '../binding';
import { native, type NativeLoop } from './native';
import { tlsCodeName, tlsInfoOf, type TlsInfo } from './tls-info';
import { Wire } from './wire';
import { shown } from './args';

/** Options of `startEventLoop`. */
export interface EventLoopOptions {
  /** Route exceptions thrown by callbacks to the operation's `eventCb` (else `defaultEventCb`). */
  catchAppErrors?: boolean;
  /** Receives conditions of operations without an `eventCb`, and caught app errors. */
  defaultEventCb?: (ev: unknown) => void;
  /** Called when the reactor fails fatally; the loop then exits and its promise rejects. */
  fatalCb?: (err: Error) => void;
  /** Receives the core's log lines; `level` uses syslog numbers (3 error … 7 debug). */
  loggerCb?: (level: number, msg: string) => void;
  /** Who runs the reactor: `'thread'` (its own thread) or `'main'` (Node's thread). */
  driver?: 'main' | 'thread';
}

/**
 * Per-object handler of engine events; timers, sockets, servers, queries and requests implement
 * it. `r[i]` is the record's kind, `r[i + 1]` the object's id, the rest as the kind says
 * (crates/evasync/src/wire/events.rs); the arena is reused after the call returns.
 */
export interface Dispatchee {
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void;
}

/** A server: accepted connections are announced to it. */
export interface Acceptor {
  accepted(id: number, r: Uint32Array, i: number, arena: Buffer): void;
  /** TLS servers with an `sniCallback`: the handshake of connection `id` asks for `name`. */
  sniRequest?(id: number, name: string): void;
}

/** What `stats()` returns. */
export interface Stats {
  incomingTcpConnections: number;
  outgoingTcpConnections: number;
  incomingHttpConnections: number;
  outgoingHttpConnections: number;
  openDnsQueries: number;
  activeTimers: number;
  /** Signal handlers of this loop. */
  signalHandlers: number;
  /** Active idlers. */
  idlers: number;
  /** Notifiers not freed. */
  notifiers: number;
  /** Pollers not freed. */
  pollers: number;
  /** Child processes that have not exited. */
  processes: number;
  /** File monitors not closed. */
  fsMonitors: number;
  fnRegistryCount: number;
  dataRegistryCount: number;
  servers: number;
  bytesRead: number;
  bytesWritten: number;
  eventBatches: number;
  eventsDelivered: number;
  /** Native calls that handed operations (writes, responses, timers…) to the engine outside a
   * delivery, plus one per write of a Buffer of 16 KiB or more under the `main` driver (lent to
   * the engine by a call of its own); other operations made during a delivery go with its
   * return, at no call. */
  opCalls: number;
  driver?: 'main' | 'thread';
}

const NO_LOOP = 'no event loop is running: call startEventLoop first';

/** Timer ids: slab index bits and generation bits (see `Loop.allocTimer`). */
const TIMER_INDEX_BITS = 22;
const TIMER_INDEX_MASK = (1 << TIMER_INDEX_BITS) - 1;
const TIMER_GEN_MASK = (1 << (32 - TIMER_INDEX_BITS)) - 1;

/** The default `defaultEventCb`: ignores informational conditions, re-throws everything else. */
function defaultDefaultEventCb(ev: unknown): void {
  if (ev instanceof ConnectionInfo && !(ev instanceof ConnectionError)) return;
  throw ev;
}

/** A list of the timers of one duration (lib/timers.ts), as the loop sees it: abandoned when
 * the loop ends. */
export interface TimerGroup {
  abandon(): void;
}

/** One running event loop. */
export class Loop {
  readonly native: NativeLoop;
  readonly catchAppErrors: boolean;
  readonly defaultEventCb: (ev: unknown) => void;
  readonly fatalCb?: (err: Error) => void;
  readonly loggerCb?: (level: number, msg: string) => void;
  readonly driver: 'main' | 'thread';
  running = true;
  /** id → object receiving that id's events (sockets, servers). */
  readonly objects = new Map<number, Dispatchee>();
  /** Pending timers by duration in seconds (see lib/timers.ts). */
  readonly timerLists = new Map<number, TimerGroup>();
  /** Engine timers by slab index (id & TIMER_INDEX_MASK); see `allocTimer`. */
  readonly timerSlots: Array<Dispatchee | undefined> = [undefined];
  /** Generation per slab index, bumped when a slot is freed. */
  private timerGens = new Uint16Array(1024);
  /** Free slab indices as a FIFO ring (oldest first keeps a reused id far from its last use). */
  private timerFree = new Uint32Array(1024);
  private timerFreeHead = 0;
  private timerFreeLen = 0;
  /** Things keeping the loop alive. */
  private alive = 0;
  private finishCheckQueued = false;
  private readonly exitCallbacks: Array<() => void> = [];
  private resolve!: () => void;
  private reject!: (err: unknown) => void;
  readonly promise: Promise<void>;
  /** Counters behind `stats()`. */
  incomingTcp = 0;
  outgoingTcp = 0;
  incomingHttp = 0;
  openDns = 0;
  activeTimers = 0;
  servers = 0;
  signalHandlers = 0;
  idlers = 0;
  notifiers = 0;
  pollers = 0;
  processes = 0;
  fsMonitors = 0;
  fnRegistry = 0;
  dataRegistry = 0;
  eventBatches = 0;
  eventsDelivered = 0;
  /** The memory shared with the engine: events in, operations out. */
  readonly wire: Wire;
  /** Optional observer of each batch size (the delivery benchmark). */
  batchObserver?: (events: number) => void;
  /** Handler of synthetic tick events (the delivery benchmark). */
  tickHandler?: (seq: number) => void;
  /** What the handshakes of connections not announced yet established (a TLS connection is
   * announced right after its `TlsEstablished` event). */
  readonly pendingTls = new Map<number, TlsInfo>();
  /** `rejectUnauthorized: false` was reported through `loggerCb` already. */
  warnedUnverified = false;
  /** Rejecters of this loop's Promises still pending: they reject with `EventLoopError` when the
   * loop ends, so no `await` on the library can hang after it. */
  private readonly pendingRejects = new Set<(err: unknown) => void>();

  constructor(opts: EventLoopOptions) {
    this.catchAppErrors = opts.catchAppErrors ?? false;
    this.defaultEventCb = opts.defaultEventCb ?? defaultDefaultEventCb;
    this.fatalCb = opts.fatalCb;
    this.loggerCb = opts.loggerCb;
    this.promise = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.driver = opts.driver ?? (process.platform === 'win32' ? 'thread' : 'main');
    this.native = new native.NativeLoop((n, len, events, arena) => this.onEvents(n, len, events, arena), this.driver);
    // Under the main driver the engine applies writes synchronously and leaves each one's
    // result (bytes in the kernel) in the shared memory.
    this.wire = new Wire(this.native, this.driver === 'main');
  }

  /**
   * A timer id: slab index (low 22 bits) and generation (high 10 bits). Timer ids live in their
   * own space (the engine keeps timers apart from sockets), so this side allocates them without
   * asking the reactor, and an event for a freed timer can never reach the slot's next owner.
   */
  allocTimer(t: Dispatchee): number {
    let index: number;
    if (this.timerFreeLen > 0) {
      index = this.timerFree[this.timerFreeHead]!;
      this.timerFreeHead = (this.timerFreeHead + 1) & (this.timerFree.length - 1);
      this.timerFreeLen--;
      this.timerSlots[index] = t;
    } else {
      index = this.timerSlots.length;
      if (index > TIMER_INDEX_MASK) throw new RangeError('evasync: more than 4 194 303 timers pending at once');
      if (index === this.timerGens.length) {
        const g = new Uint16Array(index * 2);
        g.set(this.timerGens);
        this.timerGens = g;
      }
      this.timerSlots.push(t);
    }
    this.dataRegistry++;
    return ((this.timerGens[index]! << TIMER_INDEX_BITS) | index) >>> 0;
  }

  /** Frees a timer's slot. */
  freeTimer(id: number): void {
    const index = id & TIMER_INDEX_MASK;
    this.timerSlots[index] = undefined;
    this.timerGens[index] = (this.timerGens[index]! + 1) & TIMER_GEN_MASK;
    let ring = this.timerFree;
    if (this.timerFreeLen === ring.length) {
      // Grow the ring (a power of two), unrolling it so the oldest entry comes first.
      const bigger = new Uint32Array(ring.length * 2);
      bigger.set(ring.subarray(this.timerFreeHead));
      bigger.set(ring.subarray(0, this.timerFreeHead), ring.length - this.timerFreeHead);
      this.timerFree = ring = bigger;
      this.timerFreeHead = 0;
    }
    ring[(this.timerFreeHead + this.timerFreeLen) & (ring.length - 1)] = index;
    this.timerFreeLen++;
    this.dataRegistry--;
  }

  /** Something now keeps the loop alive. */
  hold(): void {
    this.alive++;
  }

  /** Something no longer keeps the loop alive; the loop may end once the current work returns. */
  release(): void {
    this.alive--;
    if (this.alive <= 0 && !this.finishCheckQueued && this.running) {
      this.finishCheckQueued = true;
      // Not synchronously: the callback running now may create more work.
      setImmediate(() => {
        this.finishCheckQueued = false;
        if (this.alive <= 0 && this.running) this.finish();
      });
    }
  }

  addExitCallback(fn: () => void): void {
    this.exitCallbacks.push(fn);
  }

  /** Registers an object for its id's events. */
  register(id: number, obj: Dispatchee): void {
    this.objects.set(id, obj);
    this.dataRegistry++;
  }

  unregister(id: number): void {
    if (this.objects.delete(id)) this.dataRegistry--;
  }

  /**
   * Registers `obj` for its id's events, counts its callbacks, and keeps the loop alive until
   * `untrack`: every socket, server, query and request in flight.
   */
  track(id: number, obj: Dispatchee): void {
    this.register(id, obj);
    this.fnRegistry++;
    this.hold();
  }

  /** Undoes `track`. */
  untrack(id: number): void {
    this.unregister(id);
    this.fnRegistry--;
    this.release();
  }

  /**
   * The engine's delivery: `n` record words and `arenaLen` bytes of events are in the shared
   * memory (in new buffers when the engine grew them). Every callback runs from here; the
   * operations they write are applied when this returns.
   */
  private onEvents(n: number, arenaLen: number, events: ArrayBuffer | undefined, arena: ArrayBuffer | undefined): void {
    if (!this.running) return;
    const wire = this.wire;
    wire.delivering(events, arena);
    const r = wire.records;
    const bytes = wire.arena;
    void arenaLen;
    this.eventBatches++;
    this.eventsDelivered += n / Layout.RecordWords;
    this.batchObserver?.(n / Layout.RecordWords);
    const objects = this.objects;
    for (let i = 0; i < n && this.running; i += Layout.RecordWords) {
      const kind = r[i]!;
      const id = r[i + 1]!;
      switch (kind) {
        case EventKind.Timer:
          this.timerSlots[id & TIMER_INDEX_MASK]?.onEvent(kind, r, i, bytes);
          break;
        case EventKind.Accepted: {
          const server = objects.get(r[i + 2]!) as Partial<Acceptor> | undefined;
          if (server?.accepted) server.accepted(id, r, i, bytes);
          // The server was closed in the meantime: nobody wants this connection.
          else wire.op(OpCode.Close, id, 1);
          break;
        }
        case EventKind.TlsEstablished: {
          const info = tlsInfoOf(r, i, bytes);
          const obj = objects.get(id) as Partial<{ tlsEstablished(info: TlsInfo): void }> | undefined;
          if (obj?.tlsEstablished) obj.tlsEstablished(info);
          else this.pendingTls.set(id, info);
          break;
        }
        case EventKind.TlsSni: {
          const server = objects.get(r[i + 4]!) as Partial<Acceptor> | undefined;
          const name = bytes.toString('latin1', r[i + 2]!, r[i + 2]! + r[i + 3]!);
          if (server?.sniRequest) server.sniRequest(id, name);
          else this.native.tlsConfigure(id, undefined, undefined, 'the server is closed');
          break;
        }
        case EventKind.Released:
          if (this.pendingTls.size > 0) this.pendingTls.delete(id);
          objects.get(id)?.onEvent(kind, r, i, bytes);
          break;
        case EventKind.Tick:
          this.tickHandler?.(id);
          break;
        case EventKind.Fatal:
          this.fatal(new Error(bytes.toString('utf8', r[i + 2]!, r[i + 2]! + r[i + 3]!)));
          return;
        default:
          objects.get(id)?.onEvent(kind, r, i, bytes);
      }
    }
  }

  /**
   * A Promise of an operation of this loop: if the loop ends before it settles, it rejects with
   * `EventLoopError`. An exception in `executor` rejects it (a Promise form never throws).
   */
  operation<T>(executor: (resolve: (v: T) => void, reject: (err: unknown) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const rejecter = (err: unknown) => reject(err);
      this.pendingRejects.add(rejecter);
      executor(
        (v) => {
          this.pendingRejects.delete(rejecter);
          resolve(v);
        },
        (err) => {
          this.pendingRejects.delete(rejecter);
          reject(err);
        },
      );
    });
  }

  /** What the handshake of connection `id` established (taken once, when it is announced). */
  takeTls(id: number): TlsInfo | null {
    if (this.pendingTls.size === 0) return null;
    const info = this.pendingTls.get(id) ?? null;
    this.pendingTls.delete(id);
    return info;
  }

  /** Has the engine apply the operations written so far (before a direct native call whose
   * effects must follow them). */
  flush(): void {
    if (this.running) this.wire.flush();
  }

  /**
   * Runs a user callback under the `catchAppErrors` policy: an exception goes to `eventCb` (or
   * `defaultEventCb`) when `catchAppErrors` is on, else it ends the loop.
   */
  callApp(eventCb: ((ev: any) => void) | undefined, fn: (...args: any[]) => unknown, ...args: unknown[]): void {
    try {
      fn(...args);
    } catch (err) {
      this.appError(err, eventCb);
    }
  }

  /** An exception escaped application code. */
  appError(err: unknown, eventCb?: (ev: any) => void): void {
    if (!this.running) return;
    if (!this.catchAppErrors) {
      this.finish(err);
      return;
    }
    this.callEventCb(eventCb ?? this.defaultEventCb, err);
  }

  /** Calls an event callback; whatever it throws always ends the loop. */
  callEventCb(cb: (ev: any) => void, ev: unknown): void {
    try {
      cb(ev);
    } catch (err) {
      this.finish(err);
    }
  }

  /**
   * Delivers a condition: to `eventCb` when given; else errors go to `defaultEventCb` and
   * informational ones are dropped.
   */
  deliver(ev: ConnectionInfo, eventCb: ((ev: any) => void) | undefined): void {
    if (!this.running) return;
    if (eventCb) this.callEventCb(eventCb, ev);
    else if (ev instanceof ConnectionError) this.callEventCb(this.defaultEventCb, ev);
  }

  private fatal(err: Error): void {
    if (this.fatalCb) {
      try {
        this.fatalCb(err);
      } catch {
        // The loop is ending with `err` anyway.
      }
    }
    this.finish(err);
  }

  log(level: number, msg: string): void {
    if (this.loggerCb) {
      try {
        this.loggerCb(level, msg);
      } catch (err) {
        this.finish(err);
      }
    }
  }

  /** Ends the loop: stops the reactor, closes every object without callbacks, runs the exit
   * callbacks, settles the promise. */
  finish(err?: unknown): void {
    if (!this.running) return;
    this.running = false;
    if (current === this) current = null;
    this.native.exit();
    for (const obj of this.objects.values()) {
      (obj as Partial<{ abandon(): void }>).abandon?.();
    }
    this.objects.clear();
    for (const list of this.timerLists.values()) list.abandon();
    this.timerLists.clear();
    for (const t of this.timerSlots) (t as Partial<{ abandon(): void }> | undefined)?.abandon?.();
    this.timerSlots.length = 1;
    let exitErr: unknown = undefined;
    for (const fn of this.exitCallbacks) {
      try {
        fn();
      } catch (e) {
        exitErr ??= e;
      }
    }
    if (this.pendingRejects.size > 0) {
      const ended = new EventLoopError('the event loop ended before this operation finished');
      for (const reject of [...this.pendingRejects]) reject(ended);
      this.pendingRejects.clear();
    }
    if (err !== undefined) this.reject(err);
    else if (exitErr !== undefined) this.reject(exitErr);
    else this.resolve();
  }

  stats(): Stats {
    // Bytes are counted where they cross the socket, for every kind of connection (TCP, HTTP
    // server and client): the engine's counters.
    const engine = this.native.byteCounts();
    return {
      incomingTcpConnections: this.incomingTcp,
      outgoingTcpConnections: this.outgoingTcp,
      incomingHttpConnections: this.incomingHttp,
      outgoingHttpConnections: this.native.httpClientConnections(),
      openDnsQueries: this.openDns,
      activeTimers: this.activeTimers,
      fnRegistryCount: this.fnRegistry,
      dataRegistryCount: this.dataRegistry,
      servers: this.servers,
      signalHandlers: this.signalHandlers,
      idlers: this.idlers,
      notifiers: this.notifiers,
      pollers: this.pollers,
      processes: this.processes,
      fsMonitors: this.fsMonitors,
      bytesRead: engine.bytesRead,
      bytesWritten: engine.bytesWritten,
      eventBatches: this.eventBatches,
      eventsDelivered: this.eventsDelivered,
      opCalls: this.wire.applyCalls,
      driver: this.driver,
    };
  }
}

let current: Loop | null = null;

/** What `stats()` reads with no loop running: every field 0. */
const ZERO_STATS: Stats = {
  incomingTcpConnections: 0,
  outgoingTcpConnections: 0,
  incomingHttpConnections: 0,
  outgoingHttpConnections: 0,
  openDnsQueries: 0,
  activeTimers: 0,
  signalHandlers: 0,
  idlers: 0,
  notifiers: 0,
  pollers: 0,
  processes: 0,
  fsMonitors: 0,
  fnRegistryCount: 0,
  dataRegistryCount: 0,
  servers: 0,
  bytesRead: 0,
  bytesWritten: 0,
  eventBatches: 0,
  eventsDelivered: 0,
  opCalls: 0,
};

/** The running loop, or throws `EventLoopError`. */
export function requireLoop(): Loop {
  if (current === null) throw new EventLoopError(NO_LOOP);
  return current;
}

/**
 * Throws `EventLoopError` when `loop` has ended: an object (a request, a socket) used after
 * its loop exited. With no loop running at all the message is the usual one.
 */
export function requireRunning(loop: Loop): void {
  if (loop.running) return;
  throw new EventLoopError(current === null ? NO_LOOP : 'the event loop this object belongs to has ended');
}

/** The running loop, if any. */
export function currentLoop(): Loop | null {
  return current;
}

/**
 * Starts the reactor, runs `startFn` inside it, and resolves when nothing is left to do (or on
 * `exitEventLoop()`), after the exit callbacks ran. Rejects with an application error that
 * escaped. Throws `EventLoopError` synchronously if a loop already runs on this thread.
 * @example
 * ```ts
 * await as.startEventLoop(() => {
 *   as.delay(() => console.log('half a second later'), { time: 0.5 });
 * }, { catchAppErrors: true });
 * // resolves once nothing is left to do
 * ```
 */
export function startEventLoop(startFn: () => unknown, opts: EventLoopOptions = {}): Promise<void> {
  if (current !== null) throw new EventLoopError('an event loop is already running on this thread');
  if (typeof startFn !== 'function') throw new TypeError(`startEventLoop: startFn must be a function, not ${shown(startFn)}`);
  if (opts.driver !== undefined && opts.driver !== 'main' && opts.driver !== 'thread') {
    throw new TypeError(`startEventLoop: driver must be 'main' or 'thread', not ${shown(opts.driver)}`);
  }
  const loop = new Loop(opts);
  current = loop;
  loop.hold();
  try {
    const r = startFn() as { then?: unknown } | undefined;
    if (r !== null && r !== undefined && typeof r.then === 'function') {
      (r as PromiseLike<unknown>).then(
        () => loop.release(),
        (err: unknown) => {
          loop.appError(err, undefined);
          loop.release();
        },
      );
    } else {
      loop.release();
    }
  } catch (err) {
    loop.appError(err, undefined);
    loop.release();
  }
  return loop.promise;
}

/**
 * Closes everything the loop holds (pending writes dropped) and makes its promise resolve.
 * @example
 * ```ts
 * as.signalHandler('SIGINT', () => as.exitEventLoop()); // closes everything, then the loop's promise resolves
 * ```
 */
export function exitEventLoop(): void {
  current?.finish();
}

/**
 * Runs `fn` once when the loop exits, however it exits.
 * @example
 * ```ts
 * as.addEventLoopExitCallback(() => console.log('loop over; stats:', as.stats().activeTimers));
 * ```
 */
export function addEventLoopExitCallback(fn: () => void): void {
  if (typeof fn !== 'function') throw new TypeError(`addEventLoopExitCallback: fn must be a function, not ${shown(fn)}`);
  requireLoop().addExitCallback(fn);
}

/**
 * True while a loop runs on this thread.
 * @example
 * ```ts
 * if (!as.eventLoopRunning()) await as.startEventLoop(main);
 * ```
 */
export function eventLoopRunning(): boolean {
  return current !== null;
}

/**
 * Counters of the running loop; every field 0 with no loop running.
 * @example
 * ```ts
 * const s = as.stats();
 * console.log(s.incomingTcpConnections, s.activeTimers, s.bytesRead, s.driver);
 * ```
 */
export function stats(): Stats {
  if (current === null) return { ...ZERO_STATS };
  return current.stats();
}

/** The condition an error record (`[kind, id, off, len, errKind, errno, tlsCode]`) describes. */
export function errorRecord(r: Uint32Array, i: number, arena: Buffer, socket?: unknown, fd?: number): ConnectionError {
  const off = r[i + 2]!;
  const message = arena.toString('utf8', off, off + r[i + 3]!);
  return conditionFor(r[i + 4]!, r[i + 5]! | 0, message, socket, fd, r[i + 6]!);
}

/** The errno name Node knows for a positive errno, or -1. */
export function errnoName(errno: number): string | number {
  if (!errno) return -1;
  try {
    return getSystemErrorName(-errno);
  } catch {
    return -1;
  }
}

/** DNS error codes by the number the engine sends (`DnsErrorCode` in crates/evasync/src/dns). */
const DNS_CODES: Array<string | undefined> = [undefined, 'ENOTFOUND', 'ENODATA', 'ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED'];

/** Builds the condition object for an engine error. */
export function conditionFor(
  kind: number,
  errno: number,
  message: string,
  socket?: unknown,
  fd?: number,
  tlsCode = 0,
): ConnectionError {
  const errcode = errnoName(errno);
  const opts = { errcode, socket, fd };
  switch (kind) {
    case ErrorKind.Timeout:
      return new ConnectionTimeout(message, { ...opts, errcode: 'ETIMEDOUT' });
    case ErrorKind.Refused:
      return new ConnectionRefused(message, opts);
    case ErrorKind.Reset:
      return new ConnectionReset(message, opts);
    case ErrorKind.AddressInUse:
      return new AddressInUse(message, opts);
    case ErrorKind.Dns:
      return new DnsError(message, { ...opts, errcode: DNS_CODES[errno] ?? 'ENOTFOUND' });
    case ErrorKind.Tls:
      // Named as Node names the case; 'ETIMEDOUT' for the handshake timeout, as every timeout.
      return new TlsError(message, { ...opts, errcode: tlsCodeName(tlsCode) ?? 'EPROTO' });
    case ErrorKind.SocketClosed:
      return new SocketClosed(message, opts);
    case ErrorKind.Http:
      return new HttpError(message, opts);
    default:
      return new ConnectionError(message, opts);
  }
}
