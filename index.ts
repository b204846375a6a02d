/**
 * evasync: cl-async for Node.js. The public API (see README and API.md): the event loop,
 * timers, TCP sockets and servers, the HTTP/1.1 server, conditions and stats.
 */
export {
  addEventLoopExitCallback,
  eventLoopRunning,
  exitEventLoop,
  startEventLoop,
  stats,
  type EventLoopOptions,
  type Stats,
} from './lib/loop';
export { delay, freeDelay, interval, removeInterval, Timer, timer, type DelayOptions, type IntervalOptions } from './lib/timers';
export {
  closeSocket,
  closeTcpServer,
  disableSocket,
  enableSocket,
  setSocketTimeouts,
  Socket,
  startTls,
  tcpConnect,
  tcpSend,
  tcpServer,
  TcpServer,
  writeSocketData,
  type ConnectOpts,
  type Directions,
  type EventCb,
  type ReadCb,
  type SendOpts,
  type ServerOpts,
  type StartTlsOpts,
  type WriteOpts,
} from './lib/tcp';
export type { CertKey, PeerCertificate, Pem, TlsInfo, TlsOptions } from './lib/tls';
export {
  dnsCacheClear,
  dnsLookup,
  dnsLookupAll,
  reverseDnsLookup,
  setDnsServers,
  type DnsServerOpts,
  type LookupAddress,
  type LookupOpts,
} from './lib/dns';
export {
  httpClient,
  httpRequest,
  type HttpClientOpts,
  type HttpClientResponse,
  type ResponseCb,
} from './lib/http-client';
export {
  httpResponse,
  httpServer,
  HttpConnection,
  HttpRequest,
  HttpServer,
  type HeadersInit,
  type HttpCloseOpts,
  type HttpServerOpts,
  type RequestCb,
  type ResponseOpts,
} from './lib/http-server';
export {
  AddressInUse,
  ConnectionEof,
  ConnectionError,
  ConnectionInfo,
  ConnectionRefused,
  ConnectionReset,
  ConnectionTimeout,
  DnsError,
  EventLoopError,
  HttpError,
  SocketClosed,
  TlsError,
  type ConditionOptions,
} from './lib/conditions';
export {
  createConnection,
  createServer,
  Server,
  Transport,
  type ConnectionOptions,
  type CreateServerOptions,
  type Protocol,
  type ServerSocket,
} from './lib/protocol';
export type { Data } from './lib/data';
