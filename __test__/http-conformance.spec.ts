/**
 * HTTP/1.1 server conformance on raw sockets: request-line forms, header edge cases, body
 * framing, smuggling attempts, invalid bytes and limits. One test per case; each asserts the
 * status, whether the connection closed, what the application saw (or that it was not called),
 * and that stats return to 0.
 */
import test from 'ava';
import type * as as from 'evasync';

import { echoHandler, echoOf, raw, withServer, type Echo, type RawResult } from './http-raw';

interface Case {
  name: string;
  request: string | Buffer | Array<string | Buffer>;
  status: number;
  /** The connection must close after the response (default: true for status ≥ 400). */
  closes?: boolean;
  server?: as.HttpServerOpts;
  check?: (echo: Echo, res: RawResult) => void;
}

const H = 'Host: example.com\r\n';

const cases: Case[] = [
  // ----- request-line forms -----
  {
    name: 'origin-form with a query: resource and querystring are split, not decoded',
    request: `GET /documents/45%20x?format=json&a=%41 HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    check: (e) => {
      if (e.uri !== '/documents/45%20x?format=json&a=%41') throw new Error(e.uri);
      if (e.resource !== '/documents/45%20x' || e.querystring !== 'format=json&a=%41') throw new Error('split');
    },
  },
  {
    name: 'origin-form without a query: querystring is empty',
    request: `GET /plain HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    check: (e) => {
      if (e.querystring !== '' || e.resource !== '/plain') throw new Error('split');
    },
  },
  {
    name: 'absolute-form target is passed as sent',
    request: `GET http://example.com/x?y=1 HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    check: (e) => {
      if (e.uri !== 'http://example.com/x?y=1') throw new Error(e.uri);
    },
  },
  {
    name: 'asterisk-form OPTIONS',
    request: `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    check: (e) => {
      if (e.method !== 'OPTIONS' || e.uri !== '*') throw new Error(`${e.method} ${e.uri}`);
    },
  },
  {
    name: 'authority-form CONNECT reaches the app; what follows it is not HTTP, so the connection closes after the answer',
    request: `CONNECT example.com:443 HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    closes: true,
    check: (e) => {
      if (e.uri !== 'example.com:443') throw new Error(e.uri);
    },
  },
  {
    name: 'extension methods pass through',
    request: `PURGE /cache HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    check: (e) => {
      if (e.method !== 'PURGE') throw new Error(e.method);
    },
  },
  {
    name: 'HTTP/1.0 without Host is fine and closes after the response',
    request: 'GET /old HTTP/1.0\r\n\r\n',
    status: 200,
    closes: true,
    check: (e, res) => {
      if (e.version !== '1.0') throw new Error(e.version);
      if (res.responses[0]!.get('connection') !== 'close') throw new Error('Connection: close expected');
    },
  },
  {
    name: 'HTTP/2.0 in a request line is refused with 505 (RFC 9110 §15.6.6)',
    request: `GET / HTTP/2.0\r\n${H}\r\n`,
    status: 505,
  },
  {
    name: 'HTTP/0.9 request line (no version) is refused',
    request: 'GET /\r\n\r\n',
    status: 400,
  },
  {
    name: 'two spaces in the request line are refused',
    request: `GET  / HTTP/1.1\r\n${H}\r\n`,
    status: 400,
  },
  {
    name: 'a space inside the target is refused',
    request: `GET /a b HTTP/1.1\r\n${H}\r\n`,
    status: 400,
  },
  {
    name: 'a DEL byte in the target is refused',
    request: `GET /a\x7f HTTP/1.1\r\n${H}\r\n`,
    status: 400,
  },
  {
    name: 'a request line ending in bare LF is refused',
    request: `GET / HTTP/1.1\n${H}\r\n`,
    status: 400,
  },
  {
    name: 'binary garbage is refused',
    request: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x0d, 0x0a, 0x0d, 0x0a]),
    status: 400,
  },
  {
    name: 'a long target within the limit is fine',
    request: `GET /${'a'.repeat(8000)} HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    check: (e) => {
      if (e.uri.length !== 8001) throw new Error(String(e.uri.length));
    },
  },
  {
    name: 'a target beyond maxHeaderSize gets 431',
    request: `GET /${'a'.repeat(17 * 1024)} HTTP/1.1\r\n${H}\r\n`,
    status: 431,
  },

  // ----- header fields -----
  {
    name: 'values lose surrounding whitespace, names keep their case, order and duplicates are kept',
    request: `GET / HTTP/1.1\r\n${H}X-Trim: \t spaced out \t\r\nSet-Thing: 1\r\nset-thing: 2\r\nX-Empty:\r\n\r\n`,
    status: 200,
    check: (e) => {
      const want = [
        ['Host', 'example.com'],
        ['X-Trim', 'spaced out'],
        ['Set-Thing', '1'],
        ['set-thing', '2'],
        ['X-Empty', ''],
      ];
      if (JSON.stringify(e.headers) !== JSON.stringify(want)) throw new Error(JSON.stringify(e.headers));
    },
  },
  {
    name: 'obs-text in a value arrives as latin1',
    request: Buffer.concat([Buffer.from(`GET / HTTP/1.1\r\n${H}X-Latin: caf`), Buffer.from([0xe9]), Buffer.from('\r\n\r\n')]),
    status: 200,
    check: (e) => {
      if (e.headers[1]![1] !== 'caf\u00e9') throw new Error(e.headers[1]![1]);
    },
  },
  {
    name: 'a space before the colon is refused',
    request: `GET / HTTP/1.1\r\n${H}X-Bad : 1\r\n\r\n`,
    status: 400,
  },
  {
    name: 'obs-fold (a continuation line) is refused',
    request: `GET / HTTP/1.1\r\n${H}X-Fold: a\r\n  b\r\n\r\n`,
    status: 400,
  },
  {
    name: 'a header line without a colon is refused',
    request: `GET / HTTP/1.1\r\n${H}NoColonHere\r\n\r\n`,
    status: 400,
  },
  {
    name: 'NUL in a value is refused',
    request: `GET / HTTP/1.1\r\n${H}X-Nul: a\x00b\r\n\r\n`,
    status: 400,
  },
  {
    name: 'a bare CR in a value is refused',
    request: `GET / HTTP/1.1\r\n${H}X-Cr: a\rb\r\n\r\n`,
    status: 400,
  },
  {
    name: 'a header line ending in bare LF is refused',
    request: `GET / HTTP/1.1\r\n${H}X-Lf: a\n\r\n`,
    status: 400,
  },
  {
    name: 'a non-token byte in a name is refused',
    request: `GET / HTTP/1.1\r\n${H}X(Bad): 1\r\n\r\n`,
    status: 400,
  },
  {
    name: 'HTTP/1.1 without Host is refused',
    request: 'GET / HTTP/1.1\r\n\r\n',
    status: 400,
  },
  {
    name: 'HTTP/1.1 with two Host fields is refused',
    request: `GET / HTTP/1.1\r\n${H}${H}\r\n`,
    status: 400,
  },
  {
    name: 'more header fields than the parser takes get 431',
    request: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 300 }, (_, i) => `X-${i}: ${i}\r\n`).join('')}\r\n`,
    status: 431,
  },
  {
    name: 'a head over 16 KiB gets 431',
    request: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(17 * 1024)}\r\n\r\n`,
    status: 431,
  },
  {
    name: 'a head over a 1 KiB maxHeaderSize gets 431',
    request: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(1200)}\r\n\r\n`,
    status: 431,
    server: { maxHeaderSize: 1024 },
  },
  {
    name: 'a head arriving a few bytes at a time is assembled',
    request: `GET /slow HTTP/1.1\r\n${H}X-A: 1\r\n\r\n`.match(/.{1,7}/gs)!,
    status: 200,
    check: (e) => {
      if (e.uri !== '/slow' || e.headers.length !== 2) throw new Error(JSON.stringify(e));
    },
  },
  {
    name: 'Expect other than 100-continue is refused with 417 (RFC 9110 §10.1.1)',
    request: `GET / HTTP/1.1\r\n${H}Expect: something\r\n\r\n`,
    status: 417,
  },

  // ----- bodies and framing -----
  {
    name: 'Content-Length body',
    request: `POST /b HTTP/1.1\r\n${H}Content-Length: 11\r\n\r\nhello world`,
    status: 200,
    check: (e) => {
      if (e.body !== 'hello world') throw new Error(e.body);
    },
  },
  {
    name: 'Content-Length 0 means an empty body',
    request: `POST /b HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
    status: 200,
    check: (e) => {
      if (e.body !== '') throw new Error(e.body);
    },
  },
  {
    name: 'a repeated identical Content-Length list is accepted',
    request: `POST /b HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`,
    status: 200,
    check: (e) => {
      if (e.body !== 'abc') throw new Error(e.body);
    },
  },
  {
    name: 'a body arriving in pieces is assembled',
    request: [`POST /b HTTP/1.1\r\n${H}Content-Length: 9\r\n\r\nabc`, 'def', 'ghi'],
    status: 200,
    check: (e) => {
      if (e.body !== 'abcdefghi') throw new Error(e.body);
    },
  },
  {
    name: 'chunked body with extensions, upper-case hex and trailers',
    request: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA\r\n 012345678\r\n0\r\nX-Trailer: t\r\n\r\n`,
    status: 200,
    check: (e) => {
      if (e.body !== 'hello 012345678') throw new Error(JSON.stringify(e.body));
    },
  },
  {
    name: 'chunked body split across writes',
    request: [`POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r`, '\nab', 'c\r\n0\r\n', '\r\n'],
    status: 200,
    check: (e) => {
      if (e.body !== 'abc') throw new Error(e.body);
    },
  },
  {
    name: 'Transfer-Encoding token case does not matter',
    request: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n`,
    status: 200,
  },
  {
    name: 'smuggling: Content-Length with Transfer-Encoding is refused',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
    status: 400,
  },
  {
    name: 'smuggling: two different Content-Lengths are refused',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 30\r\n\r\nabc`,
    status: 400,
  },
  {
    name: 'smuggling: a Content-Length list with different values is refused',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 3, 4\r\n\r\nabcd`,
    status: 400,
  },
  {
    name: 'smuggling: a signed Content-Length is refused',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`,
    status: 400,
  },
  {
    name: 'smuggling: a hex Content-Length is refused',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc`,
    status: 400,
  },
  {
    name: 'smuggling: Transfer-Encoding whose final coding is not chunked is refused',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n`,
    status: 400,
  },
  {
    name: 'smuggling: chunked applied twice is refused',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`,
    status: 400,
  },
  {
    name: 'an unknown coding before chunked gets 501',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`,
    status: 501,
  },
  {
    name: 'smuggling: Transfer-Encoding in HTTP/1.0 is refused',
    request: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'smuggling: a chunk size line ended by bare LF is refused',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'a chunk size that is not hex is refused',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'a chunk size that overflows is refused',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${'f'.repeat(20)}\r\n`,
    status: 400,
  },
  {
    name: 'chunk data not followed by CRLF is refused',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'a Content-Length over maxBodySize gets 413 before the body is read',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 2000000\r\n\r\n`,
    status: 413,
  },
  {
    name: 'a chunked body over maxBodySize gets 413',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n400\r\n${'x'.repeat(1024)}\r\n400\r\n${'x'.repeat(1024)}\r\n0\r\n\r\n`,
    status: 413,
    server: { maxBodySize: 1500 },
  },
  {
    name: 'a body exactly at maxBodySize is fine',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 1500\r\n\r\n${'y'.repeat(1500)}`,
    status: 200,
    server: { maxBodySize: 1500 },
    check: (e) => {
      if (e.body.length !== 1500) throw new Error(String(e.body.length));
    },
  },

  // ----- connection management -----
  {
    name: 'Connection: close is honoured',
    request: `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    status: 200,
    closes: true,
    check: (_e, res) => {
      if (res.responses[0]!.get('connection') !== 'close') throw new Error('Connection: close expected');
    },
  },
  {
    name: 'HTTP/1.0 keep-alive keeps the connection and says so',
    request: 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    status: 200,
    closes: false,
    check: (_e, res) => {
      if (res.responses[0]!.get('connection') !== 'keep-alive') throw new Error('keep-alive expected');
    },
  },
  {
    name: 'a request after Connection: close on the same connection is not served',
    request: `GET /1 HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    closes: true,
    check: (e, res) => {
      if (e.uri !== '/1' || res.responses.length !== 1) throw new Error(`${res.responses.length} responses`);
    },
  },
  {
    name: 'pipelined requests after a malformed one are not served',
    request: `GET /ok HTTP/1.1\r\n${H}\r\nGET /bad HTTP/1.1\r\n\r\nGET /never HTTP/1.1\r\n${H}\r\n`,
    status: 200,
    closes: true,
    check: (e, res) => {
      const statuses = res.responses.map((r) => r.status).join(',');
      if (e.uri !== '/ok' || statuses !== '200,400') throw new Error(statuses);
    },
  },
];

for (const c of cases) {
  test(`conformance: ${c.name}`, async (t) => {
    let calls = 0;
    const requestCb = (req: as.HttpRequest) => {
      calls++;
      echoHandler(req);
    };
    await withServer(
      t,
      async (port) => {
        const closes = c.closes ?? c.status >= 400;
        const res = await raw(port, c.request, { responses: closes ? undefined : 1, timeoutMs: closes ? 5000 : 3000 });
        t.true(res.responses.length >= 1, `a response (got ${JSON.stringify(res.bytes.toString('latin1').slice(0, 200))})`);
        const first = res.responses[0]!;
        t.is(first.status, c.status);
        t.truthy(first.get('date'), 'Date is set');
        if (closes) {
          t.true(res.closed, 'the server closed the connection');
        } else {
          t.false(res.closed, 'the connection stays open');
        }
        if (c.status >= 400) {
          t.is(first.get('connection'), 'close');
          t.is(calls, 0, 'the application never saw a refused request');
        } else if (c.check) {
          t.notThrows(() => c.check!(echoOf(first), res));
        }
      },
      { requestCb, server: c.server },
    );
  });
}
