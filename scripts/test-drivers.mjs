// Runs the ava suite once per reactor driver (API.md §1 `driver`), as DESIGN.md asks: the
// behaviour must be identical under both. EVASYNC_DRIVERS=thread limits the runs.
import { spawnSync } from 'node:child_process';

const drivers = (process.env.EVASYNC_DRIVERS ?? 'main,thread').split(',').filter(Boolean);
const extra = process.argv.slice(2);
let failed = false;
for (const driver of drivers) {
  console.log(`\n=== ava with EVASYNC_DRIVER=${driver} ===`);
  const r = spawnSync('npx', ['ava', ...extra], {
    stdio: 'inherit',
    env: { ...process.env, EVASYNC_DRIVER: driver },
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
