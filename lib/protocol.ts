/**
 * asyncio's Protocol/Transport API over the engine's sockets: `createServer`,
 * `createConnection`, `Transport`, `Server`. Where the contract is silent, asyncio's selector
 * transports are the reference. Sockets under a transport are half-open in the engine: the
 * transport decides what the peer's EOF means (`eofReceived`'s return value).
 */
import { ConnectionError, ConnectionInfo } from './conditions';
import { checkData, type Data } from './data';
import { type Loop, requireLoop } from './loop';
import { bindPipe, bindServer, type Callbacks, checkPort, checkUnixPath, closeSocket, pipeConnect, type Socket, tcpConnect, TcpServer } from './tcp';
import { nativeTls, type TlsOptions } from './tls';
import { cipherBits } from './tls-info';
import { checkFunction, shown } from './args';

/** asyncio's Protocol, camelCased. Every method is optional. */
export interface Protocol {
  /** The connection is up (after the TLS handshake); keep the transport to write with. */
  connectionMade?(transport: Transport): void;
  /** Bytes arrived (no framing: any split of what the peer sent). */
  dataReceived?(data: Buffer): void;
  /** A truthy return keeps the write side open (half-close); falsy closes the transport. */
  eofReceived?(): boolean | void;
  /** The connection is gone: `null` after a normal close, else the condition or the exception. */
  connectionLost?(exc: Error | null): void;
  /** The transport's write buffer went over its high watermark: stop writing. */
  pauseWriting?(): void;
  /** The write buffer drained to its low watermark: write again. */
  resumeWriting?(): void;
}

const DEFAULT_HIGH = 64 * 1024;
/** asyncio warns from the 5th write after close on. */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

/** The transport of one connection. Valid until its loop ends; `getExtraInfo` keeps working after close. */
export class Transport {
  readonly #socket: Socket;
  readonly #loop: Loop;
  #protocol: Protocol;
  #closing = false;
  #eofWritten = false;
  #reading = true;
  #writingPaused = false;
  #lost = false;
  #lostExc: Error | null = null;
  #connLostWrites = 0;
  /** Called once when the connection is gone (the Server's bookkeeping). */
  onGone?: (t: Transport) => void;

  /** @internal */
  constructor(socket: Socket, protocol: Protocol) {
    this.#socket = socket;
    this.#loop = socket.loop;
    this.#protocol = protocol;
  }

  /** Calls a protocol method under asyncio's rules and `catchAppErrors`: an exception goes to `defaultEventCb` with
   * `catchAppErrors` (the transport is aborted and `connectionLost` gets the exception), or ends
   * the loop without it. */
  #call<K extends keyof Protocol>(name: K, ...args: Parameters<NonNullable<Protocol[K]>>): ReturnType<NonNullable<Protocol[K]>> | undefined {
    const fn = this.#protocol[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof fn !== 'function') return undefined;
    try {
      return fn.apply(this.#protocol, args) as ReturnType<NonNullable<Protocol[K]>>;
    } catch (err) {
      this.#protocolError(err, name === 'connectionLost');
      return undefined;
    }
  }

