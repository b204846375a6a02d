/**
 * `npm run bench -- tls-handshakes`: a new TLS connection per request (wrk sends
 * `Connection: close`, so every request is a TCP connect, a full handshake, one request and a
 * close) at 10, 50 and 200 connections: evasync (both drivers) against uWebSockets.js's SSLApp
 * and node:https, same P-256 certificate. The OpenSSL load client spends about a millisecond per
 * handshake on this machine, so compare server CPU per handshake, not handshakes/s.
 */
import { runHttpBench } from './http';
import { TLS_SERVERS } from './https';
import { tlsEnv } from './tls-cert';

export async function main(): Promise<void> {
  await runHttpBench({ name: 'tls-handshakes', scheme: 'https', env: tlsEnv(), closeEach: true }, ['plain'], TLS_SERVERS, {
    rate: 'handshakes/s',
    cpu: 'cpu µs/handshake',
    peer: 'node:https',
  });
}
