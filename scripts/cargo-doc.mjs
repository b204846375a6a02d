// npm run doc:rust — builds the Rust docs of the public crates with every rustdoc warning an
// error (broken intra-doc links included), as `npm test` requires.
import { execFileSync } from 'node:child_process';

execFileSync('cargo', ['doc', '--no-deps', '-p', 'evasync', '-p', 'evasync-http1'], {
  stdio: 'inherit',
  env: { ...process.env, RUSTDOCFLAGS: `${process.env.RUSTDOCFLAGS ?? ''} -D warnings`.trim() },
});
