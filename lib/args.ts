/**
 * Argument checks shared by every export: messages name the argument and quote the value as
 * `util.inspect` shows it, with its type — `port must be an integer from 0 to 65535, not
 * '8080' (string)`.
 */
import { inspect } from 'node:util';

/** The type word of a value in messages: `string`, `number`, `null`, `array`, `object`, … */
function typeWord(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** `'8080' (string)`: a value as messages quote it. */
export function shown(v: unknown): string {
  return `${inspect(v, { depth: 1, breakLength: Infinity, maxStringLength: 80, maxArrayLength: 10 })} (${typeWord(v)})`;
}

/** Throws `TypeError(`${what} must be a function, not …`)` unless `f` is a function. */
export function checkFunction(what: string, f: unknown): void {
  if (typeof f !== 'function') throw new TypeError(`${what} must be a function, not ${shown(f)}`);
}

/** Throws unless `v` is undefined or a function. */
export function checkOptionalFunction(what: string, f: unknown): void {
  if (f !== undefined && typeof f !== 'function') throw new TypeError(`${what} must be a function, not ${shown(f)}`);
}

/** Throws unless `s` is a non-empty string. */
export function checkString(what: string, s: unknown): asserts s is string {
  if (typeof s !== 'string' || s === '') throw new TypeError(`${what} must be a non-empty string, not ${shown(s)}`);
}
