/**
 * TCP: buffered sockets in cl-async's shape over the engine's sockets. The engine
 * owns the bytes; this side keeps callbacks, counters and the loop's accounting, and learns
 * what reached the kernel from `Flushed` events (asked for with each write's threshold).
 */
import { lstatSync, statSync, unlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';

import { EventKind, OpCode } from '../binding';
import { AddressInUse, ConnectionEof, ConnectionError, type ConnectionInfo, SocketClosed } from './conditions';
import { byteLength, checkData, type Data, intern, seconds } from './data';
import { type Acceptor, currentLoop, type Dispatchee, errnoName, errorRecord, type Loop, requireLoop, requireRunning } from './loop';
import { abortReason, checkSignal, whenAborted } from './abort';
import { SocketStream } from './stream';
import { answerSni, nativeTls, type TlsInfo, type TlsOptions, warnUnverified, withTlsErrors } from './tls';
import { copyOut, endpoints } from './wire';
import { checkFunction, checkOptionalFunction, checkString, shown } from './args';

/**
 * `readCb(socket, data)` with the bytes that arrived. In stream mode (`stream: true`) it runs
 * with the socket's `Duplex` as its second argument on every arrival instead (cl-async's rule):
 * set up stream consumers once, in `connectCb`, through `socket.stream`.
 */
export type ReadCb = (socket: Socket, data: Buffer) => void;
/** `readCb` of a stream-mode socket: its `Duplex` (see {@link ReadCb}). */
export type StreamReadCb = (socket: Socket, stream: Duplex) => void;
/**
 * Receives conditions: a `ConnectionInfo` (`ConnectionEof`, or a `ConnectionError`
 * subclass), and with `catchAppErrors` what a callback threw, or an abort's reason.
 */
export type EventCb = (ev: ConnectionInfo | Error) => void;

/** Options of `tcpConnect`. */
export interface ConnectOpts {
  /** Conditions: refused, timeouts, reset, EOF, DNS and TLS failures (see {@link EventCb}). */
  eventCb?: EventCb;
  /** Runs once the connection is up (after the TLS handshake with `tls`). */
  connectCb?: (s: Socket) => void;
  /** Runs once the bytes of `data` (and of writes before the next `writeCb`) are written. */
  writeCb?: (s: Socket) => void;
  /** Bytes to send as soon as the connection is up. */
  data?: Data;
  /** Seconds without incoming data (while reading is enabled) → `ConnectionTimeout`; null: none. */
  readTimeout?: number | null;
  /** Seconds a pending write may make no progress → `ConnectionTimeout` and a reset; null: none. */
  writeTimeout?: number | null;
  /** Seconds for resolving, connecting (and the TLS handshake) → `ConnectionTimeout`. */
  connectTimeout?: number | null;
  /** Stream mode: read through `socket.stream`, a Node `Duplex` with backpressure. */
  stream?: boolean;
  /** `TCP_NODELAY` (default true). */
  noDelay?: boolean;
  /** TCP keep-alive probes after this many idle seconds; null or absent: off. */
  keepAlive?: number | null;
  /** Local IP to bind before connecting. */
  localAddress?: string;
  /** Address family to resolve and connect with: 4, 6, or 0 (default) for both, Happy Eyeballs. */
  family?: 0 | 4 | 6;
  /** Keep the write side open after the peer's EOF (default false: close once flushed). */
  allowHalfOpen?: boolean;
  /** Runs when the write buffer falls back to its low watermark after a write returned false. */
  drainCb?: (s: Socket) => void;
  /** Speak TLS: `connectCb` runs once the handshake is done. */
  tls?: TlsOptions;
  /** Cancels the connect (the socket is closed, `eventCb` gets the reason) until connected. */
  signal?: AbortSignal;
}

/** Options of `tcpServer` (the 4th argument, or an event callback alone). */
export interface ServerOpts {
  /** The server's conditions (EMFILE, failed TLS handshakes) and its sockets' by default. */
  eventCb?: EventCb;
  /** Runs for each accepted connection (after the TLS handshake with `tls`). */
  connectCb?: (s: Socket) => void;
  /** Listen backlog (default 128). */
  backlog?: number;
  /** Accepted sockets are in stream mode (see {@link ConnectOpts.stream}). */
  stream?: boolean;
  /** Serve on this already listening socket instead of binding. */
  fd?: number;
  /** `SO_REUSEADDR` (default true). */
  reuseAddress?: boolean;
  /** `SO_REUSEPORT`: several loops (worker threads, processes) accept on one port. */
  reusePort?: boolean;
  /** `TCP_NODELAY` on accepted sockets (default true). */
  noDelay?: boolean;
  /** Read timeout of accepted sockets, in seconds (see {@link ConnectOpts.readTimeout}). */
  readTimeout?: number | null;
  /** Write timeout of accepted sockets, in seconds. */
  writeTimeout?: number | null;
  /** Connections beyond this many open ones are accepted and closed at once. */
  maxConnections?: number;
  /** Accepted sockets stay writable after the peer's EOF. */
  allowHalfOpen?: boolean;
  /** `drainCb` of accepted sockets (see {@link ConnectOpts.drainCb}). */
  drainCb?: (s: Socket) => void;
  /** TCP keep-alive of accepted sockets, idle seconds before probes. */
  keepAlive?: number | null;
  /** Speak TLS: `connectCb` runs after the handshake; failed handshakes go to `eventCb`. */
  tls?: TlsOptions;
}

/** The callbacks of a socket. Accepted sockets share their server's until one is replaced. */
export interface Callbacks {
  readCb?: ReadCb;
  eventCb?: EventCb;
  connectCb?: (s: Socket) => void;
  drainCb?: (s: Socket) => void;
  stream: boolean;
  /** Internal (Protocol/Transport): the reactor let go of the socket. */
  released?: (s: Socket) => void;
}

const DEFAULT_HIGH = 64 * 1024;

/** Per-socket state most sockets never need. */
interface SocketExt {
  /** Pending writeCbs as [threshold, cb] pairs, in order. */
  writeCbs: Array<[number, (s: Socket) => void]> | null;
  high: number;
  low: number;
  stream: SocketStream<Socket> | null;
  /** Stops listening to the connect's AbortSignal (once connected). */
  stopAbort?: () => void;
}

// Socket state bits.
const CLOSED = 1; // closed from the application's view (operations throw SocketClosed)
const RELEASED = 2; // the engine let go; registrations are gone
const NEED_DRAIN = 4; // writeSocketData returned false; drainCb is owed
const INCOMING = 8;
const HALF_OPEN = 16;
const OWN_CBS = 32; // callbacks are this socket's own (not the server's shared record)
const CONNECTED = 64;
const EOF_SEEN = 128;
const COUNTED = 256; // counted in incoming/outgoing connections

/**
 * A TCP connection. Valid from creation until its loop ends; `closed` turns true at close,
 * at its terminal event, or when the loop ends.
 */
export class Socket {
  #loop: Loop;
  #id: number;
  #cbs: Callbacks;
  #state: number;
  /** Bytes given to writeSocketData / bytes known to be in the kernel. */
  #written = 0;
  #flushed = 0;
  /** Rarely used state (write callbacks, custom watermarks, stream), made on first use so an
   * idle socket stays small. */
  #ext: SocketExt | null = null;
  /** Free slot for the application (cl-async's socket-data). */
  data: any = undefined;
  /** The peer's address, once connected. */
  remoteAddress: string | undefined = undefined;
  /** The peer's port, once connected (0 over a Unix socket). */
  remotePort: number | undefined = undefined;
  /** This end's address, once connected (the path over a Unix socket). */
  localAddress: string | undefined = undefined;
  /** This end's port, once connected. */
  localPort: number | undefined = undefined;
  /** OS descriptor (-1 until connected and after the loop ends). */
  fd = -1;
  /** Bytes received. */
  bytesRead = 0;
  /** What the TLS handshake established; null for a plain socket. */
  tls: TlsInfo | null = null;
  /** @internal A STARTTLS in progress: settled by the handshake or the socket's failure
   * (`failed` returns true when it delivered the condition itself). */
  startingTls: { done: (s: Socket) => void; failed: (err: unknown) => boolean } | null = null;

  /** @internal */
  constructor(loop: Loop, id: number, cbs: Callbacks, flags: number) {
    this.#loop = loop;
    this.#id = id;
    this.#cbs = cbs;
    this.#state = flags;
    // Id 0: a socket that never existed (its connect was aborted at the call).
    if (id === 0) this.#state |= CLOSED | RELEASED;
    else loop.track(id, this);
  }

  /** @internal The connect's AbortSignal: aborting before `Connected` closes the socket and
   * hands the reason to `eventCb`. */
  watchAbort(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    this.#x().stopAbort = whenAborted(signal, (reason) => {
      if (this.#state & (CLOSED | CONNECTED)) return;
      this.close(true);
      const loop = this.#loop;
      if (loop.running) loop.callEventCb(this.#cbs.eventCb ?? loop.defaultEventCb, reason);
    });
  }

  /** @internal `Symbol.dispose`: closes the socket (flushing); nothing if it is closed. */
  [Symbol.dispose](): void {
    if (!this.closed && this.#loop.running) this.close(false);
  }

  #x(): SocketExt {
    return (this.#ext ??= { writeCbs: null, high: DEFAULT_HIGH, low: DEFAULT_HIGH / 4, stream: null });
  }

  get #high(): number {
    return this.#ext?.high ?? DEFAULT_HIGH;
  }

  get #low(): number {
    return this.#ext?.low ?? DEFAULT_HIGH / 4;
  }

  get #stream(): SocketStream<Socket> | null {
    return this.#ext?.stream ?? null;
  }

  get #writeCbs(): Array<[number, (s: Socket) => void]> | null {
    return this.#ext?.writeCbs ?? null;
  }

  /** True once closed (further operations throw `SocketClosed`). */
  get closed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }

  /** Bytes accepted for sending (queued included), as Node's `bytesWritten`. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Bytes queued and not yet handed to the kernel (as last reported by the reactor). */
  get writeBufferSize(): number {
    return this.#written - this.#flushed;
  }

  /** @internal */
  get id(): number {
    return this.#id;
  }

  /** Sets the write buffer watermarks (bytes): `writeSocketData` returns false above `high`,
   * `drainCb` runs once the buffer falls to `low`. */
  setWriteBufferLimits(high: number = DEFAULT_HIGH, low?: number): void {
    if (!(high >= 0)) throw new TypeError(`setWriteBufferLimits: high must be a non-negative number, not ${shown(high)}`);
    const lo = low ?? Math.floor(high / 4);
    if (!(lo >= 0 && lo <= high)) throw new TypeError('setWriteBufferLimits: need 0 <= low <= high');
    const x = this.#x();
    x.high = high;
    x.low = lo;
    this.#requestNotify();
  }

  /** `[low, high]`, as asyncio's `get_write_buffer_limits`. */
  getWriteBufferLimits(): [number, number] {
    return [this.#low, this.#high];
  }

  /** The socket as a Node `Duplex` (stream mode). Created on first access. */
  get stream(): Duplex {
    return this.#duplex();
  }

  #duplex(): SocketStream<Socket> {
    const x = this.#x();
    if (x.stream === null) {
      x.stream = new SocketStream(this, (this.#state & HALF_OPEN) !== 0);
      if (this.closed) x.stream.destroy();
    }
    return x.stream;
  }

  /** @internal True when a stream exists. */
  get hasStream(): boolean {
    return this.#stream !== null;
  }

  #ownCbs(): Callbacks {
    if ((this.#state & OWN_CBS) === 0) {
      this.#cbs = { ...this.#cbs };
      this.#state |= OWN_CBS;
    }
    return this.#cbs;
  }

  /** @internal Replaces callbacks (writeSocketData / tcpSend). */
  setCallbacks(readCb: ReadCb | undefined, eventCb: EventCb | undefined): void {
    if (readCb === undefined && eventCb === undefined) return;
    const cbs = this.#ownCbs();
    if (readCb !== undefined) cbs.readCb = readCb;
    if (eventCb !== undefined) cbs.eventCb = eventCb;
  }

  /** @internal */
  setDrainCb(cb: ((s: Socket) => void) | undefined): void {
    if (cb !== undefined) this.#ownCbs().drainCb = cb;
  }

  /** @internal Throws SocketClosed when closed (EventLoopError when no loop runs at all). */
  checkOpen(op: string): void {
    if (!this.#loop.running && currentLoop() === null) requireRunning(this.#loop);
    if (this.#state & CLOSED) {
      throw new SocketClosed(`${op}: the socket is closed`, { socket: this, fd: this.fd });
    }
  }

  /** @internal Queues bytes; returns false when now above the high watermark. */
  write(data: Data, writeCb?: (s: Socket) => void): boolean {
    const loop = this.#loop;
    this.#written += byteLength(data);
    if (writeCb !== undefined) {
      const x = this.#x();
      (x.writeCbs ??= []).push([this.#written, writeCb]);
      loop.fnRegistry++;
    }
    const ok = this.#written - this.#flushed <= this.#high;
    if (!ok) this.#state |= NEED_DRAIN;
    // A Flushed event is asked for only when something waits for it (a writeCb, a drain) —
    // or, under the thread driver, to keep writeBufferSize exact; under the main driver the
    // engine leaves each write's result in the shared memory instead.
    const sync = loop.driver === 'main';
    const at = sync && writeCb === undefined && (this.#state & NEED_DRAIN) === 0 ? -1 : (this.#nextThreshold() ?? -1);
    loop.wire.write(this.#id, data, at, this);
    return ok;
  }

  /** @internal The engine says `total` bytes reached the kernel (a write's result). */
  noteFlushed(total: number): void {
    if (total > this.#flushed) this.#flushed = total;
  }

  /** The flushed-bytes total at which the next Flushed event is wanted (always the total written,
   * so `writeBufferSize` stays exact; earlier when a drain is owed). */
  #nextThreshold(): number | undefined {
    if (this.#written <= this.#flushed) return undefined;
    let at = this.#written;
    if (this.#state & NEED_DRAIN) at = Math.min(at, Math.max(this.#flushed + 1, this.#written - this.#low));
    if (this.#writeCbs !== null && this.#writeCbs.length > 0) at = Math.min(at, this.#writeCbs[0]![0]);
    return at;
  }

  #requestNotify(): void {
    if (this.#state & (CLOSED | RELEASED)) return;
    const at = this.#nextThreshold();
    if (at !== undefined) this.#loop.wire.opF(OpCode.NotifyFlushed, this.#id, 0, 0, at);
  }

  /** @internal Marks closed from the application's view and updates the counts once. */
  markClosed(): void {
    if (this.#state & CLOSED) return;
    this.#state |= CLOSED;
    if (this.#state & COUNTED) {
      this.#state &= ~COUNTED;
      if (this.#state & INCOMING) this.#loop.incomingTcp--;
      else this.#loop.outgoingTcp--;
    }
    const cbs = this.#writeCbs;
    if (cbs !== null) {
      this.#loop.fnRegistry -= cbs.length;
      this.#ext!.writeCbs = null;
    }
  }

  /** @internal closeSocket. A forced close drops what is queued: the buffer is then empty. */
  close(force: boolean): void {
    this.markClosed();
    if (force) this.#flushed = this.#written;
    this.#loop.wire.op(OpCode.Close, this.#id, force ? 1 : 0);
    if (this.#stream !== null && !this.#stream.destroyed) this.#stream.destroy();
  }

  /** @internal Resumes or pauses reading (stream and transport flow control). */
  setReading(on: boolean): void {
    if (!this.closed) this.#loop.wire.op(OpCode.Enable, this.#id, on ? 1 : 2, 0);
  }

  /** @internal Half-closes once everything queued is in the kernel. */
  shutdownWrite(): void {
    if (!this.closed) this.#loop.wire.op(OpCode.Shutdown, this.#id);
  }

  #release(): void {
    if (this.#state & RELEASED) return;
    this.markClosed();
    // The engine holds nothing of this socket any more: nothing is buffered.
    this.#flushed = this.#written;
    this.#state |= RELEASED;
    this.#loop.untrack(this.#id);
  }

  /** @internal Connected/accepted record: descriptor, ports and addresses. */
  opened(r: Uint32Array, i: number, arena: Buffer): void {
    this.fd = r[i + 3]!;
    const ports = r[i + 4]!;
    this.localPort = ports & 0xffff;
    this.remotePort = ports >>> 16;
    [this.localAddress, this.remoteAddress] = endpoints(r, i, arena);
    this.#state |= CONNECTED | COUNTED;
    if (this.#state & INCOMING) this.#loop.incomingTcp++;
    else this.#loop.outgoingTcp++;
  }

  /** @internal The TLS handshake finished (before `Connected`, or alone after STARTTLS). */
  tlsEstablished(info: TlsInfo): void {
    this.tls = info;
    const starting = this.startingTls;
    if (starting !== null) {
      this.startingTls = null;
      this.#loop.fnRegistry--;
      if (!this.closed) starting.done(this);
    }
  }

  /** @internal Engine event. */
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    const loop = this.#loop;
    switch (kind) {
      case EventKind.Data: {
        if (this.#state & CLOSED) return;
        const len = r[i + 3]!;
        // A Buffer of its own: the arena is reused once this delivery returns.
        const data = copyOut(arena, r[i + 2]!, len);
        this.bytesRead += len;
        const cbs = this.#cbs;
        if (cbs.stream) {
          this.#duplex().deliver(data);
          if (cbs.readCb) loop.callApp(cbs.eventCb, cbs.readCb, this, this.#stream);
        } else if (cbs.readCb) {
          loop.callApp(cbs.eventCb, cbs.readCb, this, data);
        }
        return;
      }
      case EventKind.Flushed:
        this.#flushedTo(r[i + 2]! + r[i + 3]! * 0x1_0000_0000);
        return;
      case EventKind.Connected: {
        if (this.#state & CLOSED) return;
        this.#ext?.stopAbort?.();
        this.opened(r, i, arena);
        const cb = this.#cbs.connectCb;
        if (cb) loop.callApp(this.#cbs.eventCb, cb, this);
        return;
      }
      case EventKind.Eof: {
        if (this.#state & CLOSED) return;
        this.#state |= EOF_SEEN;
        const halfOpen = (this.#state & HALF_OPEN) !== 0;
        // A stream-mode socket stays open until its Duplex has ended the write side too.
        if (!halfOpen && !this.#cbs.stream) this.markClosed();
        this.#stream?.deliverEof();
        loop.deliver(new ConnectionEof(`peer closed the connection${this.#peer()}`, { socket: this, fd: this.fd }), this.#cbs.eventCb);
        return;
      }
      case EventKind.Failed: {
        if (this.#state & CLOSED) return;
        this.markClosed();
        const ev = errorRecord(r, i, arena, this, this.fd);
        this.#stream?.deliverError(ev);
        const starting = this.startingTls;
        let handled = false;
        if (starting !== null) {
          this.startingTls = null;
          loop.fnRegistry--;
          handled = starting.failed(ev);
        }
        // A STARTTLS that reported its failure itself (Promise, its own eventCb) leaves the
        // socket's eventCb to the socket, without the defaultEventCb fallback.
        if (!handled || this.#cbs.eventCb !== undefined) loop.deliver(ev, this.#cbs.eventCb);
        return;
      }
      case EventKind.FlushFailed:
        loop.deliver(errorRecord(r, i, arena, this, this.fd), this.#cbs.eventCb);
        return;
      case EventKind.Released:
        if (this.#stream !== null && !this.#stream.destroyed) this.#stream.deliverClose();
        if (this.startingTls !== null) {
          // Closed by the application before the handshake finished.
          const starting = this.startingTls;
          this.startingTls = null;
          loop.fnRegistry--;
          starting.failed(new SocketClosed('startTls: the socket was closed before the handshake finished', { socket: this, fd: this.fd }));
        }
        this.#release();
        this.#cbs.released?.(this);
        return;
    }
  }

  #peer(): string {
    return this.remoteAddress === undefined ? '' : ` (${this.remoteAddress}:${this.remotePort})`;
  }

  #flushedTo(total: number): void {
    if (total > this.#flushed) this.#flushed = total;
    if (this.#state & CLOSED) return;
    const loop = this.#loop;
    const cbs = this.#writeCbs;
    if (cbs !== null) {
      while (cbs.length > 0 && cbs[0]![0] <= this.#flushed) {
        const cb = cbs.shift()![1];
        loop.fnRegistry--;
        loop.callApp(this.#cbs.eventCb, cb, this);
        if (this.#state & CLOSED) return;
      }
    }
    if (this.#state & NEED_DRAIN && this.#written - this.#flushed <= this.#low) {
      this.#state &= ~NEED_DRAIN;
      const drain = this.#cbs.drainCb;
      if (drain) loop.callApp(this.#cbs.eventCb, drain, this);
      this.#stream?.drained();
      if (this.#state & CLOSED) return;
    }
    this.#requestNotify();
  }

  /** @internal The loop ended: closed, no callbacks. */
  abandon(): void {
    this.#state |= CLOSED | RELEASED;
    if (this.#ext !== null) this.#ext.writeCbs = null;
    const stream = this.#stream;
    if (stream !== null && !stream.destroyed) stream.destroy();
  }

  /** @internal */
  get loop(): Loop {
    return this.#loop;
  }

  /** A short description for logs and the REPL. */
  toString(): string {
    const peer = this.remoteAddress === undefined ? 'unconnected' : `${this.remoteAddress}:${this.remotePort}`;
    return `Socket<${peer}${this.closed ? ', closed' : ''}>`;
  }
}

/** A listening TCP server. `port`/`address` are valid when `tcpServer` returns. */
export class TcpServer {
  #loop: Loop | null;
  #id: number;
  /** @internal The callbacks given to accepted sockets. */
  readonly cbs: Callbacks;
  readonly #halfOpen: boolean;
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** The bound address. */
  readonly address: string;
  /** The OS descriptor of the listening socket, or -1. */
  readonly fd: number;
  #closed: boolean;
  /** @internal The TLS options' certificate callback, if any. */
  sniCallback: TlsOptions['sniCallback'] = undefined;

  /** @internal */
  constructor(loop: Loop, id: number, address: string, port: number, fd: number, cbs: Callbacks, halfOpen: boolean) {
    this.#loop = loop;
    this.#id = id;
    this.address = address;
    this.port = port;
    this.fd = fd;
    this.cbs = cbs;
    this.#halfOpen = halfOpen;
    this.#closed = id === 0;
    if (id !== 0) {
      loop.track(id, this);
      loop.servers++;
    }
  }

  /** True once closed (or when binding failed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal Starts accepting on a server bound with `paused`. */
  serve(): void {
    this.#loop?.flush();
    if (!this.#closed) this.#loop!.native.tcpServe(this.#id);
  }

  /** `await using`: stops accepting (accepted sockets stay open). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** Stops accepting; accepted sockets stay open. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const loop = this.#loop!;
    this.#loop = null;
    loop.flush();
    loop.native.tcpCloseServer(this.#id);
    loop.untrack(this.#id);
    loop.servers--;
  }

  /** @internal Engine event. */
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    const loop = this.#loop;
    if (loop === null) return;
    if (kind === EventKind.ServerError) loop.deliver(errorRecord(r, i, arena, undefined, this.fd), this.cbs.eventCb);
  }

  /** @internal A TLS handshake asks which certificate to present. */
  sniRequest(id: number, name: string): void {
    const loop = this.#loop;
    if (loop === null || this.sniCallback === undefined) {
      this.#loop?.native.tlsConfigure(id, undefined, undefined, undefined);
      return;
    }
    answerSni(loop, id, name, this.sniCallback);
  }

  /** @internal A connection was accepted. */
  accepted(id: number, r: Uint32Array, i: number, arena: Buffer): void {
    const loop = this.#loop;
    if (loop === null) return;
    const socket = new Socket(loop, id, this.cbs, INCOMING | (this.#halfOpen ? HALF_OPEN : 0));
    socket.tls = loop.takeTls(id);
    socket.opened(r, i, arena);
    if (this.cbs.connectCb) loop.callApp(this.cbs.eventCb, this.cbs.connectCb, socket);
  }

  /** @internal The loop ended. */
  abandon(): void {
    this.#closed = true;
    this.#loop = null;
  }

  /** @internal */
  get halfOpen(): boolean {
    return this.#halfOpen;
  }
}

/** The callback record of a socket or server from the user's options. */
function callbacksOf(readCb: ReadCb | StreamReadCb | null | undefined, opts: ConnectOpts | ServerOpts): Callbacks {
  return {
    readCb: (readCb ?? undefined) as ReadCb | undefined,
    eventCb: opts.eventCb,
    connectCb: opts.connectCb,
    drainCb: opts.drainCb,
    stream: opts.stream ?? false,
    released: (opts as { released?: (s: Socket) => void }).released,
  };
}

/**
 * The address to bind for `bindAddress`: null or '' is every IPv4 address, 'localhost'
 * 127.0.0.1; anything else must be an IP literal (a server binds addresses, not names: a name
 * would need a lookup whose failure could only come later), else TypeError naming `fn`.
 */
export function resolveBind(bindAddress: unknown, fn = 'tcpServer'): string {
  if (bindAddress === null || bindAddress === undefined || bindAddress === '') return '0.0.0.0';
  if (bindAddress === 'localhost') return '127.0.0.1';
  const bare = typeof bindAddress === 'string' ? bindAddress.replace(/^\[(.*)\]$/, '$1') : '';
  if (isIP(bare) === 0) {
    throw new TypeError(`${fn}: bindAddress must be an IP address, 'localhost' or null, not ${shown(bindAddress)}`);
  }
  return bare;
}

export function checkPort(fn: string, port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${fn}: port must be an integer from 0 to 65535, not ${shown(port)}`);
  }
  return port;
}

/**
 * Connects to `host:port` (a name or an IP literal), then writes `opts.data` if given.
 * `connectCb` runs once connected; failures reach `eventCb` (ConnectionRefused,
 * ConnectionTimeout, DnsError, ConnectionError).
 * @example
 * ```ts
 * as.tcpConnect('example.com', 80, (socket, data) => {
 *   console.log(data.toString('latin1'));
 *   as.closeSocket(socket);
 * }, {
 *   data: 'HEAD / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n',
 *   readTimeout: 5,
 *   eventCb: (ev) => console.error(ev), // ConnectionRefused, DnsError, ConnectionTimeout, …
 * });
 * ```
 */
export function tcpConnect(host: string, port: number, readCb: StreamReadCb | null | undefined, opts: ConnectOpts & { stream: true }): Socket;
export function tcpConnect(host: string, port: number, readCb?: ReadCb | null, opts?: ConnectOpts): Socket;
export function tcpConnect(host: string, port: number, readCb: ReadCb | StreamReadCb | null | undefined, opts: ConnectOpts = {}): Socket {
  const loop = requireLoop();
  checkString('tcpConnect: host', host);
  checkPort('tcpConnect', port);
  if (opts.data !== undefined) checkData('tcpConnect', opts.data);
  const signal = checkSignal('tcpConnect', opts.signal);
  if (signal?.aborted) return abortedAtCall(loop, callbacksOf(readCb, opts), signal);
  const tls = opts.tls === undefined ? undefined : nativeTls('tcpConnect', opts.tls);
  const connectOpts = {
    noDelay: opts.noDelay ?? true,
    keepAlive: seconds('keepAlive', opts.keepAlive),
    connectTimeout: seconds('connectTimeout', opts.connectTimeout),
    readTimeout: seconds('readTimeout', opts.readTimeout),
    writeTimeout: seconds('writeTimeout', opts.writeTimeout),
    localAddress: opts.localAddress,
    // In stream mode the Duplex ends the write side itself after the peer's EOF.
    allowHalfOpen: (opts.allowHalfOpen ?? false) || (opts.stream ?? false),
    family: opts.family ?? 0,
  };
  const id = withTlsErrors('tcpConnect', () => loop.native.tcpConnect(host, port, connectOpts, tls));
  warnUnverified(loop, opts.tls);
  const cbs = callbacksOf(readCb, opts);
  const socket = new Socket(loop, id, cbs, OWN_CBS | (opts.allowHalfOpen ? HALF_OPEN : 0));
  socket.watchAbort(signal);
  if (opts.data !== undefined) socket.write(opts.data, opts.writeCb);
  return socket;
}

/** A connect whose signal had fired at the call: no work, a closed socket, and the reason for
 * `eventCb` (never synchronously). */
function abortedAtCall(loop: Loop, cbs: Callbacks, signal: AbortSignal): Socket {
  const socket = new Socket(loop, 0, cbs, OWN_CBS);
  const reason = abortReason(signal);
  loop.hold();
  queueMicrotask(() => {
    if (loop.running) loop.callEventCb(cbs.eventCb ?? loop.defaultEventCb, reason);
    loop.release();
  });
  return socket;
}

/** Options of `tcpSend` (those of `tcpConnect`, plus `socket` to write to an open one). */
export interface SendOpts extends ConnectOpts {
  socket?: Socket;
}

/**
 * The seed's form: connect and send `data`. With `opts.socket`, writes `data` to that socket
 * instead, makes `readCb`/`eventCb` its callbacks, and returns it.
 * @example
 * ```ts
 * as.tcpSend('127.0.0.1', 7000, 'ping\n', (socket, data) => {
 *   console.log('answer:', data.toString());
 *   as.closeSocket(socket);
 * }, (ev) => console.error(ev), { readTimeout: 5 });
 * ```
 */
export function tcpSend(
  host: string,
  port: number,
  data: Data,
  readCb: ReadCb | null | undefined,
  eventCb?: EventCb,
  opts: SendOpts = {},
): Socket {
  checkData('tcpSend', data);
  if (opts.socket !== undefined) {
    const s = opts.socket;
    writeSocketData(s, data, { readCb: readCb ?? undefined, eventCb, writeCb: opts.writeCb });
    return s;
  }
  return tcpConnect(host, port, readCb, { ...opts, eventCb: eventCb ?? opts.eventCb, data });
}

/**
 * Listens on `bindAddress:port` (null: every IPv4 address; '::': every address). Listening when
 * it returns. A bind failure reaches `eventCb` asynchronously and the server is closed.
 * @example
 * ```ts
 * const server = as.tcpServer('127.0.0.1', 7000, (socket, data) => {
 *   as.writeSocketData(socket, data); // echo
 * }, { readTimeout: 30, eventCb: (ev) => console.error(ev) });
 * console.log('listening on', server.port);
 * ```
 */
export function tcpServer(
  bindAddress: string | null | undefined,
  port: number,
  readCb: StreamReadCb | null | undefined,
  opts: ServerOpts & { stream: true },
): TcpServer;
export function tcpServer(
  bindAddress: string | null | undefined,
  port: number,
  readCb?: ReadCb | null,
  eventCbOrOpts?: EventCb | ServerOpts,
): TcpServer;
export function tcpServer(
  bindAddress: string | null | undefined,
  port: number,
  readCb: ReadCb | StreamReadCb | null | undefined,
  eventCbOrOpts?: EventCb | ServerOpts,
): TcpServer {
  const loop = requireLoop();
  checkPort('tcpServer', port);
  const opts: ServerOpts = typeof eventCbOrOpts === 'function' ? { eventCb: eventCbOrOpts } : (eventCbOrOpts ?? {});
  const cbs = callbacksOf(readCb, opts);
  const host = resolveBind(bindAddress, 'tcpServer');
  const res = bindServer(loop, host, port, cbs, opts, {});
  if (res instanceof TcpServer) return res;
  loop.hold();
  setImmediate(() => {
    loop.deliver(res, opts.eventCb);
    loop.release();
  });
  return new TcpServer(loop, 0, host, port, -1, cbs, false);
}

/** @internal Binding details beyond `ServerOpts`. */
export interface BindExtra {
  /** Keep an IPv6 socket to IPv6 (to bind `0.0.0.0` and `::` side by side). */
  ipv6Only?: boolean;
  /** Listen but accept only after `server.serve()`. */
  paused?: boolean;
  /** The API function, for messages. */
  fn?: string;
}

/** @internal Binds now: the listening server, or the condition that says why not. */
export function bindServer(loop: Loop, host: string, port: number, cbs: Callbacks, opts: ServerOpts, extra: BindExtra): TcpServer | ConnectionError {
  const backlog = opts.backlog === undefined || opts.backlog < 0 ? 128 : opts.backlog;
  const fn = extra.fn ?? 'tcpServer';
  const tls = opts.tls === undefined ? undefined : nativeTls(fn, opts.tls);
  const listenOpts = {
    host,
    port,
    backlog,
    reuseAddress: opts.reuseAddress ?? true,
    reusePort: opts.reusePort ?? false,
    fd: opts.fd,
    noDelay: opts.noDelay ?? true,
    readTimeout: seconds('readTimeout', opts.readTimeout),
    writeTimeout: seconds('writeTimeout', opts.writeTimeout),
    maxConnections: opts.maxConnections,
    allowHalfOpen: (opts.allowHalfOpen ?? false) || (opts.stream ?? false),
    keepAlive: seconds('keepAlive', opts.keepAlive),
    ipv6Only: extra.ipv6Only,
    paused: extra.paused,
  };
  const res = withTlsErrors(fn, () => loop.native.tcpListen(listenOpts, tls));
  if (res.errno !== 0) {
    const errcode = errnoName(res.errno);
    return errcode === 'EADDRINUSE' ? new AddressInUse(res.message, { errcode }) : new ConnectionError(res.message, { errcode });
  }
  const server = new TcpServer(loop, res.id, intern(res.address), res.port, res.fd, cbs, opts.allowHalfOpen ?? false);
  server.sniCallback = opts.tls?.sniCallback;
  return server;
}

/**
 * Stops accepting (`server.close()`). Idempotent.
 * @example
 * ```ts
 * as.closeTcpServer(server); // same as server.close(): no new connections, open ones stay
 * ```
 */
export function closeTcpServer(server: TcpServer): void {
  server.close();
}

/** Options of `writeSocketData`. */
export interface WriteOpts {
  /** Runs once these bytes (and those queued before them) are written to the kernel. */
  writeCb?: (s: Socket) => void;
  /** Replaces the socket's `readCb`. */
  readCb?: ReadCb;
  /** Replaces the socket's `eventCb`. */
  eventCb?: EventCb;
}

/**
 * Queues `data`. `writeCb` runs once these bytes (and all before them) are in the kernel.
 * Returns false when the write buffer is above its high watermark (`drainCb` follows). Throws
 * `SocketClosed` on a closed socket.
 * @example
 * ```ts
 * if (!as.writeSocketData(socket, bigBuffer, { writeCb: () => console.log('written') })) {
 *   // above the high watermark: wait for drainCb before writing more
 * }
 * ```
 */
export function writeSocketData(socket: Socket, data: Data, opts: WriteOpts = {}): boolean {
  checkSocket('writeSocketData', socket);
  checkData('writeSocketData', data);
  socket.checkOpen('writeSocketData');
  socket.setCallbacks(opts.readCb, opts.eventCb);
  return socket.write(data, opts.writeCb);
}

/**
 * Sets (null: clears) the read and write timeouts, in seconds. Throws `SocketClosed` on a closed socket.
 * @example
 * ```ts
 * as.setSocketTimeouts(socket, 30, 10); // read 30 s, write 10 s; null turns one off
 * ```
 */
export function setSocketTimeouts(socket: Socket, readSec: number | null | undefined, writeSec: number | null | undefined): void {
  checkSocket('setSocketTimeouts', socket);
  socket.checkOpen('setSocketTimeouts');
  socket.loop.wire.opF(OpCode.SetTimeouts, socket.id, 0, 0, seconds('readSec', readSec) ?? 0, seconds('writeSec', writeSec) ?? 0);
}

/** Directions for enable/disable; none given means both. */
export interface Directions {
  /** Reading (and the read timeout). */
  read?: boolean;
  /** Writing (queued bytes wait). */
  write?: boolean;
}

function directions(d: Directions | undefined): [boolean, boolean] {
  if (d === undefined || (d.read === undefined && d.write === undefined)) return [true, true];
  return [d.read === true, d.write === true];
}

/**
 * Resumes reading and/or writing.
 * @example
 * ```ts
 * as.enableSocket(socket, { read: true }); // reading (and its timeout) resume
 * ```
 */
export function enableSocket(socket: Socket, d?: Directions): void {
  checkSocket('enableSocket', socket);
  socket.checkOpen('enableSocket');
  const [r, w] = directions(d);
  socket.loop.wire.op(OpCode.Enable, socket.id, r ? 1 : 0, w ? 1 : 0);
}

/**
 * Pauses reading (the peer is slowed by TCP) and/or writing (queued data waits).
 * @example
 * ```ts
 * as.disableSocket(socket, { read: true }); // stop reading: TCP slows the peer down
 * ```
 */
export function disableSocket(socket: Socket, d?: Directions): void {
  checkSocket('disableSocket', socket);
  socket.checkOpen('disableSocket');
  const [r, w] = directions(d);
  socket.loop.wire.op(OpCode.Enable, socket.id, r ? 2 : 0, w ? 2 : 0);
}

/**
 * Closes a socket: by default pending writes are flushed, then FIN; `force: true` drops them
 * and resets. `socket.closed` is true at once. Throws `SocketClosed` if already closed.
 * @example
 * ```ts
 * as.closeSocket(socket);                  // flush what is queued, then FIN
 * as.closeSocket(socket, { force: true }); // drop the queue, reset
 * ```
 */
export function closeSocket(socket: Socket, opts: { force?: boolean } = {}): void {
  checkSocket('closeSocket', socket);
  socket.checkOpen('closeSocket');
  socket.close(opts.force === true);
}

function checkSocket(fn: string, s: unknown): asserts s is Socket {
  if (!(s instanceof Socket)) throw new TypeError(`${fn}: socket must be a Socket, not ${shown(s)}`);
}

/** Options of `startTls`. */
export interface StartTlsOpts {
  /** Play the server's side of the handshake (default: the client's). */
  server?: boolean;
  /** Aborting before the handshake is done closes the socket and fails with the reason. */
  signal?: AbortSignal;
}

/**
 * Upgrades an open plain socket to TLS (STARTTLS: SMTP, IMAP, Postgres; cl-async's
 * `wrap-in-ssl`). Data written before the call leaves in plain text, what follows is encrypted.
 * The socket keeps its callbacks. `doneCb(socket)` (or the Promise) once the handshake is done;
 * on failure the socket is closed and the `TlsError` goes to `eventCb` (or rejects the Promise).
 * @example
 * ```ts
 * // a plain connection that agreed to upgrade (STARTTLS):
 * await as.startTls(socket, { serverName: 'mail.example.com' });
 * console.log(socket.tls?.protocol);
 * ```
 */
export function startTls(socket: Socket, tls: TlsOptions, opts?: StartTlsOpts): Promise<void>;
export function startTls(
  socket: Socket,
  tls: TlsOptions,
  opts: StartTlsOpts | undefined,
  doneCb: (s: Socket) => void,
  eventCb?: EventCb,
): void;
export function startTls(
  socket: Socket,
  tls: TlsOptions,
  opts?: StartTlsOpts,
  doneCb?: (s: Socket) => void,
  eventCb?: EventCb,
): Promise<void> | void {
  if (doneCb === undefined) {
    // The Promise form never throws but for a missing loop: everything else rejects.
    const loop = socket instanceof Socket ? socket.loop : requireLoop();
    if (!loop.running && currentLoop() === null) requireRunning(loop);
    return loop.operation<void>((resolve, reject) => {
      beginStartTls(socket, tls, opts, () => resolve(), (err) => {
        reject(err);
        return true;
      });
    });
  }
  checkFunction('startTls: doneCb', doneCb);
  checkOptionalFunction('startTls: eventCb', eventCb);
  beginStartTls(socket, tls, opts, doneCb, (err) => {
    if (eventCb === undefined) return false;
    socket.loop.callEventCb(eventCb, err);
    return true;
  });
}

function beginStartTls(
  socket: Socket,
  tls: TlsOptions,
  opts: StartTlsOpts | undefined,
  done: (s: Socket) => void,
  failed: (err: unknown) => boolean,
): void {
  checkSocket('startTls', socket);
  socket.checkOpen('startTls');
  if (socket.tls !== null || socket.startingTls !== null) throw new TypeError('startTls: the socket already speaks TLS');
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TypeError('startTls: opts must be an object');
  const server = opts?.server ?? false;
  const native = nativeTls('startTls', tls);
  const signal = checkSignal('startTls', opts?.signal);
  const loop = socket.loop;
  if (signal?.aborted) {
    const reason = abortReason(signal);
    queueMicrotask(() => {
      if (loop.running && !failed(reason)) loop.callEventCb(loop.defaultEventCb, reason);
    });
    return;
  }
  // Writes made before this call go out first, in plain text.
  loop.flush();
  withTlsErrors('startTls', () => loop.native.startTls(socket.id, native, server));
  if (!server) warnUnverified(loop, tls);
  loop.fnRegistry++;
  const stopAbort = whenAborted(signal, (reason) => {
    const starting = socket.startingTls;
    if (starting === null) return;
    socket.startingTls = null;
    loop.fnRegistry--;
    socket.close(true);
    if (!starting.failed(reason)) loop.callEventCb(loop.defaultEventCb, reason);
  });
  socket.startingTls = {
    done: (s) => {
      stopAbort();
      loop.callApp(undefined, done, s);
    },
    failed: (err) => {
      stopAbort();
      return failed(err);
    },
  };
}

/**
 * @internal A child process's pipe end: a socket from the start (no connect), with
 * no address and counted in no stats but its process's `processes`.
 */
export function childPipe(loop: Loop, id: number, cbs: Callbacks): Socket {
  const s = new Socket(loop, id, cbs, OWN_CBS | CONNECTED);
  s.remoteAddress = '';
  s.localAddress = '';
  s.remotePort = 0;
  s.localPort = 0;
  return s;
}

/** @internal The callback record of a socket from options (for child pipes). */
export function socketCallbacks(readCb: ReadCb | null | undefined, opts: ConnectOpts): Callbacks {
  return callbacksOf(readCb, opts);
}

// ----- Unix domain sockets -----

/** The longest Unix socket path the platform takes, in bytes (sun_path less its NUL). */
const MAX_PIPE_PATH = 107;

/** @internal Checks a Unix socket path; its bytes. */
export function checkUnixPath(fn: string, path: unknown): Buffer {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`${fn}: path must be a non-empty string, not ${shown(path)}`);
  }
  const bytes = Buffer.from(path);
  if (bytes.length > MAX_PIPE_PATH) {
    throw new RangeError(`${fn}: path must be at most ${MAX_PIPE_PATH} bytes, not ${bytes.length} ('${path.slice(0, 40)}…')`);
  }
  return bytes;
}


/** Options of `pipeConnect`: those of `tcpConnect` that mean something on a Unix socket. */
export type PipeConnectOpts = Omit<ConnectOpts, 'family' | 'localAddress' | 'noDelay' | 'keepAlive'>;

/**
 * `tcpConnect` over a Unix stream socket (cl-async's `pipe-connect`): the same `Socket`,
 * callbacks, timeouts, watermarks, half-close, streams and TLS. A missing path fails with
 * `ConnectionError` `'ENOENT'`, a socket file without a listener with `ConnectionRefused`.
 * @example
 * ```ts
 * as.pipeConnect('/run/app.sock', (socket, data) => console.log(data.toString()), {
 *   data: 'status\n',
 *   eventCb: (ev) => console.error(ev),
 * });
 * ```
 */
export function pipeConnect(path: string, readCb: StreamReadCb | null | undefined, opts: PipeConnectOpts & { stream: true }): Socket;
export function pipeConnect(path: string, readCb?: ReadCb | null, opts?: PipeConnectOpts): Socket;
export function pipeConnect(path: string, readCb: ReadCb | StreamReadCb | null | undefined, opts: PipeConnectOpts = {}): Socket {
  const loop = requireLoop();
  const bytes = checkUnixPath('pipeConnect', path);
  if (opts.data !== undefined) checkData('pipeConnect', opts.data);
  const signal = checkSignal('pipeConnect', opts.signal);
  if (signal?.aborted) return abortedAtCall(loop, callbacksOf(readCb, opts), signal);
  const tls = opts.tls === undefined ? undefined : nativeTls('pipeConnect', opts.tls);
  const connectOpts = {
    noDelay: false,
    connectTimeout: seconds('connectTimeout', opts.connectTimeout),
    readTimeout: seconds('readTimeout', opts.readTimeout),
    writeTimeout: seconds('writeTimeout', opts.writeTimeout),
    allowHalfOpen: (opts.allowHalfOpen ?? false) || (opts.stream ?? false),
    family: 0,
  };
  const id = withTlsErrors('pipeConnect', () => loop.native.pipeConnect(bytes, connectOpts, tls));
  warnUnverified(loop, opts.tls);
  const socket = new Socket(loop, id, callbacksOf(readCb, opts), OWN_CBS | (opts.allowHalfOpen ? HALF_OPEN : 0));
  socket.watchAbort(signal);
  if (opts.data !== undefined) socket.write(opts.data, opts.writeCb);
  return socket;
}

/** Options of `pipeServer`. */
export interface PipeServerOpts extends Omit<ServerOpts, 'reuseAddress' | 'reusePort' | 'noDelay' | 'keepAlive'> {
  /** Permission bits of the socket file, set before it listens (e.g. `0o660`). */
  mode?: number;
}

/**
 * @internal The socket file a Unix listener made, removed once: only if the file at the path is
 * still that one (device and inode), so a path bound again by someone else is left alone.
 */
export class SocketFile {
  readonly #path: string;
  #made: { dev: number; ino: number } | null = null;

  constructor(path: string) {
    this.#path = path;
    if (path.startsWith('\0')) return; // an abstract name has no file
    try {
      const st = statSync(path);
      this.#made = { dev: st.dev, ino: st.ino };
    } catch {
      // Gone already: nothing to remove later.
    }
  }

  remove(): void {
    const made = this.#made;
    if (made === null) return;
    this.#made = null;
    try {
      const st = lstatSync(this.#path);
      if (st.dev === made.dev && st.ino === made.ino) unlinkSync(this.#path);
    } catch {
      // Already removed.
    }
  }
}

/** A server on a Unix socket: `path` as given; `close()` removes the socket file. */
export class PipeServer extends TcpServer {
  /** The path as given. */
  readonly path: string;
  readonly #file: SocketFile | null;

  /** @internal */
  constructor(loop: Loop, id: number, path: string, fd: number, cbs: Callbacks, halfOpen: boolean) {
    super(loop, id, path, 0, fd, cbs, halfOpen);
    this.path = path;
    this.#file = id === 0 ? null : new SocketFile(path);
    if (this.#file !== null) loop.addExitCallback(() => this.#file!.remove());
  }

  /** Stops accepting and removes the socket file (before it returns). */
  override close(): void {
    super.close();
    this.#file?.remove();
  }
}

/**
 * `tcpServer` over a Unix socket (cl-async's `pipe-server`). An existing file at `path` is
 * `AddressInUse` (delivered asynchronously to `eventCb`, as every bind failure) and is left
 * alone; the socket file is removed by `server.close()` and when the loop exits.
 * @example
 * ```ts
 * const server = as.pipeServer('/tmp/app.sock', (socket, data) => {
 *   as.writeSocketData(socket, data);
 * }, { mode: 0o660 });
 * // server.close() removes /tmp/app.sock
 * ```
 */
export function pipeServer(path: string, readCb: StreamReadCb | null | undefined, opts: PipeServerOpts & { stream: true }): PipeServer;
export function pipeServer(path: string, readCb?: ReadCb | null, eventCbOrOpts?: EventCb | PipeServerOpts): PipeServer;
export function pipeServer(path: string, readCb: ReadCb | StreamReadCb | null | undefined, eventCbOrOpts?: EventCb | PipeServerOpts): PipeServer {
  const loop = requireLoop();
  const bytes = checkUnixPath('pipeServer', path);
  const opts: PipeServerOpts = typeof eventCbOrOpts === 'function' ? { eventCb: eventCbOrOpts } : (eventCbOrOpts ?? {});
  if (opts.mode !== undefined && (!Number.isInteger(opts.mode) || opts.mode < 0 || opts.mode > 0o7777)) {
    throw new RangeError(`pipeServer: mode must be permission bits from 0 to 0o7777, not ${shown(opts.mode)}`);
  }
  const cbs = callbacksOf(readCb, opts);
  const res = bindPipe(loop, path, bytes, cbs, opts, {});
  if (res instanceof PipeServer) return res;
  loop.hold();
  setImmediate(() => {
    loop.deliver(res, opts.eventCb);
    loop.release();
  });
  return new PipeServer(loop, 0, path, -1, cbs, false);
}

/** @internal Binds a Unix socket now: the server, or the condition that says why not. */
export function bindPipe(loop: Loop, path: string, bytes: Buffer, cbs: Callbacks, opts: PipeServerOpts, extra: BindExtra): PipeServer | ConnectionError {
  const fn = extra.fn ?? 'pipeServer';
  const tls = opts.tls === undefined ? undefined : nativeTls(fn, opts.tls);
  const listenOpts = {
    host: '',
    port: 0,
    backlog: opts.backlog === undefined || opts.backlog < 0 ? 128 : opts.backlog,
    reuseAddress: false,
    reusePort: false,
    fd: opts.fd,
    noDelay: false,
    readTimeout: seconds('readTimeout', opts.readTimeout),
    writeTimeout: seconds('writeTimeout', opts.writeTimeout),
    maxConnections: opts.maxConnections,
    allowHalfOpen: (opts.allowHalfOpen ?? false) || (opts.stream ?? false),
    paused: extra.paused,
    path: bytes,
    mode: opts.mode,
  };
  const res = withTlsErrors(fn, () => loop.native.tcpListen(listenOpts, tls));
  if (res.errno !== 0) {
    const errcode = errnoName(res.errno);
    return errcode === 'EADDRINUSE' ? new AddressInUse(res.message, { errcode }) : new ConnectionError(res.message, { errcode });
  }
  const server = new PipeServer(loop, res.id, path, res.fd, cbs, opts.allowHalfOpen ?? false);
  server.sniCallback = opts.tls?.sniCallback;
  return server;
}
