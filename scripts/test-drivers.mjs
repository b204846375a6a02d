// Runs the ava suite once per reactor driver (API.md §1 `driver`), as DESIGN.md asks: the
// behaviour must be identical under both. EVASYNC_DRIVERS=thread limits the runs. Ends with a
// plain "ava: N passed, N failed" line (also written to target/ava-summary.txt for .ci/run).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

const drivers = (process.env.EVASYNC_DRIVERS ?? 'main,thread').split(',').filter(Boolean);
const extra = process.argv.slice(2);

function runAva(driver) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['ava', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, EVASYNC_DRIVER: driver, FORCE_COLOR: '0' },
    });
    let out = '';
    const tee = (stream, sink) =>
      stream.on('data', (d) => {
        out += d.toString();
        sink.write(d);
      });
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on('close', (code) => {
      const num = (re) => Number(re.exec(out)?.[1] ?? 0);
      const passed = num(/(\d+) tests? passed/);
      const failed = num(/(\d+) tests? failed/) + num(/(\d+) uncaught exceptions?/) + num(/(\d+) unhandled rejections?/);
      resolve({ code, passed, failed: failed || (code !== 0 ? 1 : 0) });
    });
  });
}

let passed = 0;
let failed = 0;
let bad = false;
for (const driver of drivers) {
  console.log(`\n=== ava with EVASYNC_DRIVER=${driver} ===`);
  const r = await runAva(driver);
  passed += r.passed;
  failed += r.failed;
  if (r.code !== 0) bad = true;
}
const summary = `ava: ${passed} passed, ${failed} failed`;
console.log(`\n${summary}`);
mkdirSync('target', { recursive: true });
writeFileSync('target/ava-summary.txt', `${summary}\n`);
process.exit(bad ? 1 : 0);
