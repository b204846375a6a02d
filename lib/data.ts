/** Data conversions shared by the TCP (and later HTTP) layers. */

import { shown } from './args';

/** What may be sent: a string (UTF-8) or any byte view. */
export type Data = string | Uint8Array;

/** Byte length of data to send, without copying strings twice. */
export function byteLength(data: Data): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/** Throws a TypeError naming `fn` unless `data` can be sent. */
export function checkData(fn: string, data: unknown): asserts data is Data {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`${fn}: data must be a string, Buffer or Uint8Array, not ${shown(data)}`);
  }
}

/** Turns seconds-or-null into what the binding takes (undefined = none). */
export function seconds(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw new TypeError(`${name} must be a non-negative number of seconds or null, not ${shown(v)}`);
  }
  return v === 0 ? undefined : v;
}

const interned = new Map<string, string>();

/** One string object per distinct address, so thousands of sockets share it. */
export function intern(s: string): string {
  let v = interned.get(s);
  if (v === undefined) {
    if (interned.size > 4096) interned.clear();
    interned.set(s, s);
    v = s;
  }
  return v;
}

/** Splits "1.2.3.4:80" / "[::1]:80" into host and port. */
export function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return [intern(host), Number(s.slice(i + 1))];
}
