/**
 * Benchmarks against peers in the same run (never timed tests).
 *   npm run bench -- <timers|delivery|tcp-echo|idle-conns|http|dns|http-client|slowloris|churn|flood|hostile|emfile|https|tls-handshakes|tls-idle|tls-bulk|unix-echo|spawn|notifier|cores|all>
 */
import * as path from 'node:path';

const benches: Record<string, () => Promise<void>> = {
  timers: async () => (await import('./timers')).main(),
  delivery: async () => (await import('./delivery')).main(),
  'tcp-echo': async () => (await import('./tcp-echo')).main(),
  'idle-conns': async () => (await import('./idle-conns')).main(),
  http: async () => (await import('./http')).main(),
  dns: async () => (await import('./dns')).main(),
  'http-client': async () => (await import('./http-client')).main(),
  slowloris: async () => (await import('./slowloris')).main(),
  churn: async () => (await import('./churn')).main(),
  flood: async () => (await import('./flood')).main(),
  hostile: async () => (await import('./hostile')).main(),
  emfile: async () => (await import('./emfile')).main(),
  https: async () => (await import('./https')).main(),
  'tls-handshakes': async () => (await import('./tls-handshakes')).main(),
  'tls-idle': async () => (await import('./tls-idle')).main(),
  'tls-bulk': async () => (await import('./tls-bulk')).main(),
  'unix-echo': async () => (await import('./unix-echo')).main(),
  spawn: async () => (await import('./spawn')).main(),
  notifier: async () => (await import('./notifier')).main(),
  cores: async () => (await import('./cores')).main(),
};

async function run(): Promise<void> {
  // `npm run bench` measures the built package, as users run it (tsconfig.dist.json); tsx on the
  // sources adds a defineProperty per named closure (its keepNames), 30 % on some paths.
  const measured = require.resolve('evasync');
  console.log(`evasync: ${path.relative(process.cwd(), measured)}`);
  if (measured.endsWith('.ts')) console.warn('warning: measuring the TypeScript sources through tsx; `npm run bench` measures the build');
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const todo = names.length === 0 || names.includes('all') ? Object.keys(benches) : names;
  for (const name of todo) {
    const bench = benches[name];
    if (!bench) {
      console.error(`unknown bench ${name}; known: ${Object.keys(benches).join(', ')}`);
      process.exitCode = 2;
      return;
    }
    console.log(`\n## ${name}`);
    await bench();
  }
}

run().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
