/**
 * `npm run bench -- https`: keep-alive "Hello, World!" over TLS with wrk -t1 at 10, 50 and 200
 * connections: evasync (both drivers) against uWebSockets.js's SSLApp and node:https, every
 * server presenting the same P-256 certificate. req/s, p99 and server CPU per request, ratios
 * against uWS and node:https (the http bench's runner, HTTP_BENCH_* variables apply).
 */
import { runHttpBench } from './http';
import { tlsEnv } from './tls-cert';

export const TLS_SERVERS = [
  { name: 'evasync-main', args: ['evasync', 'main'] },
  { name: 'evasync-thread', args: ['evasync', 'thread'] },
  { name: 'uws', args: ['uws'] },
  { name: 'node:https', args: ['node'] },
];

export async function main(): Promise<void> {
  await runHttpBench({ name: 'https', scheme: 'https', env: tlsEnv(), closeEach: false }, ['plain'], TLS_SERVERS, {
    rate: 'req/s',
    cpu: 'cpu µs/req',
    peer: 'node:https',
  });
}
