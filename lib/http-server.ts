/**
 * The HTTP/1.1 server. The engine parses, frames, orders pipelined responses and
 * enforces limits and timeouts; this side turns request records into `HttpRequest` objects
 * (fields decoded only when read) and responses into one native call each.
 */
import { inspect } from 'node:util';

import { EventKind, HttpRequestFlag, HttpResponseFlag, OpCode } from '../binding';
import { ConnectionError, HttpError, AddressInUse } from './conditions';
import { checkData, intern, seconds, type Data } from './data';
import { type Acceptor, errnoName, errorRecord, requireLoop, requireRunning, type Dispatchee, type Loop } from './loop';
import { checkPort, checkUnixPath, resolveBind, SocketFile, type EventCb } from './tcp';
import { answerSni, nativeTls, type TlsInfo, type TlsOptions, withTlsErrors } from './tls';
import { copyBytes, copyOut, endpoints } from './wire';
import { checkFunction, shown } from './args';

/** Header fields as `[name, value]` pairs in wire order, or a plain object. */
export type HeadersInit = Array<[string, string | number]> | Record<string, string | number | Array<string | number>>;

/** `requestCb` of `httpServer`. */
export type RequestCb = (req: HttpRequest) => void;

/** Options of `httpServer`. Times in seconds. */
export interface HttpServerOpts {
  eventCb?: EventCb;
  backlog?: number;
  reusePort?: boolean;
  /** Largest request head in bytes; larger ones get 431. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Most header fields in a request; more get 431. Default 256. */
  maxHeaders?: number;
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
  /** Serve HTTPS: ALPN offers `http/1.1` unless `tls.alpn` says otherwise. */
  tls?: TlsOptions;
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

const DEFAULT_CLOSE_TIMEOUT = 10;

/** Response states of a request. */
const NOT_STARTED = 0;
const STREAMING = 1;
const DONE = 2;

/** An accepted HTTP connection: what `req.socket` is. */
export class HttpConnection {
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
  /** What the TLS handshake established; null for plain HTTP. */
  readonly tls: TlsInfo | null;
  /** @internal The request whose body is streaming in. */
  streaming: HttpRequest | null = null;

  /** @internal An Accepted record. */
  constructor(server: HttpServer, id: number, r: Uint32Array, i: number, arena: Buffer) {
    this.server = server;
    this.id = id;
    this.fd = r[i + 3]!;
    const ports = r[i + 4]!;
    this.localPort = ports & 0xffff;
    this.remotePort = ports >>> 16;
    [this.localAddress, this.remoteAddress] = endpoints(r, i, arena);
    this.tls = server.loop.takeTls(id);
  }

