/**
 * The memory this side shares with the engine (src/shared.rs): event records and their arena
 * coming in, operation records and their bytes going out, a result per operation and a control
 * block. The numbers (event kinds, op codes, slots) are the engine's, generated into
 * `binding.d.ts` as const enums.
 *
 * Operations are written as callbacks make them: nothing crosses into native code per write,
 * close or response. During a delivery the engine applies them when the delivery call returns;
 * outside one, a microtask asks it to (`flush`).
 */
import { intern } from './data';
import { Ctl, Layout, OpCode } from '../binding';
import type { NativeLoop } from './native';

/** Something that learns how many of its bytes reached the kernel (a socket). */
export interface FlushedSink {
  noteFlushed(total: number): void;
}

const RECORD = Layout.RecordWords;
/** Bytes from which a write (under the main driver) is lent to the engine rather than copied
 * into the op memory: above this a copy costs more than the call. */
const LEND_MIN = 16 * 1024;

export class Wire {
  readonly #native: NativeLoop;
  /** Event records (engine → JS); replaced when the engine grows them. */
  records: Uint32Array;
  /** The bytes event records point into. */
  arena: Buffer;
  #ops: Uint32Array;
  #opsF: Float64Array;
  #data: Buffer;
  #results: Float64Array;
  readonly #ctl: Int32Array;
  /** Writes whose results are still to be read, as [sink, record index] pairs (main driver). */
  readonly #pending: Array<FlushedSink | number> = [];
  readonly #trackResults: boolean;
  #flushQueued = false;
  readonly #flushBound = () => this.flush();
  /** Native calls made to hand operations over: outside a delivery, and each lent write
   * (other operations made during a delivery go with its return, at no call). */
  applyCalls = 0;

  constructor(native: NativeLoop, trackResults: boolean) {
    this.#native = native;
    this.#trackResults = trackResults;
    const [events, arena, ops, data, results, ctl] = native.buffers();
    this.records = new Uint32Array(events!);
    this.arena = Buffer.from(arena!);
    this.#ops = new Uint32Array(ops!);
    this.#opsF = new Float64Array(ops!);
    this.#data = Buffer.from(data!);
    this.#results = new Float64Array(results!);
    this.#ctl = new Int32Array(ctl!);
  }

  /** A delivery began: takes new event buffers if the engine grew them, reads results. */
  delivering(events: ArrayBuffer | undefined, arena: ArrayBuffer | undefined): void {
    if (events !== undefined) this.records = new Uint32Array(events);
    if (arena !== undefined) this.arena = Buffer.from(arena);
    this.syncResults();
  }

  /** Reads the results of writes the engine applied since (how many bytes reached the kernel). */
  syncResults(): void {
    const p = this.#pending;
    if (p.length === 0 || this.#ctl[Ctl.Ops] !== 0) return;
    const results = this.#results;
    for (let i = 0; i < p.length; i += 2) {
      const total = results[p[i + 1] as number]!;
      if (total >= 0) (p[i] as FlushedSink).noteFlushed(total);
    }
    p.length = 0;
  }

  /** Room for one more record and `bytes` more data; returns the record's index. */
  #reserve(bytes: number): number {
    const ctl = this.#ctl;
    let n = ctl[Ctl.Ops]!;
    if (n === 0 && this.#pending.length > 0) this.syncResults();
    if ((n + 1) * RECORD > this.#ops.length || ctl[Ctl.Data]! + bytes > this.#data.length) {
      this.flush();
      n = 0;
      if (RECORD > this.#ops.length || bytes > this.#data.length) this.#grow(bytes);
    }
    if (ctl[Ctl.Delivering] === 0 && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushBound);
    }
    ctl[Ctl.Ops] = n + 1;
    return n;
  }

  #grow(bytes: number): void {
    const [ops, data, results] = this.#native.growOps(this.#ops.length / RECORD, bytes);
    this.#ops = new Uint32Array(ops!);
    this.#opsF = new Float64Array(ops!);
    this.#data = Buffer.from(data!);
    this.#results = new Float64Array(results!);
  }

