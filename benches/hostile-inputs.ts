/**
 * Malformed and hostile HTTP/1.1 requests, each one a server must refuse (a 4xx/5xx answer, or
 * closing): garbage request lines, header syntax, smuggling shapes, broken chunked bodies,
 * limits, and other protocols spoken at an HTTP port. Used by `npm run bench -- hostile` (which
 * compares each verdict with node:http's) and by the hostile-input spec.
 */

/** One input: a short name and its bytes. */
export interface HostileInput {
  name: string;
  bytes: Buffer;
  /** RFC 9112 lets a server accept it (leading empty lines, zero-padded sizes): only staying
   * up is asked of it. */
  mayServe?: boolean;
}

/** Inputs a server may serve (see `HostileInput.mayServe`). */
const MAY_SERVE = new Set([
  'CRLF flood before the request line',
  'size line of 17 zeros then data',
  // CONNECT is answered by the application; what follows it must not be served as a request.
  'CONNECT with a body then a smuggled request',
]);

const H = 'Host: h\r\n';
const b = (s: string) => Buffer.from(s, 'latin1');

function requestLines(): Array<[string, string]> {
  return [
    ['empty request line', '\r\n\r\n'],
    ['only CRLFs', '\r\n\r\n\r\n\r\n'],
    ['HTTP/0.9 simple request', 'GET /\r\n\r\n'],
    ['method only', 'GET\r\n\r\n'],
    ['leading space', ` GET / HTTP/1.1\r\n${H}\r\n`],
    ['trailing word', `GET / HTTP/1.1 extra\r\n${H}\r\n`],
    ['tab separators', `GET\t/\tHTTP/1.1\r\n${H}\r\n`],
    ['NUL in method', `G\0T / HTTP/1.1\r\n${H}\r\n`],
    ['lower-case version', `GET / http/1.1\r\n${H}\r\n`],
    ['version with junk', `GET / HTTP/1.1x\r\n${H}\r\n`],
    ['version 1.a', `GET / HTTP/1.a\r\n${H}\r\n`],
    ['version 2.0', `GET / HTTP/2.0\r\n${H}\r\n`],
    ['version 3', `GET / HTTP/3\r\n${H}\r\n`],
    ['no version', `GET / \r\n${H}\r\n`],
    ['space in target', `GET /a b HTTP/1.1\r\n${H}\r\n`],
    ['DEL in target', `GET /\x7f HTTP/1.1\r\n${H}\r\n`],
    ['raw UTF-8 in target', `GET /\xc3\xa9 HTTP/1.1\r\n${H}\r\n`],
    ['NUL in target', `GET /\0 HTTP/1.1\r\n${H}\r\n`],
    ['CR in target', `GET /\r HTTP/1.1\r\n${H}\r\n`],
    ['authority-form for GET', `GET host:80 HTTP/1.1\r\n${H}\r\n`],
    ['empty target', `GET  HTTP/1.1\r\n${H}\r\n`],
    ['method with a slash', `GE/T / HTTP/1.1\r\n${H}\r\n`],
    ['method with brackets', `[GET] / HTTP/1.1\r\n${H}\r\n`],
    ['a 20 KiB target', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\n${H}\r\n`],
    ['a 20 KiB method', `${'G'.repeat(20_000)} / HTTP/1.1\r\n${H}\r\n`],
    ['bare LF after the request line', `GET / HTTP/1.1\n${H}\r\n`],
    ['bare CR after the request line', `GET / HTTP/1.1\r${H}\r\n`],
    ['CONNECT to a path', `CONNECT /x HTTP/1.1\r\n${H}\r\n`],
    ['asterisk for GET', `GET * HTTP/1.1\r\n${H}\r\n`],
  ];
}

function headerSyntax(): Array<[string, string]> {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join('');
  return [
    ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n'],
    ['two Hosts', `GET / HTTP/1.1\r\n${H}${H}\r\n`],
    ['Host with a space inside', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ['header without a colon', `GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`],
    ['space before the colon', `GET / HTTP/1.1\r\n${H}X-A : v\r\n\r\n`],
    ['tab before the colon', `GET / HTTP/1.1\r\n${H}X-A\t: v\r\n\r\n`],
    ['empty header name', `GET / HTTP/1.1\r\n${H}: v\r\n\r\n`],
    ['obs-fold continuation', `GET / HTTP/1.1\r\n${H}X-A: v\r\n w\r\n\r\n`],
    ['obs-fold with a tab', `GET / HTTP/1.1\r\n${H}X-A: v\r\n\tw\r\n\r\n`],
    ['NUL in a value', `GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`],
    ['CR in a value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`],
    ['bare LF between headers', `GET / HTTP/1.1\r\n${H}X-A: a\nX-B: b\r\n\r\n`],
    ['bare LF ending the head', `GET / HTTP/1.1\r\n${H}\n`],
    ['control byte in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`],
    ['parenthesis in a name', `GET / HTTP/1.1\r\n${H}X(A): v\r\n\r\n`],
    ['slash in a name', `GET / HTTP/1.1\r\n${H}X/A: v\r\n\r\n`],
    ['non-ASCII in a name', `GET / HTTP/1.1\r\n${H}X-\xe9: v\r\n\r\n`],
    ['DEL in a name', `GET / HTTP/1.1\r\n${H}X\x7f: v\r\n\r\n`],
    ['300 header fields', `GET / HTTP/1.1\r\n${H}${many(300)}\r\n`],
    ['a 20 KiB header value', `GET / HTTP/1.1\r\n${H}X-Big: ${'v'.repeat(20_000)}\r\n\r\n`],
    ['a 20 KiB header name', `GET / HTTP/1.1\r\n${H}${'X'.repeat(20_000)}: v\r\n\r\n`],
    ['2 000 empty-valued headers', `GET / HTTP/1.1\r\n${H}${'X:\r\n'.repeat(2000)}\r\n`],
    ['Expect other than 100-continue', `GET / HTTP/1.1\r\n${H}Expect: 200-ok\r\n\r\n`],
    ['header line of spaces', `GET / HTTP/1.1\r\n${H}   \r\n\r\n`],
  ];
}

function framing(): Array<[string, string]> {
  const post = (fields: string, body: string) => `POST / HTTP/1.1\r\n${H}${fields}\r\n${body}`;
  const chunked = '5\r\nhello\r\n0\r\n\r\n';
  return [
    ['CL and TE', post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', chunked)],
    ['TE and CL', post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', chunked)],
    ['two different CLs', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!')],
    ['a CL list of different values', post('Content-Length: 5, 6\r\n', 'hello!')],
    ['negative CL', post('Content-Length: -5\r\n', 'hello')],
    ['CL with a plus', post('Content-Length: +5\r\n', 'hello')],
    ['hex CL', post('Content-Length: 0x5\r\n', 'hello')],
    ['CL with letters', post('Content-Length: 5a\r\n', 'hello')],
    ['empty CL', post('Content-Length:\r\n', 'hello')],
    ['CL overflowing 64 bits', post('Content-Length: 99999999999999999999999\r\n', 'hello')],
    ['CL with a space inside', post('Content-Length: 5 5\r\n', 'hello')],
    ['CL with a decimal point', post('Content-Length: 5.0\r\n', 'hello')],
    ['empty TE with CL', post('Transfer-Encoding:\r\nContent-Length: 5\r\n', 'hello')],
    ['comma TE with CL', post('Transfer-Encoding: ,\r\nContent-Length: 5\r\n', 'hello')],
    ['blank TE with CL', post('Transfer-Encoding:   \r\nContent-Length: 5\r\n', 'hello')],
    ['TE gzip only', post('Transfer-Encoding: gzip\r\n', 'hello')],
    ['TE identity', post('Transfer-Encoding: identity\r\n', 'hello')],
    ['TE chunked then gzip', post('Transfer-Encoding: chunked, gzip\r\n', chunked)],
    ['TE chunked twice', post('Transfer-Encoding: chunked, chunked\r\n', chunked)],
    ['TE gzip before chunked', post('Transfer-Encoding: gzip, chunked\r\n', chunked)],
    ['TE xchunked', post('Transfer-Encoding: xchunked\r\n', chunked)],
    ['TE chunked with a NUL', post('Transfer-Encoding: chunked\0\r\n', chunked)],
    ['TE with a vertical tab', post('Transfer-Encoding: \vchunked\r\n', chunked)],
    ['TE name with a space', post('Transfer-Encoding : chunked\r\n', chunked)],
    ['TE chunked;q=1', post('Transfer-Encoding: chunked;q=1\r\n', chunked)],
    ['TE in HTTP/1.0', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`],
    ['TE in two lines ending gzip', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n', chunked)],
    ['CL over maxBodySize', post(`Content-Length: ${2 * 1024 * 1024}\r\n`, 'x'.repeat(1000))],
    ['CONNECT with a body then a smuggled request', `CONNECT h:443 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello${'GET /smuggled HTTP/1.1\r\n'}`],
  ];
}

function chunkedBodies(): Array<[string, string]> {
  const te = (body: string) => `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${body}`;
  return [
    ['chunk size not hex', te('g\r\nhello\r\n0\r\n\r\n')],
    ['chunk size empty', te('\r\nhello\r\n0\r\n\r\n')],
    ['chunk size negative', te('-5\r\nhello\r\n0\r\n\r\n')],
    ['chunk size 0x-prefixed', te('0x5\r\nhello\r\n0\r\n\r\n')],
    ['chunk size overflow', te('fffffffffffffffff\r\nhello\r\n0\r\n\r\n')],
    ['chunk size with a trailing space', te('5 \r\nhello\r\n0\r\n\r\n')],
    ['chunk size with a leading space', te(' 5\r\nhello\r\n0\r\n\r\n')],
    ['chunk size with a tab', te('5\t\r\nhello\r\n0\r\n\r\n')],
    ['space before an extension', te('5 ;a=b\r\nhello\r\n0\r\n\r\n')],
    ['space after ;', te('5; a=b\r\nhello\r\n0\r\n\r\n')],
    ['extension without a name', te('5;\r\nhello\r\n0\r\n\r\n')],
    ['extension value without a name', te('5;=b\r\nhello\r\n0\r\n\r\n')],
    ['extension = without a value', te('5;a=\r\nhello\r\n0\r\n\r\n')],
    ['extension with an open quote', te('5;a="b\r\nhello\r\n0\r\n\r\n')],
    ['extension with a NUL', te('5;a\0b\r\nhello\r\n0\r\n\r\n')],
    ['a 5 KiB extension', te(`5;${'a'.repeat(5000)}\r\nhello\r\n0\r\n\r\n`)],
    ['bare LF after the size', te('5\nhello\r\n0\r\n\r\n')],
    ['bare LF after the data', te('5\r\nhello\n0\r\n\r\n')],
    ['no CRLF after the data', te('5\r\nhello0\r\n\r\n')],
    ['data longer than its size', te('5\r\nhelloXX\r\n0\r\n\r\n')],
    ['bare LF ending the body', te('5\r\nhello\r\n0\r\n\n')],
    ['bare LF in a trailer', te('5\r\nhello\r\n0\r\nX: 1\n\r\n')],
    ['a 10 KiB trailer', te(`5\r\nhello\r\n0\r\nX: ${'t'.repeat(10_000)}\r\n\r\n`)],
    ['a chunk over maxBodySize', te(`${(2 * 1024 * 1024).toString(16)}\r\n${'x'.repeat(100)}`)],
    ['chunks summing over maxBodySize', te(`${'100000\r\n'}${'x'.repeat(0x100000)}\r\n10\r\n${'x'.repeat(16)}\r\n0\r\n\r\n`)],
    ['CR alone after the size', te('5\rhello\r\n0\r\n\r\n')],
    ['last chunk without its CRLF, then garbage', te('5\r\nhello\r\n0\r\nGARBAGE')],
    ['size line of 17 zeros then data', te('00000000000000005\r\nhello\r\n0\r\n\r\n')],
  ];
}

function otherProtocols(): Array<[string, string]> {
  return [
    ['TLS ClientHello', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + '\x00'.repeat(32)],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['SSH banner', 'SSH-2.0-OpenSSH_9.2\r\n'],
    ['SMTP greeting', 'EHLO example.com\r\n\r\n'],
    ['all NULs', '\0'.repeat(512)],
    ['all 0xff', '\xff'.repeat(512)],
    ['random binary', Array.from({ length: 512 }, (_, i) => String.fromCharCode((i * 7919 + 13) & 0xff)).join('')],
    ['a WebSocket frame', '\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58'],
    ['JSON without a request line', '{"hello":"world"}\r\n\r\n'],
    ['HTTP response instead of a request', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a request line of 100 KiB', `GET /${'x'.repeat(100_000)} HTTP/1.1\r\n${H}\r\n`],
    ['a head of 100 KiB of headers', `GET / HTTP/1.1\r\n${H}${'X-Y: z\r\n'.repeat(14_000)}\r\n`],
    ['CRLF flood before the request line', `${'\r\n'.repeat(20_000)}GET / HTTP/1.1\r\n${H}\r\n`],
  ];
}

/** Every hostile input (more than 120). */
export function hostileInputs(): HostileInput[] {
  return [...requestLines(), ...headerSyntax(), ...framing(), ...chunkedBodies(), ...otherProtocols()].map(([name, text]) => ({
    name,
    bytes: b(text),
    mayServe: MAY_SERVE.has(name),
  }));
}
