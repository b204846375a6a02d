/**
 * Stream mode (API.md §4 `socket.stream`): a Node `Duplex` over a socket with real
 * backpressure both ways. Reading: when `push()` says the readable buffer is full, reading is
 * disabled in the reactor (TCP slows the peer) until `_read` asks again. Writing: a chunk is
 * acknowledged at once while the socket's write buffer is under its high watermark, else when
 * it drains, so Node's writable buffer holds the rest.
 */
import { Duplex } from 'node:stream';

import { SocketClosed } from './conditions';
import type { Socket } from './tcp';

export class SocketStream extends Duplex {
  readonly #socket: Socket;
  #readPaused = false;
  #pendingWrite: ((err?: Error | null) => void) | null = null;

  /** `halfOpen`: the user asked for `allowHalfOpen`, so the peer's EOF does not end our side. */
  constructor(socket: Socket, halfOpen: boolean) {
    super({ allowHalfOpen: halfOpen });
    this.#socket = socket;
  }

  /** The socket under this stream. */
  get socket(): Socket {
    return this.#socket;
  }

  /** @internal Bytes arrived. */
  deliver(data: Buffer): void {
    if (!this.push(data) && !this.#readPaused && !this.#socket.closed) {
      this.#readPaused = true;
      this.#socket.loop.native.tcpEnable(this.#socket.id, false, undefined);
    }
  }

  /** @internal The peer closed its side. */
  deliverEof(): void {
    this.push(null);
    // In paused mode 'end' waits for a read(); make EOF visible to 'end' listeners at once when
    // nothing is left to read.
    if (this.readableLength === 0) this.read(0);
  }

  /** @internal The socket failed. */
  deliverError(err: Error): void {
    this.destroy(err);
  }

  /** @internal The reactor let go of the socket. */
  deliverClose(): void {
    if (!this.readableEnded) this.push(null);
    const cb = this.#pendingWrite;
    this.#pendingWrite = null;
    cb?.(new SocketClosed('the socket closed before the write drained', { socket: this.#socket }));
    if (this.writableFinished || this.writableLength === 0) this.destroy();
  }

  /** @internal The socket's write buffer fell to its low watermark. */
  drained(): void {
    const cb = this.#pendingWrite;
    this.#pendingWrite = null;
    cb?.();
  }

  override _read(): void {
    if (this.#readPaused) {
      this.#readPaused = false;
      if (!this.#socket.closed) this.#socket.loop.native.tcpEnable(this.#socket.id, true, undefined);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#socket.closed) {
      cb(new SocketClosed('write to a closed socket', { socket: this.#socket }));
      return;
    }
    if (this.#socket.write(chunk)) cb();
    else this.#pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    const s = this.#socket;
    if (s.closed) {
      cb();
      return;
    }
    // Half-close once everything queued is in the kernel.
    s.loop.native.tcpShutdown(s.id);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const s = this.#socket;
    if (!s.closed) {
      // A stream that finished writing closes gracefully; one destroyed mid-way resets.
      s.close(err !== null || !this.writableFinished);
    }
    cb(err);
  }
}
