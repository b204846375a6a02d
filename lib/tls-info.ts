/**
 * What a TLS handshake established (`socket.tls`), read from the engine's `TlsEstablished`
 * record, and Node's names for the engine's TLS error codes: what the event dispatch needs of
 * TLS, below the options and callbacks of ./tls.
 */
import { X509Certificate } from 'node:crypto';

import { TlsErrorCode } from '../binding';
import { intern } from './data';

/** The peer's certificate, as `socket.tls.peerCertificate`. */
export interface PeerCertificate {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  validFrom: Date;
  validTo: Date;
  serialNumber: string;
  /** SHA-256 fingerprint, `'AB:CD:…'`. */
  fingerprint256: string;
  /** DER. */
  raw: Buffer;
}

/** What a handshake established (`socket.tls`). */
export interface TlsInfo {
  protocol: 'TLSv1.2' | 'TLSv1.3';
  /** IANA name, as Node's `standardName`. */
  cipher: string;
  alpn: string | null;
  serverName: string | null;
  resumed: boolean;
  peerCertificate: PeerCertificate | null;
}


/** The names of the engine's TLS error codes (`TlsErrorCode`), as Node names them. */
const TLS_CODE_NAMES: Record<number, string> = {
  [TlsErrorCode.Proto]: 'EPROTO',
  [TlsErrorCode.CertHasExpired]: 'CERT_HAS_EXPIRED',
  [TlsErrorCode.CertNotYetValid]: 'CERT_NOT_YET_VALID',
  [TlsErrorCode.DepthZeroSelfSignedCert]: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  [TlsErrorCode.SelfSignedCertInChain]: 'SELF_SIGNED_CERT_IN_CHAIN',
  [TlsErrorCode.UnableToVerifyLeafSignature]: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  [TlsErrorCode.CertAltnameInvalid]: 'ERR_TLS_CERT_ALTNAME_INVALID',
  [TlsErrorCode.NoSuitableSignatureAlgorithm]: 'ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM',
  [TlsErrorCode.NoApplicationProtocol]: 'ERR_SSL_NO_APPLICATION_PROTOCOL',
  [TlsErrorCode.Timeout]: 'ETIMEDOUT',
};

/** Node's name for an engine TLS code (word 6 of an error record), or undefined for none. */
export function tlsCodeName(code: number): string | undefined {
  return code === 0 ? undefined : (TLS_CODE_NAMES[code] ?? 'EPROTO');
}

/** The `PeerCertificate` of a DER certificate (Node's own X.509 parser). */
export function peerCertificate(der: Buffer): PeerCertificate {
  const x = new X509Certificate(der);
  const sans = (x.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s !== '');
  return {
    subject: x.subject,
    issuer: x.issuer,
    subjectAltNames: sans,
    validFrom: new Date(x.validFrom),
    validTo: new Date(x.validTo),
    serialNumber: x.serialNumber,
    fingerprint256: x.fingerprint256,
    raw: der,
  };
}

/**
 * What a handshake established, as `socket.tls`. A class (one shared shape and prototype, not
 * an object literal with a getter closure per connection): thousands of idle TLS connections
 * each hold one, so it stays a few words; the names are interned and the peer's certificate is
 * parsed when first read.
 */
class Established implements TlsInfo {
  readonly protocol: 'TLSv1.2' | 'TLSv1.3';
  readonly cipher: string;
  readonly alpn: string | null;
  readonly serverName: string | null;
  readonly resumed: boolean;
  #der: Buffer | null;
  #parsed: PeerCertificate | null | undefined;

  constructor(protocol: 'TLSv1.2' | 'TLSv1.3', cipher: string, alpn: string | null, serverName: string | null, resumed: boolean, der: Buffer | null) {
    this.protocol = protocol;
    this.cipher = cipher;
    this.alpn = alpn;
    this.serverName = serverName;
    this.resumed = resumed;
    this.#der = der;
    this.#parsed = der === null ? null : undefined;
  }

  get peerCertificate(): PeerCertificate | null {
    if (this.#parsed === undefined) this.#parsed = peerCertificate(this.#der!);
    return this.#parsed;
  }

  toJSON(): object {
    const { protocol, cipher, alpn, serverName, resumed, peerCertificate: peer } = this;
    return { protocol, cipher, alpn, serverName, resumed, peerCertificate: peer };
  }
}

/** The `TlsInfo` of a `TlsEstablished` record (crates/evasync/src/wire/events.rs). */
export function tlsInfoOf(r: Uint32Array, i: number, arena: Buffer): TlsInfo {
  let at = r[i + 2]!;
  const cipherLen = r[i + 5]!;
  const alpnLen = r[i + 6]! & 0xffff;
  const nameLen = r[i + 6]! >>> 16;
  const certLen = r[i + 7]!;
  const cipher = intern(arena.toString('latin1', at, at + cipherLen));
  at += cipherLen;
  const alpn = alpnLen > 0 ? intern(arena.toString('latin1', at, at + alpnLen)) : null;
  at += alpnLen;
  const serverName = nameLen > 0 ? intern(arena.toString('latin1', at, at + nameLen)) : null;
  at += nameLen;
  const der = certLen > 0 ? Buffer.from(arena.subarray(at, at + certLen)) : null;
  return new Established((r[i + 4]! & 0xff) === 13 ? 'TLSv1.3' : 'TLSv1.2', cipher, alpn, serverName, (r[i + 4]! >>> 8) !== 0, der);
}

/** Bits of a cipher suite's bulk cipher, from its IANA name. */
export function cipherBits(name: string): number {
  if (name.includes('AES_128')) return 128;
  return 256;
}
