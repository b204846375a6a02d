/**
 * The HTTP/1.1 client (API.md §6): requests go to the engine, which pools keep-alive
 * connections per origin, frames responses and retries an idempotent request once when a reused
 * connection turns out closed. Callback and Promise forms; redirects are followed here.
 */
import { ConnectionError, type ConnectionInfo } from './conditions';
import { checkData, seconds, type Data } from './data';
import { EventKind } from '../binding';
import { encodeFields, fieldCount, type HeadersInit } from './http-server';
import { errorRecord, requireLoop, type Dispatchee, type Loop } from './loop';
import { nativeTls, type TlsOptions, warnUnverified } from './tls';
import { copyOut } from './wire';
import { checkUnixPath, type EventCb } from './tcp';

/** Options of `httpClient`. */
export interface HttpClientOpts {
  method?: string;
  headers?: HeadersInit;
  body?: Data;
  /** Seconds for the whole exchange → ConnectionTimeout. */
  timeout?: number | null;
  /** Pool the connection for later requests (default true). */
  keepAlive?: boolean;
  /** Redirects (301, 302, 303, 307, 308) to follow (default 0). */
  maxRedirects?: number;
  /** Most connections to one origin at once (default 64); requests beyond wait. */
  maxConnections?: number;
  /** TLS client options for `https://` (API.md §8); verification is on by default. Connections
   * are pooled per origin and per TLS options (compared by value). */
  tls?: TlsOptions;
  /** Speak to this Unix socket (API.md §12); the URL's host goes in `Host`. Connections are
   * pooled per socket path; a redirect to another origin leaves the socket. */
  socketPath?: string;
}

/** A response: status, header fields in wire order, the decoded body. */
export interface HttpClientResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

export type ResponseCb = (status: number, headers: Array<[string, string]>, body: Buffer) => void;

const DEFAULT_MAX_CONNECTIONS = 64;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A request in flight, registered under its id until it settles. */
class ClientExchange implements Dispatchee {
  readonly #loop: Loop;
  readonly #id: number;
  readonly #done: (err: ConnectionInfo | null, res?: HttpClientResponse) => void;

  constructor(loop: Loop, id: number, done: (err: ConnectionInfo | null, res?: HttpClientResponse) => void) {
    this.#loop = loop;
    this.#id = id;
    this.#done = done;
    loop.track(id, this);
  }

  /** @internal The response, or why there is none. */
  onEvent(kind: number, r: Uint32Array, i: number, arena: Buffer): void {
    if (kind === EventKind.HttpClientFailed) {
      this.#settle(errorRecord(r, i, arena));
      return;
    }
    if (kind !== EventKind.HttpResponse) return;
    const off = r[i + 2]!;
    const len = r[i + 3]!;
    const headersLen = r[i + 5]!;
    const headers: Array<[string, string]> = [];
    let p = off;
    const end = off + headersLen;
    while (p < end) {
      const z = arena.indexOf(0, p);
      const z2 = arena.indexOf(0, z + 1);
      headers.push([arena.toString('latin1', p, z), arena.toString('latin1', z + 1, z2)]);
      p = z2 + 1;
    }
    this.#settle(null, { status: r[i + 4]!, headers, body: copyOut(arena, end, off + len - end) });
  }

  #settle(err: ConnectionInfo | null, res?: HttpClientResponse): void {
    this.#loop.untrack(this.#id);
    this.#done(err, res);
  }

  abandon(): void {
    this.#loop.fnRegistry--;
  }
}

