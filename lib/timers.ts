/**
 * Timers: `delay`, `interval`, the deprecated `timer`, and the `Timer` handle. The
 * deadlines live in the reactor's timer queue; this side keeps the callback and the loop's
 * alive count (an unref'd timer does not hold the loop).
 */
import { EventKind, OpCode } from '../binding';
import { type Dispatchee, type Loop, requireLoop } from './loop';
import { shown } from './args';

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

/** A pending delay or interval. Valid until it fires (one-shot), is freed, or its loop ends. */
export class Timer {
  #loop: Loop | null;
  #id: number;
  #cb: (() => void) | null;
  #eventCb: ((ev: unknown) => void) | undefined;
  /** REPEAT | UNREF | FREED bits: one field keeps a million pending timers small. */
  #flags: number;

  /** @internal */
  constructor(loop: Loop, cb: () => void, seconds: number, repeat: boolean, eventCb?: (ev: unknown) => void) {
    this.#loop = loop;
    this.#cb = cb;
    this.#eventCb = eventCb;
    this.#flags = repeat ? REPEAT : 0;
    this.#id = loop.allocTimer(this);
    loop.wire.opF(OpCode.Delay, this.#id, repeat ? 1 : 0, 0, seconds);
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
    const loop = this.#loop!;
    loop.wire.op(OpCode.TimerFree, this.#id);
    this.#forget(loop);
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

  /** Drops every registration; the reactor side was already told (or fired). */
  #forget(loop: Loop): void {
    const unref = this.#flags & UNREF;
    this.#flags |= FREED;
    this.#cb = null;
    this.#loop = null;
    loop.freeTimer(this.#id);
    loop.fnRegistry--;
    loop.activeTimers--;
    if (!unref) loop.release();
  }

  /** @internal Engine event. */
  onEvent(kind: number, r: Uint32Array, i: number): void {
    if (kind !== EventKind.Timer || this.#flags & FREED || r[i + 1] !== this.#id) return;
    const loop = this.#loop!;
    const cb = this.#cb!;
    if (!(this.#flags & REPEAT)) this.#forget(loop);
    loop.callApp(this.#eventCb, cb);
  }

  /** @internal The loop ended. */
  abandon(): void {
    this.#flags |= FREED;
    this.#cb = null;
    this.#loop = null;
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
