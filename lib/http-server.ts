/**
 * The HTTP/1.1 server (API.md §5). The engine parses, frames, orders pipelined responses and
 * enforces limits and timeouts; this side turns request records into `HttpRequest` objects
 * (fields decoded only when read) and responses into one native call each.
 */
import { inspect } from 'node:util';

import { ConnectionError, HttpError, AddressInUse } from './conditions';
import { checkData, intern, seconds, splitHostPort, type Data } from './data';
import { HttpFlag, Kind } from './events';
import { conditionFor, decodeError, errnoName, hooks, requireLoop, type Dispatchee, type Loop } from './loop';
import { checkPort, resolveBind, type EventCb } from './tcp';

/** Header fields as `[name, value]` pairs in wire order, or a plain object. */
export type HeadersInit = Array<[string, string | number]> | Record<string, string | number | Array<string | number>>;

/** `requestCb` of `httpServer`. */
export type RequestCb = (req: HttpRequest) => void;

/** Options of `httpServer` (API.md §5). Times in seconds. */
export interface HttpServerOpts {
  eventCb?: EventCb;
  backlog?: number;
  reusePort?: boolean;
  /** Largest request head in bytes; larger ones get 431. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Largest request body in bytes; larger ones get 413. Default 1 MiB. */
  maxBodySize?: number;
  /** Time for a whole request (head and body) from its first byte; then 408. Default 60. */
  requestTimeout?: number | null;
  /** Idle time after which a keep-alive connection closes. Default 5. */
  keepAliveTimeout?: number | null;
  /** Requests per connection; the last one is answered with `Connection: close`. */
  maxRequestsPerConnection?: number;
  /** Call `requestCb` once the head is in and deliver the body through `req.onBody`. */
  streamBody?: boolean;
}

/** Options of `httpResponse` and `req.startResponse`. */
export interface ResponseOpts {
  status?: number;
  headers?: HeadersInit;
  body?: Data;
}

/** Options of `server.close`. */
export interface HttpCloseOpts {
  /** Finish in-flight requests (default) rather than abort every connection. */
  graceful?: boolean;
  /** Seconds to wait for in-flight requests before aborting what is left. Default 10. */
  timeout?: number;
}

const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
const DEFAULT_MAX_BODY_SIZE = 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT = 60;
const DEFAULT_KEEP_ALIVE_TIMEOUT = 5;
const DEFAULT_CLOSE_TIMEOUT = 10;

/** Response states of a request. */
const NOT_STARTED = 0;
const STREAMING = 1;
const DONE = 2;

/** An accepted HTTP connection: what `req.socket` is. */
export class HttpConnection implements Dispatchee {
  /** @internal */
  readonly server: HttpServer;
  /** @internal */
  readonly id: number;
  readonly fd: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** False once the connection is gone. */
  open = true;
  /** @internal The request whose body is streaming in. */
  streaming: HttpRequest | null = null;

  /** @internal */
  constructor(server: HttpServer, id: number, text: string) {
    this.server = server;
    this.id = id;
    const parts = text.split(' ');
    this.fd = Number(parts[1]);
    [this.localAddress, this.localPort] = splitHostPort(parts[2]!);
    const [ra, rp] = splitHostPort(parts[3]!);
    this.remoteAddress = intern(ra);
    this.remotePort = rp;
  }

  /** @internal A request record. */
  onRequest(r: Uint32Array, i: number, arena: Buffer): void {
    const server = this.server;
    const ext = r[i + 5]!;
    const req = new HttpRequest(this, r[i + 4]!, arena, r[i + 2]!, r[i + 3]!, ext & 0xffff, ext >>> 16, r[i + 6]!, r[i + 7]!);
    if (!(ext & (HttpFlag.Complete << 16))) this.streaming = req;
    server.dispatch(req);
  }

  /** @internal Engine event. */
  onEvent(kind: number, a: number, b: number, arena: Buffer): void {
    if (kind === Kind.HttpBody || kind === Kind.HttpBodyEnd) {
      const req = this.streaming;
      if (req === null) return;
      if (kind === Kind.HttpBodyEnd) this.streaming = null;
      req.bodyPiece(arena.subarray(a, a + b), kind === Kind.HttpBodyEnd);
    } else if (kind === Kind.Released) {
      this.released();
    }
  }

  /** @internal The engine let go of the connection. */
  released(): void {
    if (!this.open) return;
    this.open = false;
    this.streaming = null;
    this.server.connectionGone(this);
  }

