/**
 * TLS: options checked and normalised for the engine, SNI callbacks and STARTTLS (what a
 * handshake established and the error codes are in ./tls-info). The engine does the protocol
 * (rustls); this side only converts.
 */
import { TlsError } from './conditions';
import type { Loop } from './loop';
import { shown } from './args';

export type { PeerCertificate, TlsInfo } from './tls-info';

/** A PEM item: text or bytes. */
export type Pem = string | Buffer;

/** A certificate and key (an SNI entry, an SNI callback's answer). */
export interface CertKey {
  cert: Pem | Pem[];
  key: Pem;
}

/** TLS options. */
export interface TlsOptions {
  /** This end's certificate chain, PEM, leaf first (required for a server). */
  cert?: Pem | Pem[];
  /** PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC). */
  key?: Pem;
  /** Server: more certificates by server name (`'*.example.com'` allowed). */
  sni?: Record<string, CertKey>;
  /** Server: chooses the certificate per handshake; null means the default. */
  sniCallback?: (serverName: string) => CertKey | null | undefined | Promise<CertKey | null | undefined>;
  /** Server: ask clients for a certificate. */
  requestCert?: boolean;
  /** Server: refuse clients without a valid certificate (implies requestCert). */
  requireCert?: boolean;
  /** Server: TLS 1.3 session tickets (default true). */
  sessionTickets?: boolean;
  /** Client: SNI and the name verified (default: the host connected to); false: no SNI. */
  serverName?: string | false;
  /** Client: verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Client: trust anchors when `ca` is not given. */
  roots?: 'bundled' | 'system';
  /** Trust anchors: replace the roots (client), verify client certificates (server). */
  ca?: Pem | Pem[];
  /** ALPN protocols offered (client) / accepted in preference order (server). */
  alpn?: string[];
  /** Lowest version (default 'TLSv1.2'). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Seconds for the handshake (default 10) → TlsError 'ETIMEDOUT'. */
  handshakeTimeout?: number;
}

/** The normalised options the binding takes. */
export interface NativeTlsOpts {
  cert?: Buffer[];
  key?: Buffer;
  sni?: Array<{ name: string; cert: Buffer[]; key: Buffer }>;
  sniCallback?: boolean;
  requestCert?: boolean;
  requireCert?: boolean;
  sessionTickets?: boolean;
  serverName?: string;
  noSni?: boolean;
  rejectUnauthorized?: boolean;
  roots?: string;
  ca?: Buffer[];
  alpn?: string[];
  minVersion?: string;
  handshakeTimeout?: number;
}

const describe = shown;

function pem(fn: string, name: string, v: unknown): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`${fn}: ${name} must be a PEM string or Buffer, not ${describe(v)}`);
}

function pemList(fn: string, name: string, v: unknown): Buffer[] {
  if (Array.isArray(v)) return v.map((item, i) => pem(fn, `${name}[${i}]`, item));
  return [pem(fn, name, v)];
}

