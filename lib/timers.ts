/**
 * Timers: `delay`, `interval`, the deprecated `timer`, and the `Timer` handle.
 *
 * Node's own shape: timers of one duration share a list in deadline order (appending keeps the
 * order, since the clock only moves forward), and each list has one engine timer, armed for its
 * earliest deadline. A `delay` is then an object and a list append; the engine sees one deadline
 * per distinct expiry, and one event wakes a whole list. An unref'd timer does not hold the loop.
 */
import { EventKind, OpCode } from '../binding';
import { type Dispatchee, type Loop, requireLoop } from './loop';
import { shown } from './args';
import { performance } from 'node:perf_hooks';

/** Options of `delay`. */
export interface DelayOptions {
  /** Seconds until it fires; 0 or none: the next turn of the loop. */
  time?: number | null;
  /** Receives what `cb` throws when `catchAppErrors` is on. */
  eventCb?: (ev: unknown) => void;
}

/** Options of `interval`. */
export interface IntervalOptions {
  /** Seconds between runs; the first run is one period after the call. */
  time: number;
  /** Receives what `cb` throws when `catchAppErrors` is on (the interval keeps running). */
  eventCb?: (ev: unknown) => void;
}

const REPEAT = 1;
const UNREF = 2;
const FREED = 4;

/** A list's `heapIndex` while the queue's pass runs it (out of the heap, not to be dropped). */
const RUNNING = -2;

/** A pending delay or interval. Valid until it fires (one-shot), is freed, or its loop ends. */
export class Timer {
  #loop: Loop | null;
  #cb: (() => void) | null;
  #eventCb: ((ev: unknown) => void) | undefined;
  /** REPEAT | UNREF | FREED bits: one field keeps a million pending timers small. */
  #flags: number;
  /** @internal Due time, in `performance.now()` milliseconds. */
  deadline: number;
  /** @internal The list of its duration, and its neighbours there. */
  list: TimerList | null;
  /** @internal */
  prev: Timer | null = null;
  /** @internal */
  next: Timer | null = null;
  /** @internal Append order in its list: a pass runs only what was there when it began. */
  seq = 0;

  /** @internal */
  constructor(loop: Loop, cb: () => void, seconds: number, repeat: boolean, eventCb?: (ev: unknown) => void) {
    this.#loop = loop;
    this.#cb = cb;
    this.#eventCb = eventCb;
    this.#flags = repeat ? REPEAT : 0;
    const now = performance.now();
    this.deadline = now + seconds * 1000;
    // Only this module puts lists there.
    let list = loop.timerLists.get(seconds) as TimerList | undefined;
    if (list === undefined) {
      list = new TimerList(loop, seconds);
      loop.timerLists.set(seconds, list);
    }
    this.list = list;
    list.append(this, now);
    loop.fnRegistry++;
    loop.activeTimers++;
    loop.hold();
  }

