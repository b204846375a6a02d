/**
 * The HTTP/1.1 client: requests go to the engine, which pools keep-alive
 * connections per origin, frames responses and retries an idempotent request once when a reused
 * connection turns out closed. Callback and Promise forms; redirects are followed here; an
 * `AbortSignal` cancels; `streamBody` hands the body over as a stream with backpressure.
 */
import { Readable } from 'node:stream';

import { EventKind } from '../binding';
import { abortReason, checkSignal, whenAborted } from './abort';
import { shown } from './args';
import { ConnectionError, type ConnectionInfo } from './conditions';
import { checkData, seconds, type Data } from './data';
import { encodeFields, fieldCount, type HeadersInit } from './http-server';
import { errorRecord, requireLoop, type Dispatchee, type Loop } from './loop';
import { checkUnixPath, type EventCb } from './tcp';
import { nativeTls, type TlsOptions, warnUnverified } from './tls';
import { copyOut } from './wire';

/** Options of `httpClient`. */
export interface HttpClientOpts {
  method?: string;
  headers?: HeadersInit;
  body?: Data;
  /** Seconds for the whole exchange (up to the head with `streamBody`) → ConnectionTimeout. */
  timeout?: number | null;
  /** Pool the connection for later requests (default true). */
  keepAlive?: boolean;
  /** Redirects (301, 302, 303, 307, 308) to follow (default 0). */
  maxRedirects?: number;
  /** Most connections to one origin at once (default 64); requests beyond wait. */
  maxConnections?: number;
  /** TLS client options for `https://`; verification is on by default. Connections
   * are pooled per origin and per TLS options (compared by value). */
  tls?: TlsOptions;
  /** Speak to this Unix socket; the URL's host goes in `Host`. Connections are
   * pooled per socket path; a redirect to another origin leaves the socket. */
  socketPath?: string;
  /** Cancels the request until the response (its head with `streamBody`) is in. */
  signal?: AbortSignal;
  /**
   * Promise form only: resolve once the head is in, with `body` an async-iterable `Readable`
   * whose backpressure reaches the socket. A body neither consumed nor destroyed holds its
   * connection; `body.destroy()` closes that connection instead of pooling it.
   */
  streamBody?: boolean;
}

/** What `httpClient`'s Promise form resolves with. */
export class HttpClientResponse<B extends Buffer | Readable = Buffer> {
  /** The status code. */
  readonly status: number;
  /** Header fields in wire order, names as sent. */
  readonly headers: Array<[string, string]>;
  /** The decoded body (a `Readable` with `streamBody: true`). */
  readonly body: B;

  /** @internal */
  constructor(status: number, headers: Array<[string, string]>, body: B) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /** The first value of header `name` (case-insensitive), or undefined. */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
  }

  /** The body as UTF-8 text (as fetch's `text()`). */
  async text(): Promise<string> {
    return (await this.#bytes()).toString('utf8');
  }

  /** The body parsed as JSON (as fetch's `json()`); rejects with the SyntaxError. */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  async #bytes(): Promise<Buffer> {
    const body = this.body as Buffer | Readable;
    if (Buffer.isBuffer(body)) return body;
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}

/** `requestCb` of the callback form: the status, the header fields in order, the whole body. */
export type ResponseCb = (status: number, headers: Array<[string, string]>, body: Buffer) => void;

const DEFAULT_MAX_CONNECTIONS = 64;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

type Done = (err: unknown, res?: HttpClientResponse<Buffer | Readable>) => void;

/** A request in flight, registered under its id until it settles (or its body is read). */
class ClientExchange implements Dispatchee {
  readonly #loop: Loop;
  readonly #id: number;
  readonly #done: Done;
  #settled = false;
  /** The streamed body, once the head is in. */
  #body: Readable | null = null;
  #stopAbort: () => void;

  constructor(loop: Loop, id: number, done: Done, signal: AbortSignal | undefined) {
    this.#loop = loop;
    this.#id = id;
    this.#done = done;
    loop.track(id, this);
    this.#stopAbort = whenAborted(signal, (reason) => this.#abort(reason));
  }

