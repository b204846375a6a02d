/**
 * The certificate every TLS bench server presents (evasync, uWebSockets.js's SSLApp, node:tls
 * and node:https alike): P-256, self-signed for 127.0.0.1 and localhost, made once by the
 * `openssl` CLI. Its files are passed to the server processes in `TLS_BENCH_CERT` /
 * `TLS_BENCH_KEY`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface BenchCert {
  certFile: string;
  keyFile: string;
}

/** The bench certificate's files (made on first use, kept in the temp directory). */
export function benchCert(): BenchCert {
  const dir = path.join(os.tmpdir(), 'evasync-bench-cert');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile,
      '-out', certFile, '-days', '365', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: 'ignore' });
  }
  return { certFile, keyFile };
}

/** The environment that makes a bench server speak TLS with the bench certificate. */
export function tlsEnv(): Record<string, string> {
  const c = benchCert();
  return { TLS_BENCH_CERT: c.certFile, TLS_BENCH_KEY: c.keyFile };
}
