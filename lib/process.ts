/**
 * Child processes (cl-async's `spawn`/`process-kill`): the engine starts the child
 * on this thread (a failure throws at once, shaped as Node's system error), its pipes are
 * `Socket`s with every socket operation, its exit is watched without SIGCHLD (a pidfd on
 * Linux) and reported to `exitCb`.
 */
import { constants as osConstants } from 'node:os';

import { EventKind } from '../binding';
import { checkData, seconds } from './data';
import { errnoName, type Dispatchee, type Loop, requireLoop } from './loop';
import { childPipe, type ConnectOpts, type EventCb, type ReadCb, setSocketTimeouts, Socket, socketCallbacks } from './tcp';
import { checkString, shown } from './args';

/** Options of a pipe end: a socket's callbacks and timeouts. */
export interface PipeEndOpts extends Pick<ConnectOpts, 'eventCb' | 'writeCb' | 'drainCb' | 'readTimeout' | 'writeTimeout' | 'stream' | 'data'> {
  readCb?: ReadCb;
}

/** What to do with one of the child's standard streams. */
export type StdioOpt = 'ignore' | 'inherit' | { pipe: PipeEndOpts } | { stream: true };

/** Options of `spawn`. */
export interface SpawnOpts {
  /** `exitCb(process, exitStatus, termSignal)` once the child has exited. */
  exitCb?: (process: Process, exitStatus: number | null, termSignal: string | null) => void;
  eventCb?: EventCb;
  /** The child's stdin. */
  input?: StdioOpt;
  /** The child's stdout. */
  output?: StdioOpt;
  /** The child's stderr. */
  errorOutput?: StdioOpt;
  /** The whole environment (replaces this process's). */
  env?: Record<string, string | number | boolean | undefined>;
  cwd?: string;
}

/** A child process. */
export class Process {
  readonly pid: number;
  /** True once it has exited. */
  exited = false;
  /** Its exit code, once it exited (null if a signal ended it). */
  exitStatus: number | null = null;
  /** The signal that ended it (`'SIGTERM'`), or null. */
  termSignal: string | null = null;
  readonly #loop: Loop;
  /** @internal */
  readonly id: number;
  readonly #exitCb: SpawnOpts['exitCb'];
  readonly #eventCb: EventCb | undefined;

  /** @internal */
  constructor(loop: Loop, id: number, pid: number, exitCb: SpawnOpts['exitCb'], eventCb: EventCb | undefined) {
    this.#loop = loop;
    this.id = id;
    this.pid = pid;
    this.#exitCb = exitCb;
    this.#eventCb = eventCb;
    loop.track(id, this);
    loop.processes++;
  }

  /** @internal The child exited. */
  onEvent(kind: number, r: Uint32Array, i: number): void {
    if (kind !== EventKind.ProcessExited || this.exited) return;
    const has = r[i + 4]!;
    this.exited = true;
    this.exitStatus = has & 1 ? r[i + 2]! | 0 : null;
    this.termSignal = has & 2 ? signalName(r[i + 3]!) : null;
    const loop = this.#loop;
    loop.processes--;
    loop.untrack(this.id);
    if (this.#exitCb) loop.callApp(this.#eventCb, this.#exitCb, this, this.exitStatus, this.termSignal);
  }

  /** @internal The loop ended: the child runs on (the library still reaps it). */
  abandon(): void {
    if (!this.exited) this.#loop.processes--;
  }

  /** @internal */
  get loop(): Loop {
    return this.#loop;
  }

  /** `Process<pid>`, and whether it exited. */
  toString(): string {
    return `Process<${this.pid}${this.exited ? ', exited' : ''}>`;
  }
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n as number, name]));

function signalName(n: number): string {
  return SIGNAL_NAMES.get(n) ?? String(n);
}

/** A signal's number from a name or number; TypeError for an unknown one. */
export function signalNumber(fn: string, signo: unknown): number {
  if (typeof signo === 'number' && Number.isInteger(signo) && SIGNAL_NAMES.has(signo)) return signo;
  if (typeof signo === 'string') {
    const n = (osConstants.signals as Record<string, number>)[signo];
    if (n !== undefined) return n;
  }
  throw new TypeError(`${fn}: signal must be a signal name or number this platform knows, not ${shown(signo)}`);
}

function stdioCode(fn: string, name: string, o: StdioOpt | undefined): number {
  if (o === undefined || o === 'ignore') return 0;
  if (o === 'inherit') return 1;
  if (typeof o === 'object' && o !== null && ('pipe' in o || 'stream' in o)) return 2;
  throw new TypeError(`${fn}: ${name} must be 'ignore', 'inherit', { pipe } or { stream: true }, not ${shown(o)}`);
}

/** The system error Node throws for a failed spawn. */
function spawnError(path: string, args: string[], errno: number, message: string): Error {
  const code = errnoName(errno);
  const err = new Error(`spawn ${path} ${code}: ${message}`) as Error & Record<string, unknown>;
  err.errno = -errno;
  err.code = code;
  err.syscall = `spawn ${path}`;
  err.path = path;
  err.spawnargs = args;
  return err;
}