  /** @internal The loop ended. */
  abandon(): void {
    this.open = false;
  }
}

/** A request (API.md §5). Text fields are decoded from the batch arena when first read. */
export class HttpRequest {
  /** The connection it came on. */
  readonly socket: HttpConnection;
  /** @internal */
  readonly seq: number;
  #arena: Buffer;
  #off: number;
  #len: number;
  #methodLen: number;
  #flags: number;
  #targetLen: number;
  #headersLen: number;
  #method: string | undefined;
  #uri: string | undefined;
  #headers: Array<[string, string]> | undefined;
  #body: Buffer | undefined;
  /** @internal */
  state = NOT_STARTED;
  #bodyCb: ((chunk: Buffer, finished: boolean) => void) | undefined;
  #bodyQueue: Array<[Buffer, boolean]> | undefined;

  /** @internal */
  constructor(
    socket: HttpConnection,
    seq: number,
    arena: Buffer,
    off: number,
    len: number,
    methodLen: number,
    flags: number,
    targetLen: number,
    headersLen: number,
  ) {
    this.socket = socket;
    this.seq = seq;
    this.#arena = arena;
    this.#off = off;
    this.#len = len;
    this.#methodLen = methodLen;
    this.#flags = flags;
    this.#targetLen = targetLen;
    this.#headersLen = headersLen;
  }

  /** The method, upper case as sent. */
  get method(): string {
    if (this.#method === undefined) this.#method = methodName(this.#arena, this.#off, this.#methodLen);
    return this.#method;
  }

  /** The request target as sent (`/documents/45?format=json`). */
  get uri(): string {
    if (this.#uri === undefined) {
      const a = this.#off + this.#methodLen;
      this.#uri = this.#arena.toString('latin1', a, a + this.#targetLen);
    }
    return this.#uri;
  }

  /** The path part of `uri` (not percent-decoded). */
  get resource(): string {
    const u = this.uri;
    const q = u.indexOf('?');
    return q < 0 ? u : u.slice(0, q);
  }

  /** What follows `?` in `uri` (not percent-decoded), `''` when nothing does. */
  get querystring(): string {
    const u = this.uri;
    const q = u.indexOf('?');
    return q < 0 ? '' : u.slice(q + 1);
  }

  /** `'1.1'` or `'1.0'`. */
  get httpVersion(): string {
    return this.#flags & HttpFlag.Http10 ? '1.0' : '1.1';
  }

  /** The peer's address. */
  get remoteAddress(): string {
    return this.socket.remoteAddress;
  }

  /** Header fields in wire order, names as sent, values trimmed. */
  get headers(): Array<[string, string]> {
    if (this.#headers === undefined) {
      const out: Array<[string, string]> = [];
      const arena = this.#arena;
      let p = this.#off + this.#methodLen + this.#targetLen;
      const end = p + this.#headersLen;
      while (p < end) {
        const z = arena.indexOf(0, p);
        const z2 = arena.indexOf(0, z + 1);
        out.push([arena.toString('latin1', p, z), arena.toString('latin1', z + 1, z2)]);
        p = z2 + 1;
      }
      this.#headers = out;
    }
    return this.#headers;
  }

  /** The first value of header `name` (any case), or undefined. */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    for (const [n, v] of this.headers) if (n.length === lower.length && n.toLowerCase() === lower) return v;
    return undefined;
  }

  /** The whole body (empty with `streamBody`). */
  get body(): Buffer {
    if (this.#body === undefined) {
      const start = this.#off + this.#methodLen + this.#targetLen + this.#headersLen;
      this.#body = this.#arena.subarray(start, this.#off + this.#len);
    }
    return this.#body;
  }

