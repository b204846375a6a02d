/**
 * Differential framing test: the same bytes go to evasync's HTTP server (crates/http1 behind
 * the engine) and to llhttp (Node's own HTTP parser, driven directly), over a generated corpus
 * of request shapes around the places where framing goes wrong: Content-Length and
 * Transfer-Encoding in every combination, chunk-size lines and extensions, line endings,
 * header syntax, versions and methods, each followed by a second request so that any
 * disagreement on where the first one ends shows. The test fails on a disagreement that is not
 * one of the documented, RFC-backed choices below (the README lists them too).
 */
import * as net from 'node:net';

import test from 'ava';
import * as as from 'evasync';

import { expectClean, runLoop } from './helpers';
import { parseResponses } from './http-raw';

/** What a parser made of an input: the requests it framed, then how it ended. */
interface Trace {
  requests: string[];
  end: 'ok' | 'refused' | 'incomplete';
}

function show(t: Trace): string {
  return `${t.requests.join(' | ')} → ${t.end}`;
}

/**
 * Two traces frame alike when they framed the same requests and agree on whether the rest was
 * accepted. Refusing the rest (400) and closing on it as incomplete are the same verdict
 * reached at different bytes (llhttp checks a method's letters as they arrive; evasync waits
 * for the line): neither serves it.
 */
function alike(a: Trace, b: Trace): boolean {
  return a.requests.join('\n') === b.requests.join('\n') && (a.end === 'ok') === (b.end === 'ok');
}

// ----- llhttp -----

interface LlhttpBinding {
  HTTPParser: {
    new (): LlhttpParser;
    REQUEST: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
  };
  methods: string[];
}
interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(buf: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  [k: number]: unknown;
}

const binding = (process as unknown as { binding(name: string): unknown }).binding('http_parser') as LlhttpBinding;
const { HTTPParser } = binding;

/** Frames `input` with llhttp (strict: no lenient flags), stopping after a request that ends
 * the connection (keep-alive off, or CONNECT/upgrade) as a server would. */
function llhttp(input: Buffer): Trace {
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {}, 16 * 1024, 0);
  const requests: string[] = [];
  let current: { line: string; body: string; last: boolean } | null = null;
  let stop = false;
  // A long head reaches JS in pieces (kOnHeaders carries the URL then); a short one whole.
  let urlSoFar = '';
  p[HTTPParser.kOnHeaders] = (_h: unknown, url: string | undefined) => {
    urlSoFar += url ?? '';
  };
  p[HTTPParser.kOnExecute] = () => {};
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, _h: unknown, method: number, url: string | undefined, _s: unknown, _m: unknown, upgrade: boolean, keepAlive: boolean) => {
    current = { line: `${binding.methods[method]} ${url ?? urlSoFar}`, body: '', last: !keepAlive || upgrade };
    urlSoFar = '';
    // CONNECT (and upgrades) hand the rest of the stream over: no body is read.
    return upgrade ? 2 : 0;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => {
    if (current) current.body += b.toString('latin1');
  };
  p[HTTPParser.kOnMessageComplete] = () => {
    urlSoFar = ''; // a trailer flush repeats the finished message's URL
    if (current === null) return;
    requests.push(`${current.line} [${current.body}]`);
    if (current.last) stop = true;
    current = null;
  };
  const r = p.execute(input);
  let end: Trace['end'] = 'ok';
  if (r instanceof Error) {
    const code = (r as Error & { code?: string }).code;
    // Data after a request that closed the connection is not a framing error: it is ignored.
    if (!(stop && (code === 'HPE_CLOSED_CONNECTION' || code === 'HPE_PAUSED_UPGRADE'))) end = 'refused';
  } else if (!stop) {
    const f = p.finish();
    if (f instanceof Error || current !== null) end = 'incomplete';
  }
  p.close();
  return { requests, end };
}

// ----- evasync -----

