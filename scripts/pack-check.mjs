// npm run pack:check — does what we would publish actually work once installed?
// Builds the linux-x64-gnu binary (incrementally), packs the main package and the platform
// package with `npm pack`, installs both tarballs into a temporary project *offline*, and runs
// a smoke test there through both require() and import: an event loop, a timer, a TCP echo; then
// compiles a strict TypeScript consumer against the shipped typings (skipLibCheck off).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const TRIPLE_DIR = 'linux-x64-gnu';
const BINARY = `evasync.${TRIPLE_DIR}.node`;

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`pack:check: skipped on ${process.platform}-${process.arch} (it checks the ${TRIPLE_DIR} package)`);
  process.exit(0);
}

const work = mkdtempSync(path.join(tmpdir(), 'evasync-pack-'));
try {
  if (!existsSync(path.join(root, BINARY)) || !existsSync(path.join(root, 'dist/index.js'))) {
    run('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
  // The platform package, as `napi artifacts` would fill it.
  const platDir = path.join(work, 'platform');
  cpSync(path.join(root, 'npm', TRIPLE_DIR), platDir, { recursive: true });
  cpSync(path.join(root, BINARY), path.join(platDir, BINARY));
  const platTgz = run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: platDir }).trim().split('\n').pop();
  const mainTgz = run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root }).trim().split('\n').pop();
  const listing = run('tar', ['-tzf', path.join(work, mainTgz)]);
  if (/\.node$/m.test(listing)) throw new Error('the main package must not ship a binary');
  for (const f of ['package/dist/index.js', 'package/dist/index.mjs', 'package/binding.js']) {
    if (!listing.includes(f)) throw new Error(`the main package lacks ${f}`);
  }

  const app = path.join(work, 'app');
  cpSync(path.join(root, 'scripts', 'pack-smoke'), app, { recursive: true });
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(work, mainTgz), path.join(work, platTgz)], {
    cwd: app,
    stdio: 'inherit',
  });
  const installed = JSON.parse(readFileSync(path.join(app, 'node_modules/evasync/package.json'), 'utf8'));
  const cjs = run(process.execPath, ['smoke.cjs'], { cwd: app });
  const esm = run(process.execPath, ['smoke.mjs'], { cwd: app });
  process.stdout.write(cjs + esm);
  if (!cjs.includes('smoke ok') || !esm.includes('smoke ok')) throw new Error('smoke test failed');
  // The shipped typings: a strict consumer compiles against them with skipLibCheck off.
  run(process.execPath, [
    path.join(root, 'node_modules/typescript/bin/tsc'),
    '--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'ES2022', '--lib', 'ES2022,esnext.disposable,dom',
    '--module', 'commonjs', '--moduleResolution', 'node', '--typeRoots', path.join(root, 'node_modules/@types'), '--types', 'node',
    'consumer.ts',
  ], { cwd: app });
  console.log(`pack:check: ${mainTgz} + ${platTgz} installed offline (evasync ${installed.version}) and passed the smoke test`);
  writeFileSync(path.join(work, 'ok'), '');
} finally {
  rmSync(work, { recursive: true, force: true });
}