function bool(fn: string, name: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, not ${describe(v)}`);
  return v;
}

/** Checks `tls` (a `TlsOptions`) and converts it for the binding; throws TypeError naming the option. */
export function nativeTls(fn: string, tls: unknown): NativeTlsOpts {
  if (tls === null || typeof tls !== 'object') throw new TypeError(`${fn}: tls must be an object, not ${describe(tls)}`);
  const o = tls as TlsOptions;
  const out: NativeTlsOpts = {};
  if (o.cert !== undefined) out.cert = pemList(fn, 'tls.cert', o.cert);
  if (o.key !== undefined) out.key = pem(fn, 'tls.key', o.key);
  if (o.sni !== undefined) {
    if (o.sni === null || typeof o.sni !== 'object') throw new TypeError(`${fn}: tls.sni must be an object of { cert, key } by name`);
    out.sni = Object.entries(o.sni).map(([name, ck]) => ({
      name,
      cert: pemList(fn, `tls.sni['${name}'].cert`, ck?.cert),
      key: pem(fn, `tls.sni['${name}'].key`, ck?.key),
    }));
  }
  if (o.sniCallback !== undefined) {
    if (typeof o.sniCallback !== 'function') throw new TypeError(`${fn}: tls.sniCallback must be a function, not ${describe(o.sniCallback)}`);
    out.sniCallback = true;
  }
  out.requestCert = bool(fn, 'tls.requestCert', o.requestCert);
  out.requireCert = bool(fn, 'tls.requireCert', o.requireCert);
  out.sessionTickets = bool(fn, 'tls.sessionTickets', o.sessionTickets);
  out.rejectUnauthorized = bool(fn, 'tls.rejectUnauthorized', o.rejectUnauthorized);
  if (o.serverName === false) out.noSni = true;
  else if (o.serverName !== undefined) {
    if (typeof o.serverName !== 'string' || o.serverName === '') {
      throw new TypeError(`${fn}: tls.serverName must be a non-empty string or false, not ${describe(o.serverName)}`);
    }
    out.serverName = o.serverName;
  }
  if (o.roots !== undefined) {
    if (o.roots !== 'bundled' && o.roots !== 'system') throw new TypeError(`${fn}: tls.roots must be 'bundled' or 'system', not ${describe(o.roots)}`);
    out.roots = o.roots;
  }
  if (o.ca !== undefined) out.ca = pemList(fn, 'tls.ca', o.ca);
  if (o.alpn !== undefined) {
    if (!Array.isArray(o.alpn) || o.alpn.some((p) => typeof p !== 'string' || p === '' || p.length > 255)) {
      throw new TypeError(`${fn}: tls.alpn must be an array of protocol names (1 to 255 characters)`);
    }
    out.alpn = o.alpn;
  }
  if (o.minVersion !== undefined) {
    if (o.minVersion !== 'TLSv1.2' && o.minVersion !== 'TLSv1.3') {
      throw new TypeError(`${fn}: tls.minVersion must be 'TLSv1.2' or 'TLSv1.3', not ${describe(o.minVersion)}`);
    }
    out.minVersion = o.minVersion;
  }
  if (o.handshakeTimeout !== undefined) {
    const t = o.handshakeTimeout;
    if (typeof t !== 'number' || !(t > 0)) throw new TypeError(`${fn}: tls.handshakeTimeout must be a positive number of seconds, not ${describe(t)}`);
    out.handshakeTimeout = t;
  }
  return out;
}

/**
 * Calls the binding with TLS options, turning its `InvalidArg` (a bad PEM item, a key that does
 * not match its certificate) into the `TypeError` the contract promises.
 */
export function withTlsErrors<T>(fn: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code === 'InvalidArg') throw new TypeError(`${fn}: ${e.message}`);
    throw err;
  }
}

/** Says once per loop that certificates are not verified (`rejectUnauthorized: false`). */
export function warnUnverified(loop: Loop, tls: TlsOptions | undefined): void {
  if (tls?.rejectUnauthorized !== false || loop.warnedUnverified) return;
  loop.warnedUnverified = true;
  loop.log(4, 'evasync: TLS with rejectUnauthorized: false accepts any certificate; the peer is not authenticated');
}

/**
 * Answers an SNI request: calls the application's callback (it may return a Promise), then
 * tells the engine which certificate to present; a throw or rejection fails the handshake.
 */
export function answerSni(
  loop: Loop,
  id: number,
  name: string,
  cb: NonNullable<TlsOptions['sniCallback']>,
): void {
  const answer = (ck: CertKey | null | undefined): void => {
    if (!loop.running) return;
    if (ck === null || ck === undefined) {
      loop.native.tlsConfigure(id, undefined, undefined, undefined);
      return;
    }
    try {
      const cert = pemList('sniCallback', 'cert', ck.cert);
      const key = pem('sniCallback', 'key', ck.key);
      loop.native.tlsConfigure(id, cert, key, undefined);
    } catch (err) {
      fail(err);
    }
  };
  const fail = (err: unknown): void => {
    if (!loop.running) return;
    const why = err instanceof Error ? err.message : String(err);
    loop.native.tlsConfigure(id, undefined, undefined, why);
  };
  let result: ReturnType<typeof cb>;
  try {
    result = cb(name);
  } catch (err) {
    fail(err);
    return;
  }
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as Promise<CertKey | null | undefined>).then(answer, fail);
  } else {
    answer(result as CertKey | null | undefined);
  }
}

/** A TlsError for a STARTTLS that could not start. */
export function startTlsError(message: string): TlsError {
  return new TlsError(message, { errcode: 'EPROTO' });
}