/** Frames `input` with evasync's server: the requests its app saw, then how it ended. */
async function evasync(port: number, input: Buffer, seen: Map<number, string[]>): Promise<Trace> {
  const sock = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let localPort = 0;
  await new Promise<void>((resolve) => {
    sock.on('connect', () => {
      localPort = sock.localPort!;
      seen.set(localPort, []);
      sock.write(input);
      sock.end();
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => resolve());
    sock.on('error', () => {});
  });
  const requests = seen.get(localPort) ?? [];
  seen.delete(localPort);
  // A response to HEAD has no body, whatever its Content-Length says.
  const responses = parseResponses(Buffer.concat(chunks), input.subarray(0, 5).toString() === 'HEAD ' ? 1 : 0);
  const refused = responses.some((r) => r.status >= 400);
  const answered = responses.filter((r) => r.status < 400).length;
  return { requests, end: refused ? 'refused' : answered < requests.length ? 'incomplete' : requests.length === 0 && input.length > 0 ? 'incomplete' : 'ok' };
}

// ----- the corpus -----

const NEXT = 'GET /next HTTP/1.1\r\nHost: h\r\n\r\n';

/** Request shapes: each a head (without the final CRLF) and what follows it. */
function corpus(): string[] {
  const out: string[] = [];
  const lines = ['POST /p HTTP/1.1', 'PUT /p HTTP/1.1', 'POST /p HTTP/1.0'];
  const framings: Array<[string, string]> = [
    ['', ''],
    ['Content-Length: 5\r\n', 'hello'],
    ['Content-Length: 0\r\n', ''],
    ['Content-Length: 05\r\n', 'hello'],
    ['Content-Length:  5 \r\n', 'hello'],
    ['Content-Length: 5, 5\r\n', 'hello'],
    ['Content-Length: 5, 6\r\n', 'hello!'],
    ['Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'],
    ['Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'],
    ['Content-Length: +5\r\n', 'hello'],
    ['Content-Length: -5\r\n', 'hello'],
    ['Content-Length: 0x5\r\n', 'hello'],
    ['Content-Length: 5a\r\n', 'hello'],
    ['Content-Length: \r\n', 'hello'],
    ['Content-Length: 99999999999999999999\r\n', 'hello'],
    ['Content-Length: 7\r\n', 'hello'],
    ['Content-Length : 5\r\n', 'hello'],
  ];
  const codings = ['chunked', 'CHUNKED', 'Chunked', ' chunked', 'chunked ', 'gzip, chunked', 'chunked, gzip', 'identity', 'gzip', '', ',', ' ', 'chunked, chunked', 'chunked,', ',chunked', 'x-custom', 'chunked;q=1'];
  const chunkedBodies = [
    '5\r\nhello\r\n0\r\n\r\n',
    '5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n',
    '005\r\nhello\r\n0\r\n\r\n',
    'A\r\n0123456789\r\n0\r\n\r\n',
    'a\r\n0123456789\r\n0\r\n\r\n',
    '5;a\r\nhello\r\n0\r\n\r\n',
    '5;a=b\r\nhello\r\n0\r\n\r\n',
    '5;a="b"\r\nhello\r\n0\r\n\r\n',
    '5;a="b;c"\r\nhello\r\n0\r\n\r\n',
    '5;a=b;c=d\r\nhello\r\n0\r\n\r\n',
    '5;a="b\r\nhello\r\n0\r\n\r\n',
    '5;\r\nhello\r\n0\r\n\r\n',
    '5;=b\r\nhello\r\n0\r\n\r\n',
    '5;a=\r\nhello\r\n0\r\n\r\n',
    '5 ;a\r\nhello\r\n0\r\n\r\n',
    '5; a\r\nhello\r\n0\r\n\r\n',
    '5 \r\nhello\r\n0\r\n\r\n',
    '5\t\r\nhello\r\n0\r\n\r\n',
    ' 5\r\nhello\r\n0\r\n\r\n',
    '5\nhello\r\n0\r\n\r\n',
    '5\r\nhello\n0\r\n\r\n',
    '5\r\nhello\r\n0\r\n\n',
    '5\r\nhello0\r\n\r\n',
    '5\r\nhelloXX\r\n0\r\n\r\n',
    '-5\r\nhello\r\n0\r\n\r\n',
    '0x5\r\nhello\r\n0\r\n\r\n',
    'g\r\nhello\r\n0\r\n\r\n',
    '\r\nhello\r\n0\r\n\r\n',
    'fffffffffffffffff\r\nhello\r\n0\r\n\r\n',
    '5\r\nhello\r\n',
    '5\r\nhel',
    '0\r\n\r\n',
  ];
  for (const line of lines) {
    for (const [f, body] of framings) out.push(`${line}\r\nHost: h\r\n${f}\r\n${body}${NEXT}`);
    for (const c of codings) {
      out.push(`${line}\r\nHost: h\r\nTransfer-Encoding: ${c}\r\n\r\n5\r\nhello\r\n0\r\n\r\n${NEXT}`);
      out.push(`${line}\r\nHost: h\r\nTransfer-Encoding: ${c}\r\nContent-Length: 5\r\n\r\nhello${NEXT}`);
      out.push(`${line}\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: ${c}\r\n\r\n5\r\nhello\r\n0\r\n\r\n${NEXT}`);
    }
    out.push(`${line}\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n${NEXT}`);
    out.push(`${line}\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${NEXT}`);
    for (const b of chunkedBodies) out.push(`${line}\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${b}${NEXT}`);
  }
  // Request lines and header syntax, with and without bodies.
  const starts = [
    'GET / HTTP/1.1', 'GET /a?b=c HTTP/1.1', 'GET http://h/x HTTP/1.1', 'OPTIONS * HTTP/1.1', 'GET * HTTP/1.1',
    'HEAD / HTTP/1.1', 'DELETE /d HTTP/1.1', 'PATCH /p HTTP/1.1', 'PURGE /c HTTP/1.1', 'GET / HTTP/1.0', 'GET / HTTP/1.2',
    'GET / HTTP/2.0', 'GET / http/1.1', 'GET /  HTTP/1.1', 'GET  / HTTP/1.1', 'GET / HTTP/1.1 ', 'GET /\x7f HTTP/1.1',
    'GET /\xe9 HTTP/1.1', 'GET /a\tb HTTP/1.1', 'GET host:80 HTTP/1.1', 'get / HTTP/1.1', 'G@T / HTTP/1.1', 'GET',
    'CONNECT h:443 HTTP/1.1', 'CONNECT /x HTTP/1.1',
  ];
  const headers = [
    'Host: h\r\n', '', 'Host: h\r\nHost: h\r\n', 'Host: h\r\nX: a\r\n b\r\n', 'Host: h\r\nX : a\r\n', 'Host: h\r\n X: a\r\n',
    'Host: h\r\nX:\ta\t\r\n', 'Host: h\r\nX: a\x00b\r\n', 'Host: h\r\nX: a\x01b\r\n', 'Host: h\r\nX: a\xffb\r\n',
    'Host: h\r\nX\x7f: a\r\n', 'Host: h\r\n: a\r\n', 'Host: h\nX: a\n', 'Host: h\r\nX: a\r\r\n', 'Host: h\r\nConnection: close\r\n',
    'Host: h\r\nConnection: keep-alive\r\n', 'Host: h\r\nExpect: 100-continue\r\n', 'Host: h\r\nX: ' + 'a'.repeat(2000) + '\r\n',
  ];
  for (const s of starts) {
    for (const h of headers) out.push(`${s}\r\n${h}\r\n${NEXT}`);
    out.push(`${s}\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc${NEXT}`);
  }
  // Random combinations of the pieces above (a fixed seed: failures reproduce).
  let seed = 0x2545f491;
  const pick = <T>(xs: readonly T[]): T => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return xs[(seed >>> 0) % xs.length]!;
  };
  const fieldPool = [
    'Content-Length: 5\r\n', 'Content-Length: 0\r\n', 'Content-Length: 6\r\n', 'Content-Length: 5, 5\r\n',
    'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip\r\n', 'Transfer-Encoding:\r\n', 'Transfer-Encoding: chunked, identity\r\n',
    'Connection: close\r\n', 'Connection: keep-alive\r\n', 'Expect: 100-continue\r\n', 'X: y\r\n', 'X:y\r\n', 'X: y \r\n',
    'Upgrade-Insecure-Requests: 1\r\n', 'Accept: */*\r\n',
  ];
  const bodyPool = ['', 'hello', '5\r\nhello\r\n0\r\n\r\n', '0\r\n\r\n', '5;x=y\r\nhello\r\n0\r\n\r\n', 'hel', '3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n'];
  const linePool = ['GET / HTTP/1.1', 'POST /p HTTP/1.1', 'PUT /u?x=1 HTTP/1.1', 'POST /p HTTP/1.0', 'DELETE /d HTTP/1.1', 'OPTIONS * HTTP/1.1'];
  for (let i = 0; i < 2000; i++) {
    const fields = Array.from({ length: 1 + ((seed >>> 3) % 4) }, () => pick(fieldPool)).join('');
    out.push(`${pick(linePool)}\r\nHost: h\r\n${fields}\r\n${pick(bodyPool)}${NEXT}`);
  }
  return out;
}

