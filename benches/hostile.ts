/**
 * `npm run bench -- hostile`: more than 120 malformed or hostile requests (benches/
 * hostile-inputs.ts), each sent on its own connection to evasync (both drivers) and to
 * node:http; prints each verdict side by side (the status answered, or how the connection
 * ended). Invariants (non-zero exit): evasync refuses every input that must be refused (never
 * a 2xx), never answers twice (a smuggled request), never crashes, and answers a normal
 * request after each input.
 */
import * as net from 'node:net';

import { hostileInputs } from './hostile-inputs';
import { saveResults, startChild, stopChild, table } from './common';

/** Sends `bytes`, half-closes after a moment, and says how the server answered. */
function verdict(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let reset = false;
    const timer = setTimeout(() => s.end(), 500);
    const hard = setTimeout(() => s.destroy(), 3000);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => (reset = true));
    s.on('close', () => {
      clearTimeout(timer);
      clearTimeout(hard);
      const statuses = [...got.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]).join(',');
      resolve(statuses || (reset ? 'reset' : 'closed'));
    });
  });
}

function normalRequest(port: number): Promise<boolean> {
  return verdict(port, Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')).then((v) => v === '200');
}

const refused = (v: string) => !/(^|,)2\d\d/.test(v);

export async function main(): Promise<void> {
  const inputs = hostileInputs();
  const servers: Array<[string, string[]]> = [
    ['evasync (main)', ['evasync', 'main']],
    ['evasync (thread)', ['evasync', 'thread']],
    ['node:http', ['node']],
  ];
  const verdicts = new Map<string, string[]>();
  const broken: string[] = [];
  for (const [name, args] of servers) {
    const { child, line } = await startChild('http-server.ts', args, { HTTP_SERVER_READ_BODY: '1' });
    const port = Number(line.split(' ')[1]);
    const vs: string[] = [];
    try {
      for (const input of inputs) {
        const v = await verdict(port, input.bytes);
        vs.push(v);
        if (!name.startsWith('evasync')) continue;
        if (!input.mayServe && !refused(v)) broken.push(`${name} answered ${v} to "${input.name}"`);
        // Each input holds at most one request: a second answer would be a smuggled request.
        if (v.split(',').filter((x) => x.startsWith('2')).length > 1) broken.push(`${name} answered twice (${v}) to "${input.name}"`);
        if (!(await normalRequest(port))) broken.push(`${name} did not serve a normal request after "${input.name}"`);
        if (child.exitCode !== null) {
          broken.push(`${name} exited after "${input.name}"`);
          break;
        }
      }
    } finally {
      await stopChild(child);
    }
    verdicts.set(name, vs);
  }
  const rows = inputs.map((input, i) => ({
    input: input.name,
    ...Object.fromEntries(servers.map(([name]) => [name, verdicts.get(name)?.[i] ?? '-'])),
    'same as node': refused(verdicts.get('evasync (main)')![i]!) === refused(verdicts.get('node:http')![i]!) ? 'yes' : 'no',
  }));
  table(rows);
  const agree = rows.filter((r) => r['same as node'] === 'yes').length;
  console.log(`${inputs.length} hostile inputs; evasync refused ${inputs.filter((_, i) => refused(verdicts.get('evasync (main)')![i]!)).length}, node:http refused ${inputs.filter((_, i) => refused(verdicts.get('node:http')![i]!)).length}; same refuse/serve verdict as node:http on ${agree}`);
  console.log(saveResults('hostile', { rows, broken }));
  for (const b of broken) console.log(`INVARIANT BROKEN: ${b}`);
  if (broken.length > 0) process.exitCode = 1;
}