  /**
   * With `streamBody`: receives the body piece by piece; the last call has `finished === true`
   * (its chunk may be empty). Pieces that arrived before the call are delivered right after it.
   */
  onBody(cb: (chunk: Buffer, finished: boolean) => void): void {
    if (typeof cb !== 'function') throw new TypeError('req.onBody: cb must be a function');
    this.#bodyCb = cb;
    const queued = this.#bodyQueue;
    if (queued !== undefined) {
      this.#bodyQueue = undefined;
      queueMicrotask(() => {
        for (const [chunk, finished] of queued) this.#deliverBody(chunk, finished);
      });
    } else if (this.#flags & HttpFlag.Complete) {
      // Not streamed (no body, or the server reads bodies whole): one final call.
      queueMicrotask(() => this.#deliverBody(this.body, true));
    }
  }

  /** @internal A streamed body piece. */
  bodyPiece(chunk: Buffer, finished: boolean): void {
    if (this.#bodyCb === undefined) {
      (this.#bodyQueue ??= []).push([chunk, finished]);
      return;
    }
    this.#deliverBody(chunk, finished);
  }

  #deliverBody(chunk: Buffer, finished: boolean): void {
    const server = this.socket.server;
    server.loop.callApp(server.eventCb, this.#bodyCb!, chunk, finished);
  }

  /** Starts a streamed response (chunked unless `Content-Length` is given). */
  startResponse(opts: { status?: number; headers?: HeadersInit } = {}): void {
    this.#checkFresh('startResponse');
    const loop = this.socket.server.loop;
    const status = checkStatus('startResponse', opts.status ?? 200);
    const n = encodeHeaders('startResponse', opts.headers);
    try {
      loop.native.httpStart(this.socket.id, this.seq, status, n, encoded);
    } catch (err) {
      throw asTypeError(err);
    }
    this.state = STREAMING;
  }

  /** A piece of a streamed response. */
  writeChunk(data: Data): void {
    if (this.state !== STREAMING) throw new HttpError('writeChunk: call startResponse first (or the response is finished)');
    checkData('writeChunk', data);
    this.socket.server.loop.native.httpChunk(this.socket.id, this.seq, data as string | Uint8Array);
  }

  /** Ends a streamed response. */
  finishResponse(): void {
    if (this.state !== STREAMING) throw new HttpError('finishResponse: call startResponse first (or the response is finished)');
    this.state = DONE;
    this.socket.server.loop.native.httpFinish(this.socket.id, this.seq);
  }

  /** @internal */
  #checkFresh(fn: string): void {
    if (this.state !== NOT_STARTED) throw new HttpError(`${fn}: a response was already started for ${this.method} ${this.uri}`);
  }

  /** @internal Sends a whole response. */
  respond(opts: ResponseOpts, close: boolean): void {
    this.#checkFresh('httpResponse');
    const status = checkStatus('httpResponse', opts.status ?? 200);
    const n = encodeHeaders('httpResponse', opts.headers);
    const body = opts.body ?? '';
    const native = this.socket.server.loop.native;
    try {
      if (typeof body === 'string') native.httpRespond(this.socket.id, this.seq, status, n, encoded, body, close);
      else {
        checkData('httpResponse', body);
        native.httpRespondBytes(this.socket.id, this.seq, status, n, encoded, body as Uint8Array, close);
      }
    } catch (err) {
      throw asTypeError(err);
    }
    this.state = DONE;
  }

  /** Method, uri, headers and body length. */
  toString(): string {
    return `HttpRequest ${this.method} ${this.uri} HTTP/${this.httpVersion} ${JSON.stringify(this.headers)} body ${this.body.length} bytes`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Common methods without allocating a string per request. */
function methodName(arena: Buffer, off: number, len: number): string {
  const c = arena[off];
  if (len === 3 && c === 0x47 && arena[off + 1] === 0x45 && arena[off + 2] === 0x54) return 'GET';
  if (len === 4 && c === 0x50 && arena[off + 1] === 0x4f && arena[off + 2] === 0x53 && arena[off + 3] === 0x54) return 'POST';
  if (len === 4 && c === 0x48 && arena[off + 1] === 0x45 && arena[off + 2] === 0x41 && arena[off + 3] === 0x44) return 'HEAD';
  return arena.toString('latin1', off, off + len);
}

function checkStatus(fn: string, status: unknown): number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`${fn}: status must be an integer from 100 to 999, not ${String(status)}`);
  }
  return status;
}

/** The header fields `encodeHeaders` encoded last, for the native call that follows it. */
let encoded = '';

/**
 * Encodes header fields as `name\0value\0…` into `encoded` and returns their count: one string
 * for the binding instead of two per field (a NUL inside a field is refused there).
 */
