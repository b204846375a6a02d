/**
 * One HTTP server over every core: N worker_threads, each with its own event loop and its own
 * listening socket on the same port (`reusePort`, Linux's SO_REUSEPORT), so the kernel spreads
 * new connections over the loops and no thread hands work to another.
 *
 *   node --import tsx examples/cores.ts [threads=os.availableParallelism()] [port=8080]
 *
 * Prints "ready <port> <threads>" once every loop listens; prints each loop's request count and
 * exits on SIGINT/SIGTERM (each worker closes its server gracefully, its loop ends, it exits).
 * Port 0 picks a free port for the first loop and gives it to the others.
 */
import * as os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import * as as from 'evasync';

interface Job {
  port: number;
  index: number;
}

if (isMainThread) {
  const threads = Number(process.argv[2] ?? os.availableParallelism());
  const firstPort = Number(process.argv[3] ?? 8080);
  void main(threads, firstPort);
} else {
  serve(workerData as Job);
}

/** Starts the workers one after the other (the first one fixes the port), then waits for a
 * signal to stop them. */
async function main(threads: number, firstPort: number): Promise<void> {
  const workers: Worker[] = [];
  let port = firstPort;
  for (let index = 0; index < threads; index++) {
    // A compiled program passes its own file (`new Worker(__filename, …)`); this example runs
    // as TypeScript through tsx, whose loader a worker must register before loading the file.
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, {
      eval: true,
      workerData: { port, index } satisfies Job,
    });
    port = await new Promise<number>((resolve, reject) => {
      worker.once('message', (m: { ready: number }) => resolve(m.ready));
      worker.once('error', reject);
    });
    workers.push(worker);
  }
  console.log(`ready ${port} ${threads}`);
  const stop = async (): Promise<void> => {
    const counts = await Promise.all(
      workers.map(
        (w) =>
          new Promise<number>((resolve) => {
            w.once('message', (m: { served: number }) => resolve(m.served));
            w.postMessage('stop');
          }),
      ),
    );
    console.log(`served ${counts.join(' + ')} requests`);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

/** One loop: an HTTP server on the shared port, stopped by a message from the main thread. */
function serve(job: Job): void {
  let served = 0;
  const headers: Array<[string, string]> = [['Content-Type', 'text/plain']];
  void as.startEventLoop(() => {
    const server = as.httpServer(
      '127.0.0.1',
      job.port,
      (req) => {
        served++;
        as.httpResponse(req, { headers, body: `Hello from loop ${job.index}\n` });
      },
      { reusePort: true, keepAliveTimeout: 60 },
    );
    // The server keeps this loop (and the worker) alive; the one 'stop' message closes it, the
    // loop ends, and the worker exits.
    parentPort!.once('message', () => {
      void server.close().then(() => parentPort!.postMessage({ served }));
    });
    parentPort!.postMessage({ ready: server.port });
  });
}
