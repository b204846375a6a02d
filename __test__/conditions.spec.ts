import test from 'ava';
import * as as from 'evasync';

const tree: Array<[new (...a: any[]) => Error, string, (new (...a: any[]) => Error) | null]> = [
  [as.ConnectionInfo, 'EVASYNC_CONNECTION_INFO', null],
  [as.ConnectionEof, 'EVASYNC_CONNECTION_EOF', as.ConnectionInfo],
  [as.ConnectionError, 'EVASYNC_CONNECTION_ERROR', as.ConnectionInfo],
  [as.ConnectionTimeout, 'EVASYNC_CONNECTION_TIMEOUT', as.ConnectionError],
  [as.ConnectionRefused, 'EVASYNC_CONNECTION_REFUSED', as.ConnectionError],
  [as.ConnectionReset, 'EVASYNC_CONNECTION_RESET', as.ConnectionError],
  [as.AddressInUse, 'EVASYNC_ADDRESS_IN_USE', as.ConnectionError],
  [as.DnsError, 'EVASYNC_DNS_ERROR', as.ConnectionError],
  [as.TlsError, 'EVASYNC_TLS_ERROR', as.ConnectionError],
  [as.SocketClosed, 'EVASYNC_SOCKET_CLOSED', as.ConnectionError],
  [as.HttpError, 'EVASYNC_HTTP_ERROR', as.ConnectionError],
];

for (const [Cls, code, parent] of tree) {
  test(`${Cls.name} extends ${parent?.name ?? 'Error'} and carries code ${code}`, (t) => {
    const e = new Cls('msg', { errcode: 'EPIPE', fd: 7 });
    t.true(e instanceof Error);
    if (parent) t.true(e instanceof parent);
    t.is((e as unknown as { code: string }).code, code);
    t.is((Cls as unknown as { code: string }).code, code);
    t.is(e.name, Cls.name);
    t.is(e.message, 'msg');
    t.is((e as unknown as { fd: number }).fd, 7);
  });
}

test('ConnectionError fields: errcode defaults to -1, errmsg is the message', (t) => {
  const e = new as.ConnectionError('connect to x failed');
  t.is(e.errcode, -1);
  t.is(e.errmsg, 'connect to x failed');
  t.is(e.socket, undefined);
  const s = {};
  const e2 = new as.ConnectionReset('r', { errcode: 'ECONNRESET', socket: s });
  t.is(e2.errcode, 'ECONNRESET');
  t.is(e2.socket, s);
});

test('HttpError carries status; EventLoopError is not a connection condition', (t) => {
  t.is(new as.HttpError('too large', { status: 413 }).status, 413);
  const e = new as.EventLoopError('misuse');
  t.is(e.code, 'EVASYNC_EVENT_LOOP_ERROR');
  t.is(as.EventLoopError.code, 'EVASYNC_EVENT_LOOP_ERROR');
  t.false(e instanceof as.ConnectionInfo);
});
