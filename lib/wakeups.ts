/**
 * Signals, idlers, notifiers and pollers, and file watching.
 *
 * Signals and file watching are Node's own (`process.on`, `fs.watch`): Node already owns the
 * process's signal handlers and the platform's file-change API, and a second owner would fight
 * it. Notifiers and pollers are the engine's.
 */
import { watch, type FSWatcher } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isMainThread } from 'node:worker_threads';

import { EventKind } from '../binding';
import { errorRecord, type Dispatchee, type Loop, requireLoop } from './loop';
import { native } from './native';
import { signalNumber } from './process';
import type { EventCb } from './tcp';
import { checkFunction, checkString, shown } from './args';

// ----- signals -----

interface SignalEntry {
  cb: (signo: number) => void;
  eventCb: EventCb | undefined;
  listener: () => void;
}

const handlersOf = new WeakMap<Loop, Map<number, SignalEntry>>();

function signalName(signo: number): NodeJS.Signals {
  const signals = osConstants.signals as Record<string, number>;
  return (Object.keys(signals) as NodeJS.Signals[]).find((k) => signals[k] === signo)!;
}

/**
 * Runs `signalCb(signo)` in the loop each time signal `signo` arrives (a number or a name).
 * Replaces this loop's earlier handler for that signal; other `process.on` listeners keep
 * running. Keeps the loop alive until freed; freed when the loop exits. Main thread only.
 * @example
 * ```ts
 * as.signalHandler('SIGTERM', () => {
 *   server.close().then(() => as.exitEventLoop()); // drain, then end
 * });
 * ```
 */
export function signalHandler(signo: number | string, signalCb: (signo: number) => void, opts: { eventCb?: EventCb } = {}): void {
  const loop = requireLoop();
  if (!isMainThread) {
    const err = new Error('signalHandler: signals reach only the main thread (Node delivers none to workers)') as Error & { code: string };
    err.code = 'ERR_WORKER_UNSUPPORTED_OPERATION';
    throw err;
  }
  const n = signalNumber('signalHandler', signo);
  const name = signalName(n);
  if (name === 'SIGKILL' || name === 'SIGSTOP') throw new TypeError(`signalHandler: ${name} cannot be caught`);
  checkFunction('signalHandler: signalCb', signalCb);
  let table = handlersOf.get(loop);
  if (table === undefined) {
    table = new Map();
    handlersOf.set(loop, table);
    const t = table;
    loop.addExitCallback(() => {
      for (const s of [...t.keys()]) freeOne(loop, t, s);
    });
  }
  freeOne(loop, table, n);
  const entry: SignalEntry = {
    cb: signalCb,
    eventCb: opts.eventCb,
    listener: () => {
      if (loop.running) loop.callApp(entry.eventCb, entry.cb, n);
    },
  };
  table.set(n, entry);
  process.on(name, entry.listener);
  loop.signalHandlers++;
  loop.fnRegistry++;
  loop.hold();
}

function freeOne(loop: Loop, table: Map<number, SignalEntry>, n: number): void {
  const e = table.get(n);
  if (e === undefined) return;
  table.delete(n);
  process.removeListener(signalName(n), e.listener);
  loop.signalHandlers--;
  loop.fnRegistry--;
  loop.release();
}

/**
 * Stops this loop's handler for `signo`; idempotent; other listeners are untouched.
 * @example
 * ```ts
 * as.freeSignalHandler('SIGTERM'); // Node's own behaviour again
 * ```
 */
export function freeSignalHandler(signo: number | string): void {
  const loop = requireLoop();
  const table = handlersOf.get(loop);
  if (table) freeOne(loop, table, signalNumber('freeSignalHandler', signo));
}

/**
 * Stops every handler of this loop.
 * @example
 * ```ts
 * as.clearSignalHandlers();
 * ```
 */
export function clearSignalHandlers(): void {
  const loop = requireLoop();
  const table = handlersOf.get(loop);
  if (table) for (const s of [...table.keys()]) freeOne(loop, table, s);
}

// ----- idlers -----

/** Runs a callback once per turn of the loop (cl-async's `idle`). */
export class Idler {
  #loop: Loop;
  #cb: () => void;
  #eventCb: EventCb | undefined;
  #immediate: NodeJS.Immediate | null = null;
  #freed = false;