  /** @internal Engine event: a request, a piece of a streamed body, or the end. */
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    if (kind === EventKind.HttpRequest) {
      const ext = r[i + 5]!;
      const [buf, at] = keep(arena, r[i + 2]!, r[i + 3]!);
      const req = new HttpRequest(this, r[i + 4]!, buf, at, r[i + 3]!, ext & 0xffff, ext >>> 16, r[i + 6]!, r[i + 7]!);
      if (!(ext & (HttpRequestFlag.Complete << 16))) this.streaming = req;
      this.server.dispatch(req);
    } else if (kind === EventKind.HttpBody || kind === EventKind.HttpBodyEnd) {
      const req = this.streaming;
      if (req === null) return;
      if (kind === EventKind.HttpBodyEnd) this.streaming = null;
      req.bodyPiece(copyOut(arena, r[i + 2]!, r[i + 3]!), kind === EventKind.HttpBodyEnd);
    } else if (kind === EventKind.Released) {
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

/**
 * Request bytes outlive the delivery that brought them (the engine reuses its arena), so each
 * request is copied into a slab: one bump allocation, no object per request; a slab is freed by
 * the garbage collector once no request of it is referenced. Big requests get a Buffer of their
 * own.
 */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_REQUEST = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;

/** Copies `len` bytes of `arena` at `off` somewhere that lasts; returns the Buffer and offset. */
function keep(arena: Buffer, off: number, len: number): [Buffer, number] {
  if (len > SLAB_MAX_REQUEST) return [copyOut(arena, off, len), 0];
  if (slabUsed + len > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const at = slabUsed;
  copyBytes(arena, off, len, slab, at);
  slabUsed = at + len;
  return [slab, at];
}

/** A request. Text fields are decoded from the batch arena when first read. */
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
    return this.#flags & HttpRequestFlag.Http10 ? '1.0' : '1.1';
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
    checkFunction('req.onBody: cb', cb);
    this.#bodyCb = cb;
    const queued = this.#bodyQueue;
    if (queued !== undefined) {
      this.#bodyQueue = undefined;
      queueMicrotask(() => {
        for (const [chunk, finished] of queued) this.#deliverBody(chunk, finished);
      });
    } else if (this.#flags & HttpRequestFlag.Complete) {
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
    const status = checkStatus('startResponse', opts.status ?? 200);
    const fields = encodeFields('startResponse', opts.headers);
    this.socket.server.loop.wire.http(OpCode.HttpStart, this.socket.id, this.seq, status, fieldCount, fields, undefined, 0);
    this.state = STREAMING;
  }

  /** A piece of a streamed response. */
  writeChunk(data: Data): void {
    requireRunning(this.socket.server.loop);
    if (this.state !== STREAMING) throw new HttpError('writeChunk: call startResponse first (or the response is finished)');
    checkData('writeChunk', data);
    this.socket.server.loop.wire.http(OpCode.HttpChunk, this.socket.id, this.seq, 0, 0, '', data as string | Uint8Array, 0);
  }

  /** Ends a streamed response. */
  finishResponse(): void {
    requireRunning(this.socket.server.loop);
    if (this.state !== STREAMING) throw new HttpError('finishResponse: call startResponse first (or the response is finished)');
    this.state = DONE;
    this.socket.server.loop.wire.http(OpCode.HttpFinish, this.socket.id, this.seq, 0, 0, '', undefined, 0);
  }

  /** @internal */
  #checkFresh(fn: string): void {
    requireRunning(this.socket.server.loop);
    if (this.state !== NOT_STARTED) throw new HttpError(`${fn}: a response was already started for ${this.method} ${this.uri}`);
  }

  /** @internal Sends a whole response. */
  respond(opts: ResponseOpts, close: boolean): void {
    this.#checkFresh('httpResponse');
    const status = checkStatus('httpResponse', opts.status ?? 200);
    const fields = encodeFields('httpResponse', opts.headers);
    const body = opts.body ?? '';
    if (typeof body !== 'string') checkData('httpResponse', body);
    if (declaredLength >= 0 && !(status < 200 || status === 204 || status === 304)) {
      const actual = typeof body === 'string' ? Buffer.byteLength(body) : (body as Uint8Array).byteLength;
      if (actual !== declaredLength) throw new TypeError(`httpResponse: Content-Length ${declaredLength} does not match the body (${actual} bytes)`);
    }
    this.socket.server.loop.wire.http(OpCode.HttpWhole, this.socket.id, this.seq, status, fieldCount, fields, body as string | Uint8Array, close ? HttpResponseFlag.Close : 0);
    this.state = DONE;
  }

  /** Method, uri, headers and body length. */
  toString(): string {
    return `HttpRequest ${this.method} ${this.uri} HTTP/${this.httpVersion} ${JSON.stringify(this.headers)} body ${this.body.length} bytes`;
  }

  /** What `console.log` shows: {@link HttpRequest.toString}. */
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
    throw new RangeError(`${fn}: status must be an integer from 100 to 999, not ${shown(status)}`);
  }
  return status;
}

/** Header names must be tokens; values may hold tab, visible ASCII and obs-text only. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The last encoding of each header array a response used, with the strings and numbers it was
 * made of: an application that answers with the same array every time pays for checking and
 * encoding it once. Checked item by item before reuse, so an array changed since is encoded
 * again.
 */
const encodedArrays = new WeakMap<object, { items: unknown[]; fields: string; count: number; declared: number }>();

function sameItems(items: unknown[], headers: unknown[]): boolean {
  if (items.length !== headers.length * 2) return false;
  for (let k = 0; k < headers.length; k++) {
    const pair = headers[k];
    if (!Array.isArray(pair) || pair.length !== 2 || pair[0] !== items[2 * k] || pair[1] !== items[2 * k + 1]) return false;
  }
  return true;
}

/** What `encodeFields` found besides the encoding (module state: one response at a time). */
export let fieldCount = 0;
let declaredLength = -1;

function field(fn: string, name: unknown, value: unknown): string {
  const n = String(name);
  const v = String(value);
  if (!TOKEN.test(n)) throw new TypeError(`${fn}: invalid header name ${JSON.stringify(n)}`);
  if (!VALUE.test(v)) throw new TypeError(`${fn}: invalid value for header ${JSON.stringify(n)} (CR, LF, NUL or another control character)`);
  if (n.length === 14 && n.toLowerCase() === 'content-length') declaredLength = /^\s*\d+\s*$/.test(v) ? Number(v) : -2;
  fieldCount++;
  return `${n}\0${v}\0`;
}

/**
 * Checks header fields (TypeError for a name that is not a token or a value with CR, LF, NUL or
 * other controls: nothing is sent) and encodes them as `name\0value\0…` for the response batch;
 * sets `fieldCount` and `declaredLength`.
 */
export function encodeFields(fn: string, headers: HeadersInit | undefined): string {
  fieldCount = 0;
  declaredLength = -1;
  if (headers === undefined || headers === null) return '';
  let s = '';
  if (Array.isArray(headers)) {
    const known = encodedArrays.get(headers);
    if (known !== undefined && sameItems(known.items, headers)) {
      fieldCount = known.count;
      declaredLength = known.declared;
      return known.fields;
    }
    const items: unknown[] = [];
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`${fn}: headers must be [name, value] pairs`);
      s += field(fn, pair[0], pair[1]);
      items.push(pair[0], pair[1]);
    }
    if (declaredLength === -2) throw new TypeError(`${fn}: Content-Length must be a non-negative integer`);
    if (items.every((x) => typeof x === 'string' || typeof x === 'number')) {
      // Flattened once (a concatenation is a rope until read), kept for this array.
      s.charCodeAt(0);
      encodedArrays.set(headers, { items, fields: s, count: fieldCount, declared: declaredLength });
    }
    return s;
  } else if (typeof headers === 'object') {
    for (const name of Object.keys(headers)) {
      const v = headers[name]!;
      if (Array.isArray(v)) for (const x of v) s += field(fn, name, x);
      else s += field(fn, name, v);
    }
  } else {
    throw new TypeError(`${fn}: headers must be an array of pairs or an object`);
  }
  if (declaredLength === -2) throw new TypeError(`${fn}: Content-Length must be a non-negative integer`);
  return s;
}

