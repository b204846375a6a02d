/**
 * `AbortSignal` support: a signal covers an operation until its result; aborting
 * before that cancels the work and rejects (or reaches `eventCb`) with the signal's reason.
 */
import { shown } from './args';

/** Throws TypeError unless `signal` is undefined or an AbortSignal. */
export function checkSignal(fn: string, signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`${fn}: signal must be an AbortSignal, not ${shown(signal)}`);
  return signal;
}

/** What an abort rejects with: the signal's reason, or an `AbortError` DOMException. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Runs `onAbort` once if `signal` aborts; returns the function that stops listening (call it
 * once the operation has its result).
 */
export function whenAborted(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void {
  if (signal === undefined) return () => {};
  const listener = () => onAbort(abortReason(signal));
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