/**
 * Starts `path` with `args` (argv[0] excluded); a `path` without `/` is looked up in `PATH`
 * (the given `env`'s, else this process's). Returns the process and its pipe sockets (null for
 * 'ignore'/'inherit'). Throws Node's system error (`code: 'ENOENT'`, `syscall`, `path`,
 * `spawnargs`) when the child cannot start.
 * @example
 * ```ts
 * const { process, output } = as.spawn('/bin/ls', ['-l', '/'], {
 *   output: { pipe: { readCb: (_s, data) => console.log(data.toString()) } },
 *   exitCb: (_p, status, signal) => console.log('exited', status, signal),
 * });
 * ```
 */
export function spawn(
  path: string,
  args: string[] = [],
  opts: SpawnOpts = {},
): { process: Process; input: Socket | null; output: Socket | null; errorOutput: Socket | null } {
  const loop = requireLoop();
  checkString('spawn: path', path);
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new TypeError(`spawn: args must be an array of strings, not ${shown(args)}`);
  const codes = [stdioCode('spawn', 'input', opts.input), stdioCode('spawn', 'output', opts.output), stdioCode('spawn', 'errorOutput', opts.errorOutput)];
  let env: string[] | undefined;
  if (opts.env !== undefined) {
    if (opts.env === null || typeof opts.env !== 'object') throw new TypeError(`spawn: env must be an object, not ${shown(opts.env)}`);
    env = [];
    for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env.push(k, String(v));
  }
  if (opts.cwd !== undefined && typeof opts.cwd !== 'string') throw new TypeError(`spawn: cwd must be a string, not ${shown(opts.cwd)}`);
  for (const o of [opts.input, opts.output, opts.errorOutput]) {
    const data = typeof o === 'object' && o !== null && 'pipe' in o ? o.pipe.data : undefined;
    if (data !== undefined) checkData('spawn', data);
  }
  loop.flush();
  const res = loop.native.spawn(path, args, env, opts.cwd, codes);
  if (res.errno !== 0) throw spawnError(path, args, res.errno, res.message);
  const process = new Process(loop, res.id, res.pid, opts.exitCb, opts.eventCb);
  const end = (id: number, o: StdioOpt | undefined): Socket | null => {
    if (id === 0 || typeof o !== 'object' || o === null) return null;
    const pipe: PipeEndOpts = 'pipe' in o ? o.pipe : {};
    const stream = 'stream' in o ? true : (pipe.stream ?? false);
    const s = childPipe(loop, id, socketCallbacks(pipe.readCb, { ...pipe, stream }));
    if (pipe.readTimeout != null || pipe.writeTimeout != null) {
      setSocketTimeouts(s, seconds('readTimeout', pipe.readTimeout) ?? null, seconds('writeTimeout', pipe.writeTimeout) ?? null);
    }
    if (pipe.data !== undefined) s.write(pipe.data, pipe.writeCb);
    return s;
  };
  return {
    process,
    input: end(res.stdin, opts.input),
    output: end(res.stdout, opts.output),
    errorOutput: end(res.stderr, opts.errorOutput),
  };
}

/**
 * Sends `signal` (a name or number, default 'SIGTERM'); false if it had already exited.
 * @example
 * ```ts
 * const { process } = as.spawn('/bin/sleep', ['60']);
 * as.processKill(process, 'SIGTERM'); // exitCb gets (process, null, 'SIGTERM')
 * ```
 */
export function processKill(process: Process, signal: string | number = 'SIGTERM'): boolean {
  if (!(process instanceof Process)) throw new TypeError(`processKill: process must be a Process, not ${shown(process)}`);
  const n = signalNumber('processKill', signal);
  if (process.exited || !process.loop.running) return false;
  return process.loop.native.processKill(process.id, n);
}

/** Signal numbers of this platform (`as.SIGINT`), from `os.constants.signals`. */
const signals = osConstants.signals;
/** Hang-up: the terminal went away; daemons often reload on it. */
export const SIGHUP: number = signals.SIGHUP;
/** Interrupt (Ctrl-C). */
export const SIGINT: number = signals.SIGINT;
/** Quit, with a core dump by default. */
export const SIGQUIT: number = signals.SIGQUIT;
/** Polite termination: the default of `processKill`. */
export const SIGTERM: number = signals.SIGTERM;
/** User-defined (Node uses it for its inspector). */
export const SIGUSR1: number = signals.SIGUSR1;
/** User-defined. */
export const SIGUSR2: number = signals.SIGUSR2;
/** Write to a pipe with no reader. */
export const SIGPIPE: number = signals.SIGPIPE;
/** Timer alarm. */
export const SIGALRM: number = signals.SIGALRM;
/** A child changed state (evasync never relies on it). */
export const SIGCHLD: number = signals.SIGCHLD;
/** Continue a stopped process. */
export const SIGCONT: number = signals.SIGCONT;
/** The terminal window changed size. */
export const SIGWINCH: number = signals.SIGWINCH;
/** Kill; cannot be caught. */
export const SIGKILL: number = signals.SIGKILL;
/** Stop; cannot be caught. */
export const SIGSTOP: number = signals.SIGSTOP;
