/**
 * Raw HTTP over node:net for conformance specs: send exact bytes, read what comes back, and split
 * it into responses with a small strict parser (status line, headers, Content-Length or chunked
 * bodies; 1xx and answers to HEAD without bodies).
 */
import * as net from 'node:net';

import type { ExecutionContext } from 'ava';
import * as as from 'evasync';

import { expectClean, runLoop } from './helpers';

/** One parsed response. */
export interface RawResponse {
  status: number;
  /** Header fields in order, names as sent. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** First value of a header (any case). */
  get(name: string): string | undefined;
}

/** What a raw exchange saw. */
export interface RawResult {
  responses: RawResponse[];
  /** The server closed the connection (FIN or reset) before the client did. */
  closed: boolean;
  /** Every byte received. */
  bytes: Buffer;
}

/**
 * Parses consecutive responses from `buf`. `headCount` leading final responses answer HEAD
 * requests (no body). Stops at the first incomplete one.
 */
export function parseResponses(buf: Buffer, headCount = 0): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  let heads = headCount;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', pos);
    if (end < 0) return out;
    const lines = buf.toString('latin1', pos, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]!);
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers: Array<[string, string]> = lines.slice(1).map((l) => {
      const c = l.indexOf(':');
      return [l.slice(0, c), l.slice(c + 1).trim()];
    });
    const get = (name: string) => headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
    let p = end + 4;
    let body: Buffer = Buffer.alloc(0);
    const bodiless = status < 200 || status === 204 || status === 304 || (heads > 0 && status >= 200);
    if (status >= 200 && heads > 0) heads--;
    if (!bodiless) {
      const cl = get('content-length');
      if (cl !== undefined) {
        const n = Number(cl);
        if (buf.length < p + n) return out;
        body = buf.subarray(p, p + n);
        p += n;
      } else if (get('transfer-encoding')?.toLowerCase() === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const le = buf.indexOf('\r\n', p);
          if (le < 0) return out;
          const size = parseInt(buf.toString('latin1', p, le), 16);
          p = le + 2;
          if (size === 0) {
            const te = buf.indexOf('\r\n', p);
            if (te < 0) return out;
            p = te + 2;
            break;
          }
          if (buf.length < p + size + 2) return out;
          parts.push(buf.subarray(p, p + size));
          p += size + 2;
        }
        body = Buffer.concat(parts);
      } else {
        body = buf.subarray(p);
        p = buf.length;
      }
    }
    out.push({ status, headers, body, get });
    pos = p;
  }
}

/** Options of `raw`. */
export interface RawOpts {
  /** Stop once this many final responses were parsed (default: wait for the server to close). */
  responses?: number;
  /** Give up waiting after this many ms (default 5000). */
  timeoutMs?: number;
  /** Pieces are written with this many ms between them (default: all at once). */
  gapMs?: number;
  /** Leading responses that answer HEAD. */
  heads?: number;
  /** Half-close after writing. */
  end?: boolean;
}

/** Writes `input` (pieces in order) to 127.0.0.1:`port` and collects the responses. */
export function raw(port: number, input: string | Buffer | Array<string | Buffer>, opts: RawOpts = {}): Promise<RawResult> {
  const pieces = Array.isArray(input) ? input : [input];
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    let done = false;
    const sock = net.connect(port, '127.0.0.1');
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const bytes = Buffer.concat(chunks);
      resolve({ responses: parseResponses(bytes, opts.heads), closed, bytes });
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 5000);
    sock.on('data', (d) => {
      chunks.push(d);
      if (opts.responses !== undefined) {
        const finals = parseResponses(Buffer.concat(chunks), opts.heads).filter((r) => r.status >= 200);
        if (finals.length >= opts.responses) finish();
      }
    });
    sock.on('end', () => {
      closed = true;
      finish();
    });
    sock.on('error', () => {
      closed = true;
      finish();
    });
    sock.on('connect', async () => {
      for (let i = 0; i < pieces.length && !done; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (!done) sock.write(pieces[i]!);
      }
      if (opts.end && !done) sock.end();
    });
  });
}

/** What the default handler tells about a request it received. */
export interface Echo {
  method: string;
  uri: string;
  resource: string;
  querystring: string;
  version: string;
  headers: Array<[string, string]>;
  body: string;
}

/** Answers every request with a JSON description of it. */
export function echoHandler(req: as.HttpRequest): void {
  const echo: Echo = {
    method: req.method,
    uri: req.uri,
    resource: req.resource,
    querystring: req.querystring,
    version: req.httpVersion,
    headers: req.headers,
    body: req.body.toString('latin1'),
  };
  as.httpResponse(req, { headers: [['Content-Type', 'application/json']], body: JSON.stringify(echo) });
}

/**
 * Runs a loop with an HTTP server on a free loopback port, runs `body` against it, closes the
 * server and checks that stats return to 0.
 */
export async function withServer(
  t: ExecutionContext,
  body: (port: number, server: as.HttpServer) => Promise<void>,
  opts: { requestCb?: as.RequestCb; server?: as.HttpServerOpts; loop?: as.EventLoopOptions } = {},
): Promise<void> {
  await runLoop(
    t,
    async () => {
      const server = as.httpServer('127.0.0.1', 0, opts.requestCb ?? echoHandler, opts.server ?? {});
      try {
        await body(server.port, server);
      } finally {
        await server.close({ graceful: false });
      }
      await expectClean(t);
    },
    opts.loop,
  );
}

/** The JSON a response of `echoHandler` carries. */
export function echoOf(r: RawResponse | undefined): Echo {
  if (!r) throw new Error('no response');
  return JSON.parse(r.body.toString('utf8')) as Echo;
}