  /** @internal */
  constructor(loop: Loop, cb: () => void, eventCb: EventCb | undefined) {
    this.#loop = loop;
    this.#cb = cb;
    this.#eventCb = eventCb;
    loop.idlers++;
    loop.fnRegistry++;
    loop.hold();
    loop.addExitCallback(() => this.free());
    this.#schedule();
  }

  // setImmediate runs once per turn of Node's loop and keeps it from blocking while pending:
  // libuv's idle semantics.
  #schedule(): void {
    this.#immediate = setImmediate(() => {
      this.#immediate = null;
      if (this.#freed || !this.#loop.running) return;
      this.#loop.callApp(this.#eventCb, this.#cb);
      if (!this.#freed) this.#schedule();
    });
  }

  /** Whether it was freed (by the application or at loop exit). */
  get freed(): boolean {
    return this.#freed;
  }

  /** `using`: frees it. */
  [Symbol.dispose](): void {
    this.free();
  }

  /** Stops it (idempotent). */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    this.#loop.idlers--;
    this.#loop.fnRegistry--;
    this.#loop.release();
  }
}

/**
 * `cb()` once per turn of the loop, busy or not; the loop does not block while it is active.
 * @example
 * ```ts
 * const idler = as.idle(() => doALittleWork()); // once per turn; the loop does not block
 * // later: idler.free()
 * ```
 */
export function idle(cb: () => void, opts: { eventCb?: EventCb } = {}): Idler {
  const loop = requireLoop();
  checkFunction('idle: cb', cb);
  return new Idler(loop, cb, opts.eventCb);
}

/**
 * Frees an idler (idempotent).
 * @example
 * ```ts
 * as.freeIdler(idler);
 * ```
 */
export function freeIdler(idler: Idler): void {
  idler.free();
}

// ----- notifiers -----

/** What `triggerNotifier` takes: a plain object, safe to `postMessage` to a worker. */
export interface NotifierToken {
  /** `[state, key]`: state 0 idle, 1 triggered, 2 freed; key names the notifier natively. */
  readonly sab: SharedArrayBuffer;
}

const IDLE = 0;
const TRIGGERED = 1;
const FREED = 2;

/** A wake-up another thread can trigger (cl-async's `make-notifier`). */
export class Notifier {
  /** Pass this to a worker (`postMessage`) for `triggerNotifier`. */
  readonly token: NotifierToken;
  readonly #loop: Loop;
  readonly #id: number;
  readonly #key: number;
  readonly #state: Int32Array;
  readonly #cb: () => void;
  readonly #eventCb: EventCb | undefined;
  readonly #singleShot: boolean;
  #refd = true;

  /** @internal */
  constructor(loop: Loop, cb: () => void, eventCb: EventCb | undefined, singleShot: boolean) {
    this.#loop = loop;
    this.#cb = cb;
    this.#eventCb = eventCb;
    this.#singleShot = singleShot;
    const { id, key } = loop.native.notifierNew();
    this.#id = id;
    this.#key = key;
    const sab = new SharedArrayBuffer(8);
    this.#state = new Int32Array(sab);
    this.#state[1] = key;
    this.token = { sab };
    loop.track(id, this);
    loop.notifiers++;
  }