  /** True once freed, fired (one-shot) or closed with its loop. */
  get freed(): boolean {
    return (this.#flags & FREED) !== 0;
  }

  /** `using`: frees the timer. */
  [Symbol.dispose](): void {
    this.free();
  }

  /** Cancels the timer. Idempotent; does nothing once its loop has ended. */
  free(): void {
    if (this.#flags & FREED) return;
    this.list!.remove(this);
    this.#forget(this.#loop!);
  }

  /** The timer keeps the loop alive again. Returns the timer. */
  ref(): this {
    if ((this.#flags & (FREED | UNREF)) === UNREF) {
      this.#flags &= ~UNREF;
      this.#loop!.hold();
    }
    return this;
  }

  /** The timer no longer keeps the loop alive (it still fires while something else does). */
  unref(): this {
    if ((this.#flags & (FREED | UNREF)) === 0) {
      this.#flags |= UNREF;
      this.#loop!.release();
    }
    return this;
  }

  /** Drops every registration; it is out of its list already. */
  #forget(loop: Loop): void {
    const unref = this.#flags & UNREF;
    this.#flags |= FREED;
    this.#cb = null;
    this.#loop = null;
    this.list = null;
    loop.fnRegistry--;
    loop.activeTimers--;
    if (!unref) loop.release();
  }

  /**
   * @internal Due: its list took it out. A one-shot is freed before its callback runs; an
   * interval goes back to the end of its list, keeping its cadence (or starting again from now
   * when the loop fell a whole period behind), before its callback runs.
   */
  run(now: number): void {
    const loop = this.#loop!;
    const cb = this.#cb!;
    if (this.#flags & REPEAT) {
      const list = this.list!;
      const period = list.seconds * 1000;
      let next = this.deadline + period;
      if (next <= now) next = now + period;
      this.deadline = next;
      list.append(this, now);
    } else {
      this.#forget(loop);
    }
    // loop.callApp, inlined: no rest-argument array per timer.
    try {
      cb();
    } catch (err) {
      loop.appError(err, this.#eventCb);
    }
  }

  /** @internal The loop ended. */
  abandon(): void {
    this.#flags |= FREED;
    this.#cb = null;
    this.#loop = null;
    this.list = null;
    this.prev = this.next = null;
  }
}

/** The pending timers of one duration, earliest first (not exported from the package: the loop
 * keeps one per duration in use). Its place in its loop's `ListQueue` is by `expiry`. */
export class TimerList {
  head: Timer | null = null;
  tail: Timer | null = null;
  #seq = 0;
  /** When its head is due, as last computed: the key of its place in the queue. */
  expiry = 0;
  /** Its place in the queue's heap; -1 while out of it (empty), RUNNING during its pass. */
  heapIndex = -1;
  /** Tie-break among equal expiries: the order in which lists entered the queue. */
  order = 0;
  readonly #queue: ListQueue;

  constructor(
    readonly loop: Loop,
    readonly seconds: number,
  ) {
    let q = queues.get(loop);
    if (q === undefined) queues.set(loop, (q = new ListQueue(loop)));
    this.#queue = q;
  }

  append(t: Timer, now: number): void {
    t.seq = ++this.#seq;
    t.prev = this.tail;
    t.next = null;
    if (this.tail === null) {
      this.head = t;
      this.tail = t;
      // Was empty: it takes its place in the queue (unless a pass is running it right now).
      if (this.heapIndex !== RUNNING) {
        this.expiry = t.deadline;
        this.#queue.insert(this, now);
      }
      return;
    }
    this.tail.next = t;
    this.tail = t;
  }

  /** Unlinks `t`. The list keeps its place (and the queue its engine timer) unless it is now
   * empty: firing early for a later head costs one empty pass, moving it on every free would
   * cost a heap update each. */
  remove(t: Timer): void {
    if (t.prev === null) this.head = t.next;
    else t.prev.next = t.next;
    if (t.next === null) this.tail = t.prev;
    else t.next.prev = t.prev;
    t.prev = t.next = null;
    if (this.head === null && this.heapIndex >= 0) {
      this.#queue.delete(this);
      this.#drop();
    }
  }

  /** A pass: runs every timer that is due and was in the list when the pass began. False when
   * the loop ended meanwhile. */
  run(now: number): boolean {
    const loop = this.loop;
    const last = this.#seq;
    let t = this.head;
    while (t !== null && t.seq <= last && t.deadline <= now) {
      this.remove(t);
      t.run(now);
      if (!loop.running) return false;
      t = this.head;
    }
    return true;
  }

  /** Empty: the loop forgets it (a later timer of its duration makes a new one). */
  #drop(): void {
    const lists = this.loop.timerLists;
    if (lists.get(this.seconds) === this) lists.delete(this.seconds);
  }

  /** After a pass: back in the queue at its new head's time, or gone when empty. */
  requeue(now: number): void {
    if (this.head === null) {
      this.#drop();
      return;
    }
    this.expiry = this.head.deadline;
    this.#queue.insert(this, now);
  }

  /** The loop ended: every timer of the list is abandoned. */
  abandon(): void {
    for (let t = this.head; t !== null; ) {
      const next = t.next;
      t.abandon();
      t = next;
    }
    this.head = this.tail = null;
  }
}

/** Each loop's queue of timer lists. */
const queues = new WeakMap<Loop, ListQueue>();

/**
 * The timer lists of one loop in a binary heap by expiry, and one engine timer armed for the
 * earliest, as Node keeps its lists: however many durations are in use, the engine sees one
 * deadline, and one event runs every list that is due.
 */
class ListQueue implements Dispatchee {
  readonly #heap: TimerList[] = [];
  /** The engine timer's id while one is armed, else 0; and the deadline it was armed for. */
  #armed = 0;
  #armedAt = Infinity;
  /** The lists taken out of the heap by the pass running now. */
  #running: TimerList[] | null = null;
  #order = 0;

  constructor(readonly loop: Loop) {}

  insert(list: TimerList, now: number): void {
    const heap = this.#heap;
    list.order = ++this.#order;
    list.heapIndex = heap.length;
    heap.push(list);
    this.#up(list.heapIndex);
    // During a pass the queue re-arms once, at its end.
    if (this.#running === null && list.expiry < this.#armedAt) this.#arm(list.expiry, now);
  }

  delete(list: TimerList): void {
    const heap = this.#heap;
    const i = list.heapIndex;
    const last = heap.pop()!;
    list.heapIndex = -1;
    if (last !== list) {
      heap[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
    if (heap.length === 0 && this.#running === null) this.#disarm();
  }

  /** Engine event: every list due runs a pass, earliest first (lists due together in the order
   * they were queued); then the engine timer is armed for the earliest left. */
  onEvent(kind: number, r: Uint32Array, i: number): void {
    if (kind !== EventKind.Timer || r[i + 1] !== this.#armed) return;
    const loop = this.loop;
    loop.freeTimer(this.#armed);
    this.#armed = 0;
    this.#armedAt = Infinity;
    const now = performance.now();
    const heap = this.#heap;
    const due: TimerList[] = [];
    this.#running = due;
    while (heap.length > 0 && heap[0]!.expiry <= now) {
      const list = heap[0]!;
      this.delete(list);
      list.heapIndex = RUNNING;
      due.push(list);
    }
    for (const list of due) {
      if (!list.run(now)) return; // the loop ended
    }
    this.#running = null;
    const later = performance.now();
    for (const list of due) list.requeue(later);
    if (heap.length > 0 && this.#armed === 0) this.#arm(heap[0]!.expiry, later);
  }

  #arm(deadline: number, now: number): void {
    this.#disarm(); // an earlier deadline replaces the armed one
    const loop = this.loop;
    this.#armed = loop.allocTimer(this);
    this.#armedAt = deadline;
    loop.wire.opF(OpCode.Delay, this.#armed, 0, 0, deadline > now ? (deadline - now) / 1000 : 0);
  }

  #disarm(): void {
    if (this.#armed === 0) return;
    const loop = this.loop;
    loop.wire.op(OpCode.TimerFree, this.#armed);
    loop.freeTimer(this.#armed);
    this.#armed = 0;
    this.#armedAt = Infinity;
  }

  #less(a: TimerList, b: TimerList): boolean {
    return a.expiry < b.expiry || (a.expiry === b.expiry && a.order < b.order);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (!this.#less(item, parent)) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    heap[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#less(heap[c + 1]!, heap[c]!)) c++;
      const child = heap[c]!;
      if (!this.#less(child, item)) break;
      heap[i] = child;
      child.heapIndex = i;
      i = c;
    }
    heap[i] = item;
    item.heapIndex = i;
  }
}

function checkCb(name: string, cb: unknown): asserts cb is () => void {
  if (typeof cb !== 'function') throw new TypeError(`${name}: cb must be a function, not ${shown(cb)}`);
}

function checkTime(name: string, t: unknown): number {
  if (t === undefined || t === null) return 0;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0) {
    throw new TypeError(`${name}: time must be a non-negative number of seconds, not ${shown(t)}`);
  }
  return t;
}

/**
 * Runs `cb` after `time` seconds (none: on the next turn). Never synchronously.
 * @example
 * ```ts
 * const t = as.delay(() => console.log('tick'), { time: 0.25 }); // seconds
 * t.free(); // cancelled
 * ```
 */
export function delay(cb: () => void, opts: DelayOptions = {}): Timer {
  checkCb('delay', cb);
  const loop = requireLoop();
  return new Timer(loop, cb, checkTime('delay', opts.time), false, opts.eventCb);
}

/**
 * Runs `cb` every `time` seconds until freed, the first run `time` after the call.
 * @example
 * ```ts
 * let n = 0;
 * const iv = as.interval(() => { if (++n === 10) as.removeInterval(iv); }, { time: 0.1 });
 * ```
 */
export function interval(cb: () => void, opts: IntervalOptions): Timer {
  checkCb('interval', cb);
  const t = checkTime('interval', opts?.time);
  if (!(t > 0)) throw new TypeError(`interval: time must be a positive number of seconds, not ${shown(t)}`);
  const loop = requireLoop();
  return new Timer(loop, cb, t, true, opts.eventCb);
}

let timerWarned = false;

/**
 * @deprecated Use `delay(cb, { time, eventCb })`. The seed API's form.
 * @example
 * ```ts
 * as.timer(1, () => console.log('one second')); // prefer as.delay(cb, { time: 1 })
 * ```
 */
export function timer(time: number, cb: () => void, eventCb?: (ev: unknown) => void): Timer {
  if (!timerWarned) {
    timerWarned = true;
    process.emitWarning('evasync: timer(time, cb, eventCb) is deprecated; use delay(cb, { time, eventCb })', {
      type: 'DeprecationWarning',
      code: 'EVASYNC_DEP_TIMER',
    });
  }
  return delay(cb, { time, eventCb });
}

/**
 * Cancels a delay (`t.free()`).
 * @example
 * ```ts
 * const t = as.delay(() => console.log('never'), { time: 5 });
 * as.freeDelay(t);
 * ```
 */
export function freeDelay(t: Timer): void {
  t.free();
}

/**
 * Cancels an interval (`t.free()`).
 * @example
 * ```ts
 * const iv = as.interval(() => console.log('every second'), { time: 1 });
 * as.delay(() => as.removeInterval(iv), { time: 3.5 });
 * ```
 */
export function removeInterval(t: Timer): void {
  t.free();
}