  #protocolError(err: unknown, fromLost: boolean): void {
    const loop = this.#loop;
    if (!loop.running) return;
    if (!loop.catchAppErrors) {
      loop.finish(err);
      return;
    }
    loop.callEventCb(loop.defaultEventCb, err);
    if (!fromLost && !this.#lost) {
      this.#lostExc = err instanceof Error ? err : new Error(String(err));
      this.#abortSocket();
    }
  }

  #abortSocket(): void {
    this.#closing = true;
    if (!this.#socket.closed) closeSocket(this.#socket, { force: true });
  }

  /** @internal Connected: `connectionMade`, then reading starts. */
  made(): void {
    this.#call('connectionMade', this);
  }

  /** @internal Bytes arrived. */
  data(data: Buffer): void {
    if (this.#lost || this.#closing && this.#lostExc !== null) return;
    this.#call('dataReceived', data);
  }

  /** @internal The peer's EOF. */
  eof(): void {
    if (this.#lost) return;
    const keepOpen = this.#call('eofReceived');
    if (!keepOpen && !this.#socket.closed && this.#lostExc === null) this.close();
  }

  /** @internal The connection failed (reset, timeout, …): remember why for connectionLost. */
  failed(err: ConnectionError): void {
    this.#closing = true;
    this.#lostExc ??= err;
  }

  /** @internal The engine let go: `connectionLost`, exactly once. */
  released(): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#closing = true;
    this.onGone?.(this);
    this.#call('connectionLost', this.#lostExc);
  }

  /** @internal The socket's buffer fell to the low watermark. */
  drained(): void {
    if (this.#writingPaused) {
      this.#writingPaused = false;
      this.#call('resumeWriting');
    }
  }

  #maybePause(): void {
    if (!this.#writingPaused && this.#socket.writeBufferSize > this.#socket.getWriteBufferLimits()[1]) {
      this.#writingPaused = true;
      this.#call('pauseWriting');
    }
  }

  /** Queues `data` (string as UTF-8). Dropped after close (warning from the 5th such write on);
   * throws after `writeEof()`. May call `pauseWriting` before it returns. */
  write(data: Data): void {
    checkData('Transport.write', data);
    if (this.#eofWritten) throw new Error('Transport.write: cannot write after writeEof()');
    if (this.#closing || this.#socket.closed) {
      if (++this.#connLostWrites >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) {
        this.#loop.log(4, 'evasync: Transport.write() after close is ignored (socket.send() raised exception).');
      }
      return;
    }
    if ((typeof data === 'string' ? data.length : data.byteLength) === 0) return;
    this.#socket.write(data);
    this.#maybePause();
  }

  /** Writes each item in order. */
  writelines(list: Iterable<Data>): void {
    for (const d of list) this.write(d);
  }

  /** Closes the write side once the buffer drains (FIN). Idempotent. */
  writeEof(): void {
    if (this.#eofWritten || this.#closing) return;
    this.#eofWritten = true;
    this.#socket.shutdownWrite();
  }

  /** True: TCP can half-close. */
  canWriteEof(): boolean {
    return true;
  }

  /** Flushes what is buffered, closes, then `connectionLost(null)`. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    if (!this.#socket.closed) closeSocket(this.#socket);
  }

  /** Drops what is buffered and closes at once (the peer may see a reset), then `connectionLost(null)`. */
  abort(): void {
    if (this.#lost) return;
    this.#abortSocket();
  }

  /** True once closing or closed. */
  isClosing(): boolean {
    return this.#closing;
  }

  /** `'peername'`, `'sockname'` (`[host, port]`), `'socket'` (fd); over TLS `'peercert'`
   * (`PeerCertificate | null`), `'cipher'` (`[name, protocol, bits]`) and `'ssl_object'`
   * (`'sslObject'` too: the socket's `tls`). */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    const s = this.#socket;
    switch (name) {
      // A Unix socket (no ports): the path, as asyncio ('' for an unnamed peer).
      case 'peername':
        if (s.remoteAddress === undefined) return defaultValue;
        return s.remotePort === 0 && s.localPort === 0 ? s.remoteAddress : [s.remoteAddress, s.remotePort];
      case 'sockname':
        if (s.localAddress === undefined) return defaultValue;
        return s.remotePort === 0 && s.localPort === 0 ? s.localAddress : [s.localAddress, s.localPort];
      case 'socket':
        return s.fd >= 0 ? s.fd : defaultValue;
      case 'peercert':
        return s.tls === null ? defaultValue : s.tls.peerCertificate;
      case 'cipher':
        return s.tls === null ? defaultValue : [s.tls.cipher, s.tls.protocol, cipherBits(s.tls.cipher)];
      case 'ssl_object':
      case 'sslObject':
        return s.tls ?? defaultValue;
      default:
        return defaultValue;
    }
  }

  /** Switches the protocol (no `connectionMade` on the new one). */
  setProtocol(protocol: Protocol): void {
    this.#protocol = protocol;
  }

  /** The protocol this transport calls. */
  getProtocol(): Protocol {
    return this.#protocol;
  }

  /** Stops `dataReceived` until `resumeReading()` (TCP slows the peer). */
  pauseReading(): void {
    if (!this.#reading || this.#closing) return;
    this.#reading = false;
    this.#socket.setReading(false);
  }

  /** Starts `dataReceived` again after `pauseReading()`. */
  resumeReading(): void {
    if (this.#reading || this.#closing) return;
    this.#reading = true;
    this.#socket.setReading(true);
  }

  /** Whether `dataReceived` may run (not paused, not closing). */
  isReading(): boolean {
    return this.#reading && !this.#closing;
  }

  /** `high` alone: low = high / 4; `low` alone: high = 4 × low; none: the defaults. May pause at once. */
  setWriteBufferLimits(high?: number, low?: number): void {
    let hi = high;
    let lo = low;
    if (hi === undefined) hi = lo === undefined ? DEFAULT_HIGH : 4 * lo;
    if (lo === undefined) lo = Math.floor(hi / 4);
    if (!(hi >= lo && lo >= 0)) throw new RangeError(`high (${hi}) must be >= low (${lo}) must be >= 0`);
    // The socket's watermarks are the transport's: they drive `drainCb`, hence `resumeWriting`.
    this.#socket.setWriteBufferLimits(hi, lo);
    this.#maybePause();
  }

  /** `[low, high]`, as asyncio. */
  getWriteBufferLimits(): [number, number] {
    return this.#socket.getWriteBufferLimits();
  }

  /** Bytes written but not yet handed to the kernel (0 after `abort()`). */
  getWriteBufferSize(): number {
    return this.#socket.writeBufferSize;
  }

  /** @internal */
  get socket(): Socket {
    return this.#socket;
  }
}

/** Socket callbacks that drive a transport. */
function transportCallbacks(onMade: (s: Socket) => void): Callbacks {
  const of = (s: Socket) => s.data as Transport | undefined;
  return {
    stream: false,
    connectCb: onMade,
    readCb: (s, data: Buffer) => of(s)?.data(data),
    eventCb: (ev) => {
      if (!(ev instanceof ConnectionInfo) || ev.socket === undefined) {
        // A listener's condition (a failed TLS handshake, EMFILE): asyncio logs these through
        // the loop's exception handler, here `defaultEventCb`.
        const loop = requireLoop();
        loop.callEventCb(loop.defaultEventCb, ev);
        return;
      }
      const t = of(ev.socket as Socket);
      if (!t) return;
      if (ev instanceof ConnectionError) t.failed(ev);
      else t.eof();
    },
    drainCb: (s) => of(s)?.drained(),
    released: (s) => of(s)?.released(),
  };
}

/**
 * The callbacks of an outgoing connection (TCP or Unix) that becomes a `Transport` for the
 * factory's protocol once connected: the promise resolves with both then, or rejects with the
 * condition that failed the connect (or what the factory threw, closing the socket).
 */
function connectingTransport<P extends Protocol>(
  protocolFactory: () => P,
  resolve: (v: [Transport, P]) => void,
  reject: (e: unknown) => void,
): { readCb: Callbacks['readCb']; callbacks: Omit<Callbacks, 'readCb' | 'stream'> & { allowHalfOpen: true } } {
  let settled = false;
  const cbs = transportCallbacks(() => {});
  return {
    readCb: cbs.readCb,
    callbacks: {
      allowHalfOpen: true,
      drainCb: cbs.drainCb,
      connectCb: (s) => {
        let protocol: P;
        try {
          protocol = protocolFactory();
        } catch (err) {
          settled = true;
          closeSocket(s, { force: true });
          reject(err);
          return;
        }
        const t = new Transport(s, protocol);
        s.data = t;
        t.made();
        settled = true;
        resolve([t, protocol]);
      },
      eventCb: (ev) => {
        if (!settled) {
          settled = true;
          reject(ev);
          return;
        }
        cbs.eventCb!(ev);
      },
      released: cbs.released,
    },
  };
}

/** Options of `createConnection`. */
export interface ConnectionOptions {
  family?: 0 | 4 | 6;
  localAddress?: string;
  /** Speak TLS; `true` (asyncio's `ssl=True`) means the defaults. */
  tls?: TlsOptions | boolean;
  /** asyncio's name for `tls`. */
  ssl?: TlsOptions | boolean;
  /** asyncio's name for `tls.serverName`. */
  serverHostname?: string;
  /** asyncio's name for `tls.handshakeTimeout` (seconds). */
  sslHandshakeTimeout?: number;
  /** Cancels the connect (and TLS handshake) until `connectionMade`. */
  signal?: AbortSignal;
}

/** The TLS options of asyncio-style options (`tls` or `ssl`, plus asyncio's separate names). */
function tlsOf(opts: ConnectionOptions | CreateServerOptions | UnixConnectionOptions | UnixServerOptions): TlsOptions | undefined {
  const given = opts.tls ?? opts.ssl;
  if (given === undefined || given === false) return undefined;
  if (given !== true && (given === null || typeof given !== 'object')) {
    throw new TypeError(`tls must be an object or a boolean, not ${shown(given)}`);
  }
  const tls: TlsOptions = given === true ? {} : { ...given };
  const name = (opts as ConnectionOptions).serverHostname;
  if (name !== undefined) tls.serverName = name;
  if (opts.sslHandshakeTimeout !== undefined) tls.handshakeTimeout = opts.sslHandshakeTimeout;
  return tls;
}

/** Connects and resolves `[transport, protocol]` after `connectionMade` ran; rejects with the
 * connection's condition (ConnectionRefused, DnsError, ConnectionTimeout, …).
 * @example
 * ```ts
 * class Client implements as.Protocol {
 *   connectionMade(t: as.Transport) { t.write('hello'); }
 *   dataReceived(data: Buffer) { console.log(data.toString()); }
 * }
 * const [transport, protocol] = await as.createConnection(() => new Client(), '127.0.0.1', 7000);
 * ```
 */
export function createConnection<P extends Protocol>(
  protocolFactory: () => P,
  host: string,
  port: number,
  opts: ConnectionOptions = {},
): Promise<[Transport, P]> {
  const loop = requireLoop();
  return loop.operation((resolve, reject) => {
    checkFunction('createConnection: protocolFactory', protocolFactory);
    const { readCb, callbacks } = connectingTransport(protocolFactory, resolve, reject);
    tcpConnect(host, port, readCb, {
      signal: opts.signal,
      tls: tlsOf(opts),
      family: opts.family,
      localAddress: opts.localAddress,
      ...callbacks,
    } as Parameters<typeof tcpConnect>[3]);
  });
}

/** Options of `createServer`. */
export interface CreateServerOptions {
  family?: 0 | 4 | 6;
  backlog?: number;
  reuseAddress?: boolean;
  reusePort?: boolean;
  /** Listen on this inherited descriptor. */
  sock?: number;
  /** Speak TLS. */
  tls?: TlsOptions | boolean;
  /** asyncio's name for `tls`. */
  ssl?: TlsOptions | boolean;
  /** asyncio's name for `tls.handshakeTimeout` (seconds). */
  sslHandshakeTimeout?: number;
  startServing?: boolean;
}

/** An address a Server listens on. */
export interface ServerSocket {
  address: string;
  port: number;
  family: 4 | 6;
}

/** asyncio's Server. */
export class Server {
  readonly #servers: TcpServer[];
  readonly #transports = new Set<Transport>();
  #serving: boolean;
  #closed = false;
  #closeWaiters: Array<() => void> = [];
  #goneWaiters: Array<() => void> = [];

  /** @internal */
  constructor(servers: TcpServer[], serving: boolean) {
    this.#servers = servers;
    this.#serving = serving;
  }

  /** @internal A connection was accepted. */
  adopt(t: Transport): void {
    this.#transports.add(t);
    t.onGone = () => {
      this.#transports.delete(t);
      this.#checkGone();
    };
  }

  /** The bound addresses. */
  get sockets(): ServerSocket[] {
    return this.#servers.map((s) => ({ address: s.address, port: s.port, family: s.address.includes(':') ? 6 : 4 }));
  }

  /** Whether the server accepts connections (after `startServing()`, before `close()`). */
  isServing(): boolean {
    return this.#serving && !this.#closed;
  }

  /** Starts accepting (when made with `startServing: false`). */
  async startServing(): Promise<void> {
    if (this.#closed || this.#serving) return;
    this.#serving = true;
    for (const s of this.#servers) s.serve();
  }

  /** Starts serving if needed; resolves once `close()` is called. */
  serveForever(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    void this.startServing();
    return new Promise((r) => this.#closeWaiters.push(r));
  }

  /** Stops listening; open connections stay. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#serving = false;
    for (const s of this.#servers) s.close();
    for (const w of this.#closeWaiters.splice(0)) w();
    this.#checkGone();
  }

  /** `await using`: stops listening, closes every connection (flushing) and waits for them. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    this.closeClients();
    await this.waitClosed();
  }

  /** Resolves once closed and every connection is gone. */
  waitClosed(): Promise<void> {
    if (this.#closed && this.#transports.size === 0) return Promise.resolve();
    return new Promise((r) => this.#goneWaiters.push(r));
  }

  /** Closes every connection (flushing). */
  closeClients(): void {
    for (const t of [...this.#transports]) t.close();
  }

  /** Aborts every connection. */
  abortClients(): void {
    for (const t of [...this.#transports]) t.abort();
  }

  #checkGone(): void {
    if (this.#closed && this.#transports.size === 0) for (const w of this.#goneWaiters.splice(0)) w();
  }
}

function hostsFor(host: string | string[] | null | undefined, family: number): string[] {
  let hosts: string[];
  if (host === null || host === undefined || host === '') hosts = family === 6 ? ['::'] : family === 4 ? ['0.0.0.0'] : ['0.0.0.0', '::'];
  else hosts = Array.isArray(host) ? host : [host];
  hosts = hosts.map((h) => (h === 'localhost' ? '127.0.0.1' : h));
  return [...new Set(hosts)];
}

/** Listens on `host` (null: `0.0.0.0` and `::`; a list: each distinct host) and `port` (0: one
 * free port, shared by every host), making a protocol per connection. Rejects with
 * `AddressInUse` when the port is taken.
 * @example
 * ```ts
 * class Echo implements as.Protocol {
 *   t?: as.Transport;
 *   connectionMade(t: as.Transport) { this.t = t; }
 *   dataReceived(data: Buffer) { this.t!.write(data); }
 * }
 * const server = await as.createServer(() => new Echo(), '127.0.0.1', 7000);
 * ```
 */
export function createServer(
  protocolFactory: () => Protocol,
  host: string | string[] | null,
  port: number,
  opts: CreateServerOptions = {},
): Promise<Server> {
  const loop = requireLoop();
  let tls: TlsOptions | undefined;
  try {
    checkFunction('createServer: protocolFactory', protocolFactory);
    checkPort('createServer', port);
    tls = tlsOf(opts);
    if (tls !== undefined) nativeTls('createServer', tls);
  } catch (e) {
    return Promise.reject(e);
  }
  const serving = opts.startServing ?? true;
  const hosts = opts.sock !== undefined ? ['0.0.0.0'] : hostsFor(host, opts.family ?? 0);
  const bothFamilies = hosts.some((h) => h.includes(':')) && hosts.some((h) => !h.includes(':'));
  const servers: TcpServer[] = [];
  let server: Server | null = null;
  const cbs = transportCallbacks((s) => {
    let protocol: Protocol;
    try {
      protocol = protocolFactory();
    } catch (err) {
      closeSocket(s, { force: true });
      loop.appError(err);
      return;
    }
    const t = new Transport(s, protocol);
    s.data = t;
    server?.adopt(t);
    t.made();
  });
  let boundPort = port;
  for (const h of hosts) {
    let res: TcpServer | ConnectionError;
    try {
      res = bindServer(loop, h, boundPort, cbs, {
      tls,
      backlog: opts.backlog ?? 100,
      reuseAddress: opts.reuseAddress ?? true,
      reusePort: opts.reusePort ?? false,
      fd: opts.sock,
      allowHalfOpen: true,
      drainCb: cbs.drainCb,
    }, { ipv6Only: bothFamilies, paused: !serving, fn: 'createServer' });
    } catch (e) {
      for (const s of servers) s.close();
      return Promise.reject(e);
    }
    if (!(res instanceof TcpServer)) {
      for (const s of servers) s.close();
      return Promise.reject(res);
    }
    servers.push(res);
    boundPort = res.port;
  }
  server = new Server(servers, serving);
  return Promise.resolve(server);
}

/** Options of `createUnixConnection`. */
export interface UnixConnectionOptions {
  tls?: TlsOptions | boolean;
  ssl?: TlsOptions | boolean;
  serverHostname?: string;
  sslHandshakeTimeout?: number;
  /** Cancels the connect (and TLS handshake) until `connectionMade`. */
  signal?: AbortSignal;
}

/** asyncio's `create_unix_connection`: resolves `[transport, protocol]` once `connectionMade`
 * ran; `getExtraInfo('peername')` is the path.
 * @example
 * ```ts
 * const [transport] = await as.createUnixConnection(() => new Client(), '/tmp/echo.sock');
 * ```
 */
export function createUnixConnection<P extends Protocol>(
  protocolFactory: () => P,
  path: string,
  opts: UnixConnectionOptions = {},
): Promise<[Transport, P]> {
  const loop = requireLoop();
  return loop.operation((resolve, reject) => {
    checkFunction('createUnixConnection: protocolFactory', protocolFactory);
    const { readCb, callbacks } = connectingTransport(protocolFactory, resolve, reject);
    pipeConnect(path, readCb, {
      signal: opts.signal,
      tls: tlsOf(opts),
      ...callbacks,
    } as Parameters<typeof pipeConnect>[2]);
  });
}

/** Options of `createUnixServer`. */
export interface UnixServerOptions {
  backlog?: number;
  /** Listen on this inherited Unix socket descriptor. */
  sock?: number;
  tls?: TlsOptions | boolean;
  ssl?: TlsOptions | boolean;
  sslHandshakeTimeout?: number;
  /** Permission bits of the socket file, set before it listens. */
  mode?: number;
  startServing?: boolean;
}

/** asyncio's `create_unix_server`: listens on `path`, a protocol per connection;
 * `Server.close()` removes the socket file.
 * @example
 * ```ts
 * const server = await as.createUnixServer(() => new Echo(), '/tmp/echo.sock');
 * ```
 */
export function createUnixServer(protocolFactory: () => Protocol, path: string, opts: UnixServerOptions = {}): Promise<Server> {
  const loop = requireLoop();
  if (typeof protocolFactory !== 'function') return Promise.reject(new TypeError('createUnixServer: protocolFactory must be a function'));
  const serving = opts.startServing ?? true;
  let server: Server | null = null;
  const cbs = transportCallbacks((s) => {
    let protocol: Protocol;
    try {
      protocol = protocolFactory();
    } catch (err) {
      closeSocket(s, { force: true });
      loop.appError(err);
      return;
    }
    const t = new Transport(s, protocol);
    s.data = t;
    server?.adopt(t);
    t.made();
  });
  let res: TcpServer | ConnectionError;
  try {
    const tls = tlsOf(opts);
    const bytes = checkUnixPath('createUnixServer', path);
    res = bindPipe(loop, path, bytes, cbs, {
      tls,
      backlog: opts.backlog ?? 100,
      fd: opts.sock,
      mode: opts.mode,
      allowHalfOpen: true,
      drainCb: cbs.drainCb,
    }, { paused: !serving, fn: 'createUnixServer' });
  } catch (e) {
    return Promise.reject(e);
  }
  if (!(res instanceof TcpServer)) return Promise.reject(res);
  server = new Server([res], serving);
  return Promise.resolve(server);
}
