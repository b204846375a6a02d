/**
 * Conditions: the classes passed to `eventCb`, all extending `Error`, each with a
 * stable string `code` (also static on its class). Thrown only where stated (`SocketClosed` by
 * operations on a closed socket, `EventLoopError` for loop misuse).
 */

/** Options every condition constructor accepts. */
export interface ConditionOptions {
  /** errno name such as `'ECONNRESET'`, a DNS code, or -1 when the library made the error. */
  errcode?: string | number;
  /** The socket concerned, when there is one. */
  socket?: unknown;
  /** Its OS descriptor. */
  fd?: number;
  /** HTTP status, for `HttpError`. */
  status?: number;
}

/** Informational condition about a connection; the root of the tree. */
export class ConnectionInfo extends Error {
  static readonly code: string = 'EVASYNC_CONNECTION_INFO';
  /** Stable code of the class. */
  readonly code: string;
  /** The socket concerned (the same object the application holds), if any. */
  socket: any;
  /** Its OS descriptor, or -1. */
  fd: number;
  constructor(message = '', opts: ConditionOptions = {}) {
    super(message);
    const ctor = new.target as unknown as { code: string; name: string };
    this.name = ctor.name;
    this.code = ctor.code;
    this.socket = opts.socket;
    this.fd = opts.fd ?? (opts.socket as { fd?: number } | undefined)?.fd ?? -1;
  }
}

/** The peer closed its side of the connection. */
export class ConnectionEof extends ConnectionInfo {
  static override readonly code: string = 'EVASYNC_CONNECTION_EOF';
}

/** A connection failed; `errcode` is the errno name ('ECONNRESET'…) or -1. */
export class ConnectionError extends ConnectionInfo {
  static override readonly code: string = 'EVASYNC_CONNECTION_ERROR';
  /** errno name, DNS code, or -1 where nothing fits. */
  errcode: string | number;
  /** What failed, naming the operation and the peer. */
  errmsg: string;
  constructor(message = '', opts: ConditionOptions = {}) {
    super(message, opts);
    this.errcode = opts.errcode ?? -1;
    this.errmsg = message;
  }
}

/** A timeout the library enforced (connect, read, write, HTTP exchange); errcode 'ETIMEDOUT'. */
export class ConnectionTimeout extends ConnectionError {
  static override readonly code: string = 'EVASYNC_CONNECTION_TIMEOUT';
}
/** The peer refused the connection. */
export class ConnectionRefused extends ConnectionError {
  static override readonly code: string = 'EVASYNC_CONNECTION_REFUSED';
}
/** The peer reset the connection. */
export class ConnectionReset extends ConnectionError {
  static override readonly code: string = 'EVASYNC_CONNECTION_RESET';
}
/** The address to listen on is in use. */
export class AddressInUse extends ConnectionError {
  static override readonly code: string = 'EVASYNC_ADDRESS_IN_USE';
}
/** A name did not resolve; errcode 'ENOTFOUND', 'ENODATA', 'ETIMEOUT', 'ESERVFAIL' or 'ECONNREFUSED'. */
export class DnsError extends ConnectionError {
  static override readonly code: string = 'EVASYNC_DNS_ERROR';
}
/** A TLS handshake or record failed. */
export class TlsError extends ConnectionError {
  static override readonly code: string = 'EVASYNC_TLS_ERROR';
}
/** Thrown by operations on a closed socket. */
export class SocketClosed extends ConnectionError {
  static override readonly code: string = 'EVASYNC_SOCKET_CLOSED';
}
/** A malformed or oversized HTTP message. */
export class HttpError extends ConnectionError {
  static override readonly code: string = 'EVASYNC_HTTP_ERROR';
  /** The HTTP status concerned, if any. */
  status?: number;
  constructor(message = '', opts: ConditionOptions = {}) {
    super(message, opts);
    this.status = opts.status;
  }
}

/** Misuse of the event loop itself (no loop running, a second loop on the same thread). */
export class EventLoopError extends Error {
  static readonly code: string = 'EVASYNC_EVENT_LOOP_ERROR';
  readonly code: string = EventLoopError.code;
  constructor(message: string) {
    super(message);
    this.name = 'EventLoopError';
  }
}
