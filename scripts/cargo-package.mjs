/**
 * `cargo package` of the publishable crates, verified: each is built from its packaged sources,
 * evasync against the packaged evasync-http1. Cargo treats that packaged dependency as a
 * registry crate, and registry crates never change, so a build of an older http1 left in
 * target/ (or its extracted sources in ~/.cargo) would be reused although the sources moved on
 * under the same version. This removes those leftovers first, then packages.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
rmSync(path.join(root, 'target/package'), { recursive: true, force: true });
const srcs = path.join(process.env.CARGO_HOME ?? path.join(homedir(), '.cargo'), 'registry/src');
if (existsSync(srcs)) {
  // Local (packaging) registries have directory names without a host: "-<hash>".
  for (const reg of readdirSync(srcs).filter((d) => d.startsWith('-'))) {
    for (const d of readdirSync(path.join(srcs, reg)).filter((d) => d.startsWith('evasync'))) {
      rmSync(path.join(srcs, reg, d), { recursive: true, force: true });
    }
  }
}
for (const dir of ['target/debug/.fingerprint', 'target/debug/deps']) {
  const full = path.join(root, dir);
  if (!existsSync(full)) continue;
  for (const f of readdirSync(full).filter((f) => /^(lib)?evasync[-_]http1-/.test(f))) {
    rmSync(path.join(full, f), { recursive: true, force: true });
  }
}
execFileSync('cargo', ['package', '-p', 'evasync', '-p', 'evasync-http1', '--allow-dirty', '--quiet'], { cwd: root, stdio: 'inherit' });