/** Sends one request (no redirects); settles through `done`. */
function send(loop: Loop, url: URL, opts: HttpClientOpts, done: (err: ConnectionInfo | null, res?: HttpClientResponse) => void): void {
  const https = url.protocol === 'https:';
  const tls = https ? nativeTls('httpClient', opts.tls ?? {}) : undefined;
  if (https) warnUnverified(loop, opts.tls);
  const method = opts.method ?? 'GET';
  const fields = encodeFields('httpClient', opts.headers);
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
        fields,
        timeout: seconds('timeout', opts.timeout ?? undefined),
        keepAlive: opts.keepAlive ?? true,
        maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        socketPath: opts.socketPath === undefined ? undefined : checkUnixPath('httpClient', opts.socketPath),
      },
      body as string | Uint8Array,
      tls,
    );
  } catch (err) {
    const message = (err as Error).message;
    throw new TypeError(message.startsWith('httpClient:') ? message : `httpClient: ${message}`);
  }
  new ClientExchange(loop, id, done);
}

/**
 * Sends an HTTP request (API.md §6). With `requestCb`, it is called as
 * `requestCb(status, headers, body)` and failures go to `eventCb` (else `defaultEventCb`);
 * without callbacks, returns a Promise of `{ status, headers, body }` that rejects with the
 * condition. Adds `Host`, `Content-Length` and `User-Agent` when absent.
 */
export function httpClient(uri: string, opts?: HttpClientOpts): Promise<HttpClientResponse>;
export function httpClient(uri: string, requestCb: ResponseCb | null | undefined, eventCb?: EventCb | null, opts?: HttpClientOpts): Promise<HttpClientResponse> | void;
export function httpClient(
  uri: string,
  cbOrOpts?: ResponseCb | HttpClientOpts | null,
  eventCb?: EventCb | null,
  maybeOpts?: HttpClientOpts,
): Promise<HttpClientResponse> | void {
  const loop = requireLoop();
  const requestCb = typeof cbOrOpts === 'function' ? cbOrOpts : undefined;
  const opts: HttpClientOpts = (typeof cbOrOpts === 'object' && cbOrOpts !== null ? cbOrOpts : maybeOpts) ?? {};
  if (requestCb === undefined && (eventCb === undefined || eventCb === null)) {
    // The Promise form never throws (but for a missing loop): bad arguments reject.
    return new Promise<HttpClientResponse>((resolve, reject) => {
      start(loop, uri, opts, (err, r) => (err ? reject(err) : resolve(r!)));
    });
  }
  start(loop, uri, opts, (err, r) => {
    if (err) loop.deliver(err, eventCb ?? undefined);
    else if (requestCb) loop.callApp(eventCb ?? undefined, requestCb, r!.status, r!.headers, r!.body);
  });
}

/** Checks the URL, sends the request and follows redirects; settles through `finish`. Throws
 * TypeError for bad arguments. */
function start(loop: Loop, uri: string, opts: HttpClientOpts, finish: (err: ConnectionInfo | null, res?: HttpClientResponse) => void): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TypeError(`httpClient: ${JSON.stringify(uri)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`httpClient: unsupported scheme ${url.protocol}`);
  let redirectsLeft = opts.maxRedirects ?? 0;
  let current = opts;
  const onDone = (err: ConnectionInfo | null, r?: HttpClientResponse): void => {
    if (!err && r && redirectsLeft > 0 && REDIRECTS.has(r.status)) {
      const location = r.headers.find(([n]) => n.toLowerCase() === 'location')?.[1];
      if (location !== undefined) {
        redirectsLeft--;
        const from = url;
        url = new URL(location, url);
        // The socket serves its origin only: a redirect elsewhere goes over the network.
        if (current.socketPath !== undefined && url.origin !== from.origin) current = { ...current, socketPath: undefined };
        const toGet = r.status === 303 || ((r.status === 301 || r.status === 302) && current.method === 'POST');
        if (toGet) current = { ...current, method: 'GET', body: undefined };
        try {
          send(loop, url, current, onDone);
        } catch (e) {
          finish(new ConnectionError(`redirect to ${url.href} failed: ${(e as Error).message}`));
        }
        return;
      }
    }
    finish(err, r);
  };
  send(loop, url, current, onDone);
}

/** Alias of `httpClient` (API.md §6). */
export const httpRequest = httpClient;