function encodeHeaders(fn: string, headers: HeadersInit | undefined): number {
  encoded = '';
  if (headers === undefined || headers === null) return 0;
  let n = 0;
  let s = '';
  if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`${fn}: headers must be [name, value] pairs`);
      s += `${pair[0]}\0${pair[1]}\0`;
      n++;
    }
  } else if (typeof headers === 'object') {
    for (const name of Object.keys(headers)) {
      const v = headers[name]!;
      if (Array.isArray(v)) {
        for (const x of v) {
          s += `${name}\0${x}\0`;
          n++;
        }
      } else {
        s += `${name}\0${v}\0`;
        n++;
      }
    }
  } else {
    throw new TypeError(`${fn}: headers must be an array of pairs or an object`);
  }
  encoded = s;
  return n;
}

/** The binding refuses split-prone headers with an InvalidArg error: the contract says TypeError. */
function asTypeError(err: unknown): unknown {
  if (err instanceof Error && (err as { code?: unknown }).code === 'InvalidArg') {
    return new TypeError(err.message);
  }
  return err;
}

/** An HTTP server (API.md §5). */
export class HttpServer implements Dispatchee {
  /** @internal */
  readonly loop: Loop;
  #id: number;
  readonly requestCb: RequestCb;
  readonly eventCb: EventCb | undefined;
  /** The bound port. */
  readonly port: number;
  /** The bound address. */
  readonly address: string;
  /** The OS descriptor of the listening socket, or -1. */
  readonly fd: number;
  /** @internal Open connections. */
  readonly connections = new Set<HttpConnection>();
  #listening: boolean;
  #closing: Promise<void> | null = null;
  #closed: (() => void) | null = null;
  #abortTimer: NodeJS.Timeout | null = null;

  /** @internal */
  constructor(loop: Loop, id: number, address: string, port: number, fd: number, requestCb: RequestCb, eventCb: EventCb | undefined) {
    this.loop = loop;
    this.#id = id;
    this.address = address;
    this.port = port;
    this.fd = fd;
    this.requestCb = requestCb;
    this.eventCb = eventCb;
    this.#listening = id !== 0;
    if (id !== 0) {
      loop.register(id, this);
      loop.fnRegistry++;
      loop.servers++;
      loop.hold();
    }
  }

  /** True once `close()` was called (or when binding failed). */
  get closed(): boolean {
    return !this.#listening;
  }

  /** @internal A connection was accepted. */
  accepted(id: number, text: string): void {
    const conn = new HttpConnection(this, id, text);
    this.connections.add(conn);
    this.loop.register(id, conn);
    this.loop.incomingHttp++;
    this.loop.hold();
  }