/** The head of the first request (up to the first empty line). */
function firstHead(s: string): string {
  return s.split('\r\n\r\n')[0]!;
}

/** Transfer-Encoding values of the first head, joined as one list. */
function codings(s: string): string {
  return [...firstHead(s).matchAll(/\r\nTransfer-Encoding:([^\r\n]*)/gi)].map((m) => m[1]).join(',');
}

const LLHTTP_METHODS = new Set(binding.methods);

/**
 * Documented, RFC-backed choices where evasync and llhttp frame differently (README, "HTTP
 * parsing choices"). Each names its rule and says when it explains a disagreement; one that
 * none explains fails the test.
 */
const CHOICES: Array<{ rule: string; applies: (input: string, mine: Trace, theirs: Trace) => boolean }> = [
  {
    rule: 'RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host is 400 (llhttp leaves that check to node:http)',
    applies: (s, mine) =>
      / HTTP\/1\.1\r\n/.test(s) && (firstHead(s).match(/\r\nHost:/gi) ?? []).length !== 1 && mine.requests.length === 0 && mine.end === 'refused',
  },
  {
    rule: 'RFC 9112 §6.3: any Transfer-Encoding field line makes the request TE-framed, even one listing no coding',
    applies: (s) => /\r\nTransfer-Encoding:[ \t,]*\r\n/i.test(firstHead(s) + '\r\n'),
  },
  {
    rule: 'RFC 9110 §5.6.1: empty elements of a list field are ignored (`chunked,` is `chunked`)',
    applies: (s, mine) => /(^|,)\s*(,|$)/.test(codings(s)) && codings(s).split(',').filter((c) => c.trim()).length > 0 && mine.end !== 'refused',
  },
  {
    rule: 'RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing: 400',
    applies: (s) => / HTTP\/1\.0\r\n/.test(firstHead(s)) && codings(s) !== '',
  },
  {
    rule: 'RFC 9112 §6.1: a transfer coding other than chunked is not implemented: 501 (llhttp hands the coded body on)',
    applies: (s) => codings(s).split(',').map((c) => c.trim().toLowerCase()).filter(Boolean).some((c) => c !== 'chunked'),
  },
  {
    rule: 'RFC 9112 §7.1.1: a chunk extension is ;name[=token|quoted-string]: no empty name or value',
    applies: (s) => /\r\n[0-9a-fA-F]+;(=|[^\r\n]*=\r\n)/.test(s),
  },
  {
    rule: 'RFC 9112 §3.2.4: the asterisk-form is for OPTIONS only',
    applies: (s) => /^(?!OPTIONS)[A-Z]+ \* /.test(s),
  },
  {
    rule: 'RFC 9112 §3.2.3: CONNECT takes the authority-form only, and has no content (RFC 9110 §9.3.6)',
    applies: (s) => s.startsWith('CONNECT '),
  },
  {
    rule: 'RFC 9110 §9.1: a method is any token (llhttp knows a fixed list); the application answers the ones it does not serve',
    applies: (_s, mine, theirs) => {
      // llhttp framed the same requests up to the first with a method it does not know.
      const i = mine.requests.findIndex((r) => !LLHTTP_METHODS.has(r.split(' ')[0]!));
      return i >= 0 && mine.requests.slice(0, i).join('\n') === theirs.requests.slice(0, i).join('\n');
    },
  },
  {
    rule: 'RFC 9110 §8.6: a Content-Length list of one repeated value is that value',
    applies: (s) => {
      const values = [...firstHead(s).matchAll(/\r\nContent-Length:([^\r\n]*)/gi)].flatMap((m) => m[1]!.split(',').map((v) => v.trim()));
      return values.length > 1 && values.every((v) => v === values[0]);
    },
  },
  {
    rule: 'RFC 9112 §3: a request line is method SP target SP version, single spaces (a recipient MAY be lenient; we are not)',
    applies: (s) => /^[^\r\n]*(  |[^ ]* [^ ]* [^\r\n]* |^ )/.test(s.split('\r\n')[0]! + '\r') || / \r$/.test(s.split('\n')[0]!),
  },
  {
    rule: 'RFC 9112 §9.6: a `close` connection option ends the connection, whatever else the field lists',
    applies: (s) => /\r\nConnection:[^\r\n]*close/i.test(firstHead(s)) && /\r\nConnection:[^\r\n]*keep-alive/i.test(firstHead(s)),
  },
  {
    rule: 'RFC 9110 §15.6.6: a well-formed HTTP version other than 1.0 and 1.1 is 505',
    applies: (s) => /^[^\r\n]* HTTP\/\d\.\d\r\n/.test(s) && !/^[^\r\n]* HTTP\/1\.[01]\r\n/.test(s),
  },
];