/** Where `httpServer` listens on a Unix socket. */
export interface UnixBind {
  path: string;
  /** Permission bits of the socket file, set before it listens. */
  mode?: number;
}

/** An HTTP server. */
export class HttpServer {
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
  /** @internal The TLS options' certificate callback, if any. */
  sniCallback: TlsOptions['sniCallback'] = undefined;
  /** The Unix socket path it listens on, or undefined for TCP. */
  path: string | undefined = undefined;
  #socketFile: SocketFile | null = null;

  /** @internal A Unix listener: remember its socket file, removed by close() and at loop exit. */
  adoptSocketFile(path: string): void {
    this.path = path;
    this.#socketFile = new SocketFile(path);
    this.loop.addExitCallback(() => this.#socketFile?.remove());
  }

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
      loop.track(id, this);
      loop.servers++;
    }
  }

  /** True once `close()` was called (or when binding failed). */
  get closed(): boolean {
    return !this.#listening;
  }

  /** @internal A connection was accepted. */
  accepted(id: number, r: Uint32Array, i: number, arena: Buffer): void {
    const conn = new HttpConnection(this, id, r, i, arena);
    this.connections.add(conn);
    this.loop.register(id, conn);
    this.loop.incomingHttp++;
    this.loop.hold();
  }

  /** @internal A TLS handshake asks which certificate to present. */
  sniRequest(id: number, name: string): void {
    if (this.sniCallback === undefined || !this.#listening) {
      this.loop.native.tlsConfigure(id, undefined, undefined, undefined);
      return;
    }
    answerSni(this.loop, id, name, this.sniCallback);
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

  /** @internal Calls `requestCb` under the error policy of `catchAppErrors`; a returned promise that rejects
   * counts as a throw. */
  dispatch(req: HttpRequest): void {
    let result: unknown;
    try {
      result = this.requestCb(req);
    } catch (err) {
      this.#appFailed(req, err);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.#appFailed(req, err));
    }
  }

  /** The application failed on `req`: with `catchAppErrors` the client gets 500 if no response
   * was started, else what was given is delivered (a started response ended) before the
   * connection closes; the error goes to `eventCb`, or ends the loop. */
  #appFailed(req: HttpRequest, err: unknown): void {
    const loop = this.loop;
    if (!loop.running) return;
    if (loop.catchAppErrors && req.socket.open) {
      if (req.state === NOT_STARTED) {
        try {
          req.respond({ status: 500 }, true);
        } catch {
          // The connection is going away regardless.
        }
      } else {
        loop.wire.op(OpCode.HttpCloseAfter, req.socket.id, req.seq);
      }
    }
    loop.appError(err, this.eventCb);
  }

  /**
   * Stops accepting at once. Graceful: idle connections close now, in-flight requests finish
   * (with `Connection: close`), and what is left after `timeout` seconds is aborted. Resolves
   * when every connection is gone.
   */
  close(opts: HttpCloseOpts = {}): Promise<void> {
    this.#socketFile?.remove();
    const graceful = opts.graceful ?? true;
    const timeout = seconds('timeout', opts.timeout) ?? DEFAULT_CLOSE_TIMEOUT;
    const loop = this.loop;
    // Responses queued before go out first: the close is an operation after them.
    if (this.#listening) {
      this.#listening = false;
      loop.wire.op(OpCode.HttpCloseServer, this.#id, graceful ? 1 : 0);
      // The listening socket is closed before close() returns, whichever the driver: a connect
      // made after it is refused, as with node:http.
      loop.flush();
      loop.native.tcpCloseServer(this.#id);
      loop.servers--;
      this.#closing = new Promise<void>((resolve) => {
        this.#closed = resolve;
      });
      if (this.connections.size === 0) this.#settleClose();
      else if (graceful) {
        this.#abortTimer = setTimeout(() => {
          this.#abortTimer = null;
          if (loop.running) loop.wire.op(OpCode.HttpCloseServer, this.#id, 0);
        }, timeout * 1000);
      }
      loop.untrack(this.#id);
    } else if (!graceful && this.connections.size > 0 && loop.running) {
      loop.wire.op(OpCode.HttpCloseServer, this.#id, 0);
    }
    return this.#closing ?? Promise.resolve();
  }

  /** `await using`: a graceful close, awaited. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #settleClose(): void {
    if (this.#abortTimer !== null) clearTimeout(this.#abortTimer);
    this.#abortTimer = null;
    const done = this.#closed;
    this.#closed = null;
    done?.();
  }

  /** @internal Engine event on the listener. */
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    if (kind === EventKind.ServerError) this.loop.deliver(errorRecord(r, i, arena, undefined, this.fd), this.eventCb);
  }

  /** @internal The loop ended: everything is gone. */
  abandon(): void {
    this.#listening = false;
    for (const c of this.connections) c.abandon();
    this.connections.clear();
    this.#settleClose();
  }
}