  /** Whether it was freed (by the application or at loop exit). */
  get freed(): boolean {
    return Atomics.load(this.#state, 0) === FREED;
  }

  /** Triggers it from this thread; true when queued (or already pending), false once freed. */
  trigger(): boolean {
    return triggerNotifier(this.token);
  }

  /** @internal The engine reports the triggers made so far (coalesced into this one call). */
  onEvent(kind: number): void {
    if (kind !== EventKind.Notified) return;
    if (Atomics.compareExchange(this.#state, 0, TRIGGERED, IDLE) === FREED) return;
    this.#loop.callApp(this.#eventCb, this.#cb);
    if (this.#singleShot) this.free();
  }

  /** `using`: frees it. */
  [Symbol.dispose](): void {
    this.free();
  }

  /** Stops it; later triggers return false (idempotent). */
  free(): void {
    if (Atomics.exchange(this.#state, 0, FREED) === FREED) return;
    const loop = this.#loop;
    if (loop.running) loop.native.notifierFree(this.#key);
    loop.notifiers--;
    if (!this.#refd) loop.hold(); // untrack releases once
    loop.untrack(this.#id);
  }

  /** Keeps the loop alive while it exists (the default). */
  ref(): this {
    if (!this.#refd && !this.freed) {
      this.#refd = true;
      this.#loop.hold();
    }
    return this;
  }

  /** Lets the loop end while it exists. */
  unref(): this {
    if (this.#refd && !this.freed) {
      this.#refd = false;
      this.#loop.release();
    }
    return this;
  }

  /** @internal The loop ended. */
  abandon(): void {
    Atomics.store(this.#state, 0, FREED);
    this.#loop.notifiers--;
  }
}

/**
 * Makes a notifier: `cb()` runs once for every burst of triggers (they coalesce).
 * @example
 * ```ts
 * const n = as.makeNotifier(() => console.log('woken'));
 * worker.postMessage(n.token); // in the worker: triggerNotifier(token)
 * n.trigger();                 // or from this thread
 * ```
 */
export function makeNotifier(cb: () => void, opts: { eventCb?: EventCb; singleShot?: boolean } = {}): Notifier {
  const loop = requireLoop();
  checkFunction('makeNotifier: cb', cb);
  return new Notifier(loop, cb, opts.eventCb, opts.singleShot ?? true);
}

/**
 * Triggers a notifier from any thread by its token (a worker needs no loop). True when the
 * wake-up was queued (or one is already pending), false when the notifier was freed or its loop
 * ended; never throws.
 * @example
 * ```ts
 * // inside a worker_thread, with the token the loop's thread posted:
 * parentPort!.on('message', (token) => as.triggerNotifier(token));
 * ```
 */
export function triggerNotifier(token: NotifierToken): boolean {
  try {
    const state = new Int32Array(token.sab);
    const was = Atomics.compareExchange(state, 0, IDLE, TRIGGERED);
    if (was === FREED) return false;
    if (was === TRIGGERED) return true;
    if (native.notifierTrigger(state[1]!)) return true;
    Atomics.store(state, 0, FREED);
    return false;
  } catch {
    return false;
  }
}

// ----- pollers -----

const READABLE = 1;
const WRITABLE = 2;

/** Watches a descriptor the application owns (cl-async's `poll`), level-triggered. */
export class Poller {
  readonly #loop: Loop;
  readonly #id: number;
  readonly #cb: (events: Array<'readable' | 'writable'>) => void;
  readonly #eventCb: EventCb | undefined;
  readonly fd: number;
  #freed = false;

  /** @internal */
  constructor(loop: Loop, fd: number, want: number, cb: (events: Array<'readable' | 'writable'>) => void, eventCb: EventCb | undefined) {
    this.#loop = loop;
    this.fd = fd;
    this.#cb = cb;
    this.#eventCb = eventCb;
    loop.flush();
    this.#id = loop.native.pollFd(fd, want);
    loop.track(this.#id, this);
    loop.pollers++;
  }

  /** Whether it was freed (by the application or at loop exit). */
  get freed(): boolean {
    return this.#freed;
  }

  /** @internal */
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    if (this.#freed) return;
    if (kind === EventKind.Polled) {
      const bits = r[i + 2]!;
      const events: Array<'readable' | 'writable'> = [];
      if (bits & READABLE) events.push('readable');
      if (bits & WRITABLE) events.push('writable');
      // An error or hang-up wakes a reader (its read says what happened), as uv_poll does.
      if (events.length === 0 && bits & 4) events.push('readable');
      this.#loop.callApp(this.#eventCb, this.#cb, events);
    } else if (kind === EventKind.Failed) {
      const err = errorRecord(r, i, arena, undefined, this.fd);
      this.free();
      this.#loop.deliver(err, this.#eventCb);
    }
  }

  /** `using`: frees it. */
  [Symbol.dispose](): void {
    this.free();
  }

  /** Stops polling (idempotent); do this before closing the descriptor. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    const loop = this.#loop;
    if (loop.running) loop.native.pollFree(this.#id);
    loop.pollers--;
    loop.untrack(this.#id);
  }

  /** @internal */
  abandon(): void {
    this.#freed = true;
    this.#loop.pollers--;
  }
}

/**
 * Calls `pollCb(events)` on every turn while `fd` is readable/writable (as asked). The library
 * never reads, writes or closes `fd`. A descriptor that cannot be polled (a regular file) →
 * `ConnectionError` 'EPERM', one this loop polls already → 'EEXIST', to `eventCb`, and the
 * poller is freed.
 * @example
 * ```ts
 * const p = as.poll(fd, (events) => {
 *   if (events.includes('readable')) readSomeFrom(fd);
 * }, { pollFor: ['readable'] });
 * // later: p.free() (the fd stays open: it is yours)
 * ```
 */
export function poll(
  fd: number,
  pollCb: (events: Array<'readable' | 'writable'>) => void,
  opts: { eventCb?: EventCb; pollFor?: Array<'readable' | 'writable'> } = {},
): Poller {
  const loop = requireLoop();
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`poll: fd must be a non-negative integer, not ${shown(fd)}`);
  checkFunction('poll: pollCb', pollCb);
  const pollFor = opts.pollFor ?? ['readable', 'writable'];
  if (!Array.isArray(pollFor) || pollFor.length === 0) throw new TypeError("poll: pollFor must list 'readable' and/or 'writable'");
  let want = 0;
  for (const p of pollFor) {
    if (p === 'readable') want |= READABLE;
    else if (p === 'writable') want |= WRITABLE;
    else throw new TypeError(`poll: pollFor entries must be 'readable' or 'writable', not ${shown(p)}`);
  }
  return new Poller(loop, fd, want, pollCb, opts.eventCb);
}

/**
 * Frees a poller (idempotent).
 * @example
 * ```ts
 * as.freePoller(p);
 * ```
 */
export function freePoller(p: Poller): void {
  p.free();
}

// ----- file watching -----

/** A file monitor (cl-async's `fs-watch`). */
export class FsMonitor {
  #watcher: FSWatcher | null;
  #loop: Loop;

  /** @internal */
  constructor(loop: Loop, watcher: FSWatcher) {
    this.#loop = loop;
    this.#watcher = watcher;
    loop.fsMonitors++;
    loop.fnRegistry++;
    loop.hold();
    loop.addExitCallback(() => this.close());
  }

  /** Whether the watch was closed (by the application or at loop exit). */
  get closed(): boolean {
    return this.#watcher === null;
  }

  /** `using`: closes it. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Stops watching (idempotent). */
  close(): void {
    if (this.#watcher === null) return;
    this.#watcher.close();
    this.#watcher = null;
    this.#loop.fsMonitors--;
    this.#loop.fnRegistry--;
    this.#loop.release();
  }
}

/**
 * `cb(monitor, filename, renamed, changed)` for changes under `path` (Node's `fs.watch`).
 * A path that does not exist throws Node's system error (`code: 'ENOENT'`).
 * @example
 * ```ts
 * const m = as.fsWatch('./config', (_m, filename, renamed, changed) => {
 *   console.log(filename, renamed ? 'renamed' : 'changed');
 * });
 * ```
 */
export function fsWatch(
  path: string,
  cb: (monitor: FsMonitor, filename: string | null, renamed: boolean, changed: boolean) => void,
  opts: { eventCb?: EventCb; recursive?: boolean } = {},
): FsMonitor {
  const loop = requireLoop();
  checkString('fsWatch: path', path);
  checkFunction('fsWatch: cb', cb);
  let monitor: FsMonitor | null = null;
  const watcher = watch(path, { recursive: opts.recursive ?? false, persistent: false }, (event, filename) => {
    if (monitor === null || monitor.closed || !loop.running) return;
    loop.callApp(opts.eventCb, cb, monitor, filename === null ? null : String(filename), event === 'rename', event === 'change');
  });
  watcher.on('error', (err) => {
    if (monitor !== null && !monitor.closed && loop.running) {
      monitor.close();
      loop.callEventCb(opts.eventCb ?? loop.defaultEventCb, err);
    }
  });
  monitor = new FsMonitor(loop, watcher);
  return monitor;
}

/**
 * Closes a monitor (idempotent).
 * @example
 * ```ts
 * as.fsMonitorClose(m);
 * ```
 */
export function fsMonitorClose(m: FsMonitor): void {
  m.close();
}
