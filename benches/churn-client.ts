/**
 * The client of `npm run bench -- churn`, in a process of its own: `churn-client.ts <port>
 * <connections> <concurrency>` opens that many connections, each sends one request, reads its
 * response and ends the connection in turn with FIN (`end()`), a plain close (`destroy()`) or a
 * reset (`resetAndDestroy()`). Prints progress lines `progress <done>` every 10 000 and a last
 * line `done <ok> <errors> <ms>`.
 */
import * as net from 'node:net';

const port = Number(process.argv[2]);
const total = Number(process.argv[3]);
const concurrency = Number(process.argv[4] ?? 50);
const REQUEST = 'GET / HTTP/1.1\r\nHost: churn\r\n\r\n';

let started = 0;
let done = 0;
let ok = 0;
let errors = 0;
const t0 = Date.now();

function one(): void {
  if (started >= total) return;
  const n = started++;
  const s = net.connect(port, '127.0.0.1');
  let answered = false;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done++;
    if (answered) ok++;
    else errors++;
    if (done % 10_000 === 0) console.log(`progress ${done}`);
    if (done === total) console.log(`done ${ok} ${errors} ${Date.now() - t0}`);
    else one();
  };
  s.setNoDelay(true);
  s.on('connect', () => s.write(REQUEST));
  s.on('data', (d) => {
    if (answered || !d.includes('Hello')) return;
    answered = true;
    switch (n % 3) {
      case 0:
        s.end();
        break;
      case 1:
        s.destroy();
        finish();
        break;
      default:
        s.resetAndDestroy();
        finish();
    }
  });
  s.on('close', finish);
  s.on('error', () => {});
}

for (let i = 0; i < concurrency; i++) one();