/**
 * Serves HTTP/1.1 on `bind:port`. Listening when it returns; a bind failure goes to
 * `eventCb` (or `defaultEventCb`) and the returned server is closed.
 * @example
 * ```ts
 * const server = as.httpServer('127.0.0.1', 8080, (req) => {
 *   as.httpResponse(req, {
 *     headers: [['Content-Type', 'text/plain']],
 *     body: `hello ${req.resource}`,
 *   });
 * }, { keepAliveTimeout: 5, maxBodySize: 1 << 20 });
 * // later: await server.close();
 * ```
 */
export function httpServer(
  bind: string | null | undefined | UnixBind,
  port: number,
  requestCb: RequestCb,
  eventCbOrOpts?: EventCb | HttpServerOpts,
): HttpServer {
  const loop = requireLoop();
  const unix = bind !== null && typeof bind === 'object' ? bind : undefined;
  if (unix === undefined) checkPort('httpServer', port);
  checkFunction('httpServer: requestCb', requestCb);
  const opts: HttpServerOpts = typeof eventCbOrOpts === 'function' ? { eventCb: eventCbOrOpts } : (eventCbOrOpts ?? {});
  const host = unix === undefined ? resolveBind(bind, 'httpServer') : unix.path;
  const path = unix === undefined ? undefined : checkUnixPath('httpServer', unix.path);
  const backlog = opts.backlog === undefined || opts.backlog < 0 ? 128 : opts.backlog;
  const tls = opts.tls === undefined ? undefined : nativeTls('httpServer', opts.tls);
  const res = withTlsErrors('httpServer', () => loop.native.httpListen(
    {
      host: unix === undefined ? host : '',
      port: unix === undefined ? port : 0,
      backlog,
      reuseAddress: true,
      reusePort: opts.reusePort ?? false,
      noDelay: true,
      allowHalfOpen: true,
      path,
      mode: unix?.mode,
    },
    {
      // Absent options take the engine's defaults (16 KiB, 1 MiB, 60 s, 5 s); null turns a
      // timeout off (0 to the engine).
      maxHeaderSize: positive('maxHeaderSize', opts.maxHeaderSize),
      maxHeaders: positive('maxHeaders', opts.maxHeaders),
      maxBodySize: positive('maxBodySize', opts.maxBodySize),
      requestTimeout: opts.requestTimeout === null ? 0 : seconds('requestTimeout', opts.requestTimeout),
      keepAliveTimeout: opts.keepAliveTimeout === null ? 0 : seconds('keepAliveTimeout', opts.keepAliveTimeout),
      maxRequestsPerConnection: positive('maxRequestsPerConnection', opts.maxRequestsPerConnection),
      streamBody: opts.streamBody,
    },
    tls,
  ));
  if (res.errno === 0) {
    const server = new HttpServer(loop, res.id, intern(res.address), res.port, res.fd, requestCb, opts.eventCb);
    server.sniCallback = opts.tls?.sniCallback;
    if (unix !== undefined) server.adoptSocketFile(unix.path);
    return server;
  }
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
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`httpServer: ${name} must be a non-negative number, not ${shown(v)}`);
  return Math.floor(v);
}

/**
 * Sends the whole response to `req`: `Content-Length`, `Date` and `Connection` are
 * added when absent; no body for HEAD, 204 and 304. Throws `TypeError` (nothing sent) for a
 * header with CR, LF or NUL, and `HttpError` for a second response to the same request.
 * @example
 * ```ts
 * as.httpResponse(req, { status: 404, headers: { 'Content-Type': 'text/plain' }, body: 'not here' });
 * ```
 */
export function httpResponse(req: HttpRequest, opts: ResponseOpts = {}): void {
  if (!(req instanceof HttpRequest)) throw new TypeError(`httpResponse: req must be an HttpRequest, not ${shown(req)}`);
  req.respond(opts, false);
}