  /** Appends bytes (a string as UTF-8, `room` bytes at most) to the op data; their length. */
  #put(data: string | Uint8Array, room: number): number {
    const ctl = this.#ctl;
    const at = ctl[Ctl.Data]!;
    let len: number;
    if (typeof data === 'string') {
      len = putAscii(this.#data, data, at);
      if (len < 0) len = (this.#data as Buffer & { utf8Write(s: string, o: number, l: number): number }).utf8Write(data, at, room);
    } else {
      this.#data.set(data, at);
      len = data.byteLength;
    }
    ctl[Ctl.Data] = at + len;
    return len;
  }

  /** Upper bound of a value's bytes (a string takes at most 3 per UTF-16 unit). */
  static room(data: string | Uint8Array): number {
    return typeof data === 'string' ? data.length * 3 : data.byteLength;
  }

  /** An op with up to two u32 arguments. */
  op(code: OpCode, id: number, a = 0, b = 0): void {
    const i = this.#reserve(0) * RECORD;
    const o = this.#ops;
    o[i] = code;
    o[i + 1] = id;
    o[i + 2] = a;
    o[i + 3] = b;
  }

  /** An op with two u32 arguments and two numbers. */
  opF(code: OpCode, id: number, a: number, b: number, x: number, y = 0): void {
    const n = this.#reserve(0);
    const i = n * RECORD;
    const o = this.#ops;
    o[i] = code;
    o[i + 1] = id;
    o[i + 2] = a;
    o[i + 3] = b;
    this.#opsF[(i >> 1) + 2] = x;
    this.#opsF[(i >> 1) + 3] = y;
  }

  /** A write of `data` to socket `id`; `notifyAt` < 0: no Flushed event wanted. */
  write(id: number, data: string | Uint8Array, notifyAt: number, sink: FlushedSink): void {
    if (this.#trackResults && typeof data !== 'string' && data.byteLength >= LEND_MIN) {
      // Main driver: the engine writes a large buffer straight from its memory (after applying
      // what was written before it) instead of it being copied into the op memory first.
      this.applyCalls++;
      const total = this.#native.writeLent(id, data, notifyAt);
      if (total >= 0) sink.noteFlushed(total);
      return;
    }
    const room = Wire.room(data);
    const n = this.#reserve(room);
    const i = n * RECORD;
    const len = this.#put(data, room);
    const o = this.#ops;
    o[i] = OpCode.Write;
    o[i + 1] = id;
    o[i + 2] = len;
    o[i + 3] = 0;
    this.#opsF[(i >> 1) + 2] = notifyAt;
    if (this.#trackResults) this.#pending.push(sink, n);
  }

  /** An HTTP response op: `fields` (`name\0value\0…`, latin1) then `body`. */
  http(code: OpCode, conn: number, seq: number, status: number, count: number, fields: string, body: string | Uint8Array | undefined, flags: number): void {
    const room = fields.length + (body === undefined ? 0 : Wire.room(body));
    const i = this.#reserve(room) * RECORD;
    const d = this.#data as Buffer & { latin1Write(s: string, o: number): number };
    const ctl = this.#ctl;
    let fieldsLen = 0;
    if (fields.length > 0) {
      const at = ctl[Ctl.Data]!;
      fieldsLen = putAscii(d, fields, at);
      if (fieldsLen < 0) fieldsLen = d.latin1Write(fields, at);
      ctl[Ctl.Data] = at + fieldsLen;
    }
    const bodyLen = body === undefined ? 0 : this.#put(body, room - fieldsLen);
    const o = this.#ops;
    o[i] = code;
    o[i + 1] = conn;
    o[i + 2] = seq;
    o[i + 3] = status;
    o[i + 4] = count;
    o[i + 5] = fieldsLen;
    o[i + 6] = bodyLen;
    o[i + 7] = flags;
  }

  /** Has the engine apply what was written (outside a delivery; during one it does so itself). */
  flush(): void {
    this.#flushQueued = false;
    if (this.#ctl[Ctl.Ops] !== 0) {
      this.applyCalls++;
      this.#native.applyOps();
    }
  }
}

/** Strings shorter than this are written byte by byte: cheaper than a call into C++. */
const SHORT = 64;

/**
 * Writes a short ASCII string at `at`; its length, or -1 (nothing to trust written) when it is
 * long or holds other characters (the caller then encodes it properly).
 */
function putAscii(buf: Uint8Array, s: string, at: number): number {
  const n = s.length;
  if (n > SHORT) return -1;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c > 0x7f) return -1;
    buf[at + k] = c;
  }
  return n;
}

/** Copies `len` bytes of `src` at `off` to `dst` at `at` (short runs byte by byte). */
export function copyBytes(src: Uint8Array, off: number, len: number, dst: Uint8Array, at: number): void {
  if (len <= SHORT) {
    for (let k = 0; k < len; k++) dst[at + k] = src[off + k]!;
  } else {
    dst.set(src.subarray(off, off + len), at);
  }
}

/** A Buffer of its own holding `len` bytes of `arena` from `off` (the arena is reused). */
export function copyOut(arena: Buffer, off: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  copyBytes(arena, off, len, b, 0);
  return b;
}

const ipv4Strings = new Map<number, string>();

/** An IPv4 address (a u32) as text; one string per distinct address. */
export function ipv4(n: number): string {
  let s = ipv4Strings.get(n);
  if (s === undefined) {
    if (ipv4Strings.size > 4096) ipv4Strings.clear();
    s = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    ipv4Strings.set(n, s);
  }
  return s;
}

/** The endpoints of a Connected/Accepted record: `[local, remote]` addresses. */
export function endpoints(r: Uint32Array, i: number, arena: Buffer): [string, string] {
  const family = r[i + 5];
  if (family === 4) return [ipv4(r[i + 6]!), ipv4(r[i + 7]!)];
  const off = r[i + 6]!;
  const lens = r[i + 7]!;
  const l = lens & 0xffff;
  // IPv6 addresses are ASCII; Unix socket paths (family 0) are file names, UTF-8.
  const enc = family === 0 ? 'utf8' : 'latin1';
  return [intern(arena.toString(enc, off, off + l)), intern(arena.toString(enc, off + l, off + l + (lens >>> 16)))];
}