  /** @internal A connection is gone. */
  connectionGone(conn: HttpConnection): void {
    const loop = this.loop;
    this.connections.delete(conn);
    loop.unregister(conn.id);
    loop.incomingHttp--;
    if (this.connections.size === 0 && this.#closed !== null) this.#settleClose();
    loop.release();
  }

  /** @internal Calls `requestCb` under the §5/§9 error policy. */
  dispatch(req: HttpRequest): void {
    try {
      this.requestCb(req);
    } catch (err) {
      const loop = this.loop;
      if (loop.catchAppErrors && req.socket.open) {
        if (req.state === NOT_STARTED) {
          try {
            req.respond({ status: 500 }, true);
          } catch {
            // The connection is going away regardless.
          }
        } else {
          loop.native.tcpClose(req.socket.id, true);
        }
      }
      loop.appError(err, this.eventCb);
    }
  }

  /**
   * Stops accepting at once. Graceful: idle connections close now, in-flight requests finish
   * (with `Connection: close`), and what is left after `timeout` seconds is aborted. Resolves
   * when every connection is gone.
   */
  close(opts: HttpCloseOpts = {}): Promise<void> {
    const graceful = opts.graceful ?? true;
    const timeout = seconds('timeout', opts.timeout) ?? DEFAULT_CLOSE_TIMEOUT;
    const loop = this.loop;
    if (this.#listening) {
      this.#listening = false;
      loop.native.httpCloseServer(this.#id, graceful);
      loop.unregister(this.#id);
      loop.fnRegistry--;
      loop.servers--;
      this.#closing = new Promise<void>((resolve) => {
        this.#closed = resolve;
      });
      if (this.connections.size === 0) this.#settleClose();
      else if (graceful) {
        this.#abortTimer = setTimeout(() => {
          this.#abortTimer = null;
          if (loop.running) loop.native.httpCloseServer(this.#id, false);
        }, timeout * 1000);
      }
      loop.release();
    } else if (!graceful && this.connections.size > 0 && loop.running) {
      loop.native.httpCloseServer(this.#id, false);
    }
    return this.#closing ?? Promise.resolve();
  }

  #settleClose(): void {
    if (this.#abortTimer !== null) clearTimeout(this.#abortTimer);
    this.#abortTimer = null;
    const done = this.#closed;
    this.#closed = null;
    done?.();
  }

  /** @internal Engine event on the listener. */
  onEvent(kind: number, a: number, b: number, arena: Buffer): void {
    if (kind === Kind.ServerError) {
      const e = decodeError(arena, a, b);
      this.loop.deliver(conditionFor(e.kind, e.errno, e.message, undefined, this.fd), this.eventCb);
    }
  }

  /** @internal The loop ended: everything is gone. */
  abandon(): void {
    this.#listening = false;
    for (const c of this.connections) c.abandon();
    this.connections.clear();
    this.#settleClose();
  }
}

// Accepted records for HTTP servers become connections; the rest go to the TCP module.
const tcpAccepted = hooks.accepted;
hooks.accepted = (loop: Loop, id: number, text: string): void => {
  const server = loop.objects.get(Number(text.slice(0, text.indexOf(' '))));
  if (server instanceof HttpServer) server.accepted(id, text);
  else tcpAccepted?.(loop, id, text);
};

/**
 * Serves HTTP/1.1 on `bind:port` (API.md §5). Listening when it returns; a bind failure goes to
 * `eventCb` (or `defaultEventCb`) and the returned server is closed.
 */
export function httpServer(
  bind: string | null | undefined,
  port: number,
  requestCb: RequestCb,
  eventCbOrOpts?: EventCb | HttpServerOpts,
): HttpServer {
  const loop = requireLoop();
  checkPort('httpServer', port);
  if (typeof requestCb !== 'function') throw new TypeError('httpServer: requestCb must be a function');
  const opts: HttpServerOpts = typeof eventCbOrOpts === 'function' ? { eventCb: eventCbOrOpts } : (eventCbOrOpts ?? {});
  const host = resolveBind(bind);
  const backlog = opts.backlog === undefined || opts.backlog < 0 ? 128 : opts.backlog;
  const res = loop.native.httpListen(
    {
      host,
      port,
      backlog,
      reuseAddress: true,
      reusePort: opts.reusePort ?? false,
      noDelay: true,
      allowHalfOpen: true,
    },
    {
      maxHeaderSize: positive('maxHeaderSize', opts.maxHeaderSize) ?? DEFAULT_MAX_HEADER_SIZE,
      maxBodySize: positive('maxBodySize', opts.maxBodySize) ?? DEFAULT_MAX_BODY_SIZE,
      requestTimeout: opts.requestTimeout === null ? undefined : (seconds('requestTimeout', opts.requestTimeout) ?? DEFAULT_REQUEST_TIMEOUT),
      keepAliveTimeout:
        opts.keepAliveTimeout === null ? undefined : (seconds('keepAliveTimeout', opts.keepAliveTimeout) ?? DEFAULT_KEEP_ALIVE_TIMEOUT),
      maxRequestsPerConnection: positive('maxRequestsPerConnection', opts.maxRequestsPerConnection) ?? 0,
      streamBody: opts.streamBody ?? false,
    },
  );
  if (res.errno === 0) return new HttpServer(loop, res.id, intern(res.address), res.port, res.fd, requestCb, opts.eventCb);
  const errcode = errnoName(res.errno);
  const cond = errcode === 'EADDRINUSE' ? new AddressInUse(res.message, { errcode }) : new ConnectionError(res.message, { errcode });
  loop.hold();
  setImmediate(() => {
    loop.deliver(cond, opts.eventCb);
    loop.release();
  });
  return new HttpServer(loop, 0, host, port, -1, requestCb, opts.eventCb);
}

function positive(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`httpServer: ${name} must be a non-negative number`);
  return Math.floor(v);
}

/**
 * Sends the whole response to `req` (API.md §5): `Content-Length`, `Date` and `Connection` are
 * added when absent; no body for HEAD, 204 and 304. Throws `TypeError` (nothing sent) for a
 * header with CR, LF or NUL, and `HttpError` for a second response to the same request.
 */
export function httpResponse(req: HttpRequest, opts: ResponseOpts = {}): void {
  if (!(req instanceof HttpRequest)) throw new TypeError('httpResponse: req must be an HttpRequest');
  req.respond(opts, false);
}