test('evasync and llhttp frame the same bytes the same way, except for documented RFC-backed choices', async (t) => {
  const inputs = corpus();
  const seen = new Map<number, string[]>();
  const undocumented: string[] = [];
  const documented = new Map<string, number>();
  let agreements = 0;
  await runLoop(
    t,
    async () => {
      const server = as.httpServer(
        '127.0.0.1',
        0,
        (req) => {
          const port = req.socket.remotePort;
          seen.get(port)?.push(`${req.method} ${req.uri} [${req.body.toString('latin1')}]`);
          as.httpResponse(req, { body: 'ok' });
        },
        { maxHeaders: 1000 },
      );
      const queue = inputs.map((s, i) => [i, s] as const);
      const worker = async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const [, text] = next;
          const bytes = Buffer.from(text, 'latin1');
          const mine = await evasync(server.port, bytes, seen);
          const theirs = llhttp(bytes);
          if (alike(mine, theirs)) {
            agreements++;
            continue;
          }
          const choice = CHOICES.find((c) => c.applies(text, mine, theirs));
          if (choice) documented.set(choice.rule, (documented.get(choice.rule) ?? 0) + 1);
          else undocumented.push(`${JSON.stringify(text)}\n    evasync: ${show(mine)}\n    llhttp:  ${show(theirs)}`);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await server.close();
      await expectClean(t);
    },
    {},
    120,
  );
  t.log(`${inputs.length} inputs: ${agreements} framed alike; documented differences: ${[...documented].map(([r, n]) => `${n} × ${r}`).join('; ') || 'none'}`);
  t.deepEqual(undocumented, [], `undocumented framing disagreements:\n${undocumented.join('\n')}`);
});
