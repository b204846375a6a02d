/**
 * Stream mode (`socket.stream`): a Node `Duplex` over a socket with real
 * backpressure both ways. Reading: when `push()` says the readable buffer is full, reading is
 * disabled in the reactor (TCP slows the peer) until `_read` asks again. Writing: a chunk is
 * acknowledged at once while the socket's write buffer is under its high watermark, else when
 * it drains, so Node's writable buffer holds the rest.
 */
import { Duplex } from 'node:stream';

import { SocketClosed } from './conditions';

/** What a stream needs of the socket under it (lib/tcp.ts's `Socket`). */
export interface StreamSocket {
  readonly closed: boolean;
  /** Queues bytes; false once above the high watermark. */
  write(data: Buffer): boolean;
  /** Closes gracefully, or by force. */
  close(force: boolean): void;
  /** Resumes or pauses reading. */
  setReading(on: boolean): void;
  /** Half-closes once everything queued is in the kernel. */
  shutdownWrite(): void;
}

export class SocketStream<S extends StreamSocket = StreamSocket> extends Duplex {
  readonly #socket: S;
  #readPaused = false;
  #pendingWrite: ((err?: Error | null) => void) | null = null;

  /** `halfOpen`: the user asked for `allowHalfOpen`, so the peer's EOF does not end our side. */
  constructor(socket: S, halfOpen: boolean) {
    super({ allowHalfOpen: halfOpen });
    this.#socket = socket;
  }

  /** The socket under this stream. */
  get socket(): S {
    return this.#socket;
  }

  /** @internal Bytes arrived. */
  deliver(data: Buffer): void {
    if (!this.push(data) && !this.#readPaused && !this.#socket.closed) {
      this.#readPaused = true;
      this.#socket.setReading(false);
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
      this.#socket.setReading(true);
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
    s.shutdownWrite();
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