  /** The signal fired: before the result the request is cancelled; afterwards a body still
   * being read errors. */
  #abort(reason: unknown): void {
    if (!this.#settled) {
      this.#cancel();
      this.#settle(reason);
    } else if (this.#body !== null && !this.#body.readableEnded) {
      this.#body.destroy(reason as Error);
    }
  }

  #cancel(): void {
    if (this.#loop.running) this.#loop.native.httpClientCancel(this.#id);
    this.#release();
  }

  #released = false;
  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#stopAbort();
    this.#loop.untrack(this.#id);
  }

  /** @internal The response, its streamed head or body, or why there is none. */
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    switch (kind) {
      case EventKind.HttpClientFailed: {
        const err = errorRecord(r, i, arena);
        this.#release();
        if (!this.#settled) this.#settle(err);
        else this.#body?.destroy(err);
        return;
      }
      case EventKind.HttpResponse: {
        const [headers, end] = fields(r, i, arena);
        const off = r[i + 2]!;
        this.#release();
        this.#settle(null, new HttpClientResponse(r[i + 4]!, headers, copyOut(arena, end, off + r[i + 3]! - end)));
        return;
      }
      case EventKind.HttpResponseHead: {
        const [headers] = fields(r, i, arena);
        const id = this.#id;
        const loop = this.#loop;
        const body = new Readable({
          // Backpressure: a full stream stops the connection's reads; reading resumes them.
          read: () => {
            if (loop.running && !this.#released) loop.native.httpClientPause(id, false);
          },
          destroy: (err, cb) => {
            // Dropped before its end: the connection cannot be pooled.
            if (!this.#released) this.#cancel();
            cb(err);
          },
        });
        this.#body = body;
        this.#settle(null, new HttpClientResponse(r[i + 4]!, headers, body));
        return;
      }
      case EventKind.HttpResponseBody: {
        const body = this.#body;
        if (body === null || body.destroyed) return;
        if (r[i + 3]! > 0 && !body.push(copyOut(arena, r[i + 2]!, r[i + 3]!))) {
          if (this.#loop.running) this.#loop.native.httpClientPause(this.#id, true);
        }
        if (r[i + 4]! === 1) {
          this.#release();
          body.push(null);
        }
        return;
      }
    }
  }

  #settle(err: unknown, res?: HttpClientResponse<Buffer | Readable>): void {
    if (this.#settled) return;
    this.#settled = true;
    if (res === undefined || !(res.body instanceof Readable)) this.#stopAbort();
    this.#done(err, res);
  }

  /** @internal The loop ended: a body still streaming errors. */
  abandon(): void {
    this.#loop.fnRegistry--;
    this.#body?.destroy(new ConnectionError('the event loop ended while the body was being read'));
  }
}

/** Header fields of a response record (`name NUL value NUL …`) and where the body starts. */
function fields(r: Uint32Array, i: number, arena: Buffer): [Array<[string, string]>, number] {
  const off = r[i + 2]!;
  const end = off + r[i + 5]!;
  const headers: Array<[string, string]> = [];
  let p = off;
  while (p < end) {
    const z = arena.indexOf(0, p);
    const z2 = arena.indexOf(0, z + 1);
    headers.push([arena.toString('latin1', p, z), arena.toString('latin1', z + 1, z2)]);
    p = z2 + 1;
  }
  return [headers, end];
}

/** Sends one request (no redirects); settles through `done`. Throws TypeError for bad arguments. */
function send(loop: Loop, url: URL, opts: HttpClientOpts, stream: boolean, done: Done): void {
  const https = url.protocol === 'https:';
  const tls = https ? nativeTls('httpClient', opts.tls ?? {}) : undefined;
  if (https) warnUnverified(loop, opts.tls);
  const method = opts.method ?? 'GET';
  const fieldsText = encodeFields('httpClient', opts.headers);
  const body = opts.body ?? '';
  if (typeof body !== 'string') checkData('httpClient', body);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let id: number;
  try {
    id = loop.native.httpRequest(
      {
        host,
        port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
        method,
        target: `${url.pathname || '/'}${url.search}`,
        hostHeader: url.host,
        fieldCount,
        fields: fieldsText,
        timeout: seconds('timeout', opts.timeout ?? undefined),
        keepAlive: opts.keepAlive ?? true,
        maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        socketPath: opts.socketPath === undefined ? undefined : checkUnixPath('httpClient', opts.socketPath),
        streamBody: stream,
      },
      body as string | Uint8Array,
      tls,
    );
  } catch (err) {
    const message = (err as Error).message;
    throw new TypeError(message.startsWith('httpClient:') ? message : `httpClient: ${message}`);
  }
  new ClientExchange(loop, id, done, opts.signal);
}

/**
 * Sends an HTTP request. With `requestCb`, it is called as
 * `requestCb(status, headers, body)` and failures go to `eventCb` (else `defaultEventCb`);
 * without callbacks, returns a Promise of an {@link HttpClientResponse} that rejects with the
 * condition (bad arguments included). Adds `Host`, `Content-Length` and `User-Agent` when absent.
 *
 * @example
 * const res = await as.httpClient('https://example.com/api', { timeout: 5 });
 * console.log(res.status, res.header('content-type'), await res.json());
 */
export function httpClient(uri: string, opts: HttpClientOpts & { streamBody: true }): Promise<HttpClientResponse<Readable>>;
export function httpClient(uri: string, opts?: HttpClientOpts): Promise<HttpClientResponse>;
export function httpClient(uri: string, requestCb: ResponseCb | null | undefined, eventCb?: EventCb | null, opts?: HttpClientOpts): void;
export function httpClient(
  uri: string,
  cbOrOpts?: ResponseCb | HttpClientOpts | null,
  eventCb?: EventCb | null,
  maybeOpts?: HttpClientOpts,
): Promise<HttpClientResponse<Buffer | Readable>> | void {
  const loop = requireLoop();
  const requestCb = typeof cbOrOpts === 'function' ? cbOrOpts : undefined;
  const opts: HttpClientOpts = (typeof cbOrOpts === 'object' && cbOrOpts !== null ? cbOrOpts : maybeOpts) ?? {};
  if (requestCb === undefined && (eventCb === undefined || eventCb === null)) {
    // The Promise form never throws (but for a missing loop): bad arguments reject.
    return loop.operation<HttpClientResponse<Buffer | Readable>>((resolve, reject) => {
      try {
        start(loop, uri, opts, opts.streamBody === true, (err, r) => (err ? reject(err) : resolve(r!)));
      } catch (err) {
        reject(err);
      }
    });
  }
  if (opts.streamBody === true) throw new TypeError('httpClient: streamBody is for the Promise form only');
  start(loop, uri, opts, false, (err, r) => {
    if (err) loop.deliver(err as ConnectionInfo, eventCb ?? undefined);
    else if (requestCb) loop.callApp(eventCb ?? undefined, requestCb, r!.status, r!.headers, r!.body as Buffer);
  });
}

/** Checks the URL, sends the request and follows redirects; settles through `finish`. Throws
 * TypeError for bad arguments. */
function start(loop: Loop, uri: string, opts: HttpClientOpts, stream: boolean, finish: Done): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TypeError(`httpClient: uri must be an absolute http:// or https:// URL, not ${shown(uri)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`httpClient: unsupported scheme ${shown(url.protocol)}`);
  const signal = checkSignal('httpClient', opts.signal);
  if (signal?.aborted) {
    // Aborted at the call: no work, and never synchronously.
    const reason = abortReason(signal);
    loop.hold();
    queueMicrotask(() => {
      finish(reason);
      loop.release();
    });
    return;
  }
  let redirectsLeft = opts.maxRedirects ?? 0;
  let current = opts;
  const onDone: Done = (err, r) => {
    if (!err && r && redirectsLeft > 0 && REDIRECTS.has(r.status)) {
      const location = r.header('location');
      if (location !== undefined) {
        redirectsLeft--;
        r.body instanceof Readable && r.body.destroy();
        const from = url;
        url = new URL(location, url);
        // The socket serves its origin only: a redirect elsewhere goes over the network.
        if (current.socketPath !== undefined && url.origin !== from.origin) current = { ...current, socketPath: undefined };
        const toGet = r.status === 303 || ((r.status === 301 || r.status === 302) && current.method === 'POST');
        if (toGet) current = { ...current, method: 'GET', body: undefined };
        try {
          send(loop, url, current, stream, onDone);
        } catch (e) {
          finish(new ConnectionError(`redirect to ${url.href} failed: ${(e as Error).message}`));
        }
        return;
      }
    }
    finish(err, r);
  };
  send(loop, url, current, stream, onDone);
}

/**
 * Alias of `httpClient`.
 * @example
 * ```ts
 * const res = await as.httpRequest('http://127.0.0.1:8080/health', { timeout: 2 });
 * ```
 */
export const httpRequest = httpClient;
