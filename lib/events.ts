/** Record kinds of an event batch; mirrors `src/events.rs` (`kind`). Records are `[kind, id, a, b]`. */
export const enum Kind {
  Timer = 1,
  Connected = 2,
  Accepted = 3,
  Data = 4,
  Flushed = 5,
  Eof = 6,
  Failed = 7,
  FlushFailed = 8,
  Released = 9,
  ServerError = 10,
  Tick = 11,
  Fatal = 12,
  /** `[13, conn, off, len]` plus one extension record `[seq, methodLen | flags << 16, targetLen, headersLen]`. */
  HttpRequest = 13,
  HttpBody = 14,
  HttpBodyEnd = 15,
  DnsAddrs = 16,
  DnsName = 17,
  DnsFailed = 18,
  /** `[19, request, off, len]` plus `[status, headersLen, 0, 0]`. */
  HttpResponse = 19,
  HttpClientFailed = 20,
}

/** Flags of an HttpRequest record (`http_flag` in src/events.rs). */
export const enum HttpFlag {
  Complete = 1,
  Http10 = 2,
}

/** Engine error kinds (`ErrorKind` in crates/evasync/src/error.rs). */
export const enum ErrKind {
  Connection = 1,
  Timeout = 2,
  Refused = 3,
  Reset = 4,
  AddressInUse = 5,
  Dns = 6,
  Tls = 7,
  SocketClosed = 8,
  Http = 9,
}
