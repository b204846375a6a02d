/**
 * Certificates for the TLS specs, made by the `openssl` CLI (Debian's `openssl`) once per test
 * process in a temporary directory: a test CA and leaves it signs (P-256 and RSA), an expired
 * leaf, a leaf for another name, a self-signed certificate, a second CA nobody trusts, and a
 * client CA with a client certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pair {
  cert: string;
  key: string;
}

export interface Certs {
  dir: string;
  /** The CA every good leaf chains to. */
  ca: string;
  /** localhost + 127.0.0.1 + ::1, P-256. */
  leaf: Pair;
  /** The same names, RSA 2048. */
  rsa: Pair;
  /** Valid 2000–2001. */
  expired: Pair;
  /** For `other.test` only. */
  wrongName: Pair;
  /** Self-signed for localhost. */
  selfSigned: Pair;
  /** Signed by a CA no test trusts. */
  untrusted: Pair;
  /** A leaf for `a.sni.test` and one for `*.wild.test`. */
  sniA: Pair;
  sniWild: Pair;
  /** Client certificates: the CA servers trust for clients, and a client signed by it. */
  clientCa: string;
  client: Pair;
  /** Paths of files openssl/curl take. */
  files: { ca: string; leafCert: string; leafKey: string };
}

let made: Certs | null = null;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function read(dir: string, f: string): string {
  return readFileSync(join(dir, f), 'utf8');
}

/** Makes a key: 'ec' (P-256) or 'rsa'. */
function key(dir: string, name: string, kind: 'ec' | 'rsa' = 'ec'): void {
  if (kind === 'ec') openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  else openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`]);
}

function makeCa(dir: string, name: string, cn: string): void {
  key(dir, name);
  openssl(dir, ['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`, '-days', '3650', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** A leaf signed by `ca`, for `names` (DNS names and IP addresses). */
function leaf(dir: string, ca: string, name: string, names: string[], opts: { kind?: 'ec' | 'rsa'; client?: boolean; dates?: [string, string] } = {}): Pair {
  key(dir, name, opts.kind);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const ext = [
    'basicConstraints=CA:FALSE',
    `extendedKeyUsage=${opts.client ? 'clientAuth' : 'serverAuth'}`,
    ...(san ? [`subjectAltName=${san}`] : []),
  ];
  writeFileSync(join(dir, `${name}.ext`), ext.join('\n') + '\n');
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${names[0] ?? name}`]);
  if (opts.dates === undefined) {
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '825', '-extfile', `${name}.ext`]);
  } else {
    // `openssl ca` is the CLI's way to set explicit validity dates.
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'ca.cnf'), [
      '[ca]', 'default_ca = d', '[d]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir',
      `certificate = $dir/${ca}.pem`, `private_key = $dir/${ca}.key`, 'serial = $dir/serial.txt', 'default_md = sha256',
      'policy = p', 'unique_subject = no', '[p]', 'commonName = supplied',
    ].join('\n') + '\n');
    writeFileSync(join(dir, 'serial.txt'), '1000\n');
    openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-in', `${name}.csr`, '-out', `${name}.pem`, '-notext',
      '-startdate', opts.dates[0], '-enddate', opts.dates[1], '-extfile', `${name}.ext`]);
  }
  return { cert: read(dir, `${name}.pem`), key: read(dir, `${name}.key`) };
}

/** The certificates, made on first use. */
export function certs(): Certs {
  if (made !== null) return made;
  const dir = mkdtempSync(join(tmpdir(), 'evasync-tls-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  makeCa(dir, 'ca', 'evasync test CA');
  makeCa(dir, 'other', 'evasync untrusted CA');
  makeCa(dir, 'clientca', 'evasync client CA');
  const names = ['localhost', '127.0.0.1', '::1'];
  const good = leaf(dir, 'ca', 'leaf', names);
  key(dir, 'self');
  openssl(dir, ['req', '-x509', '-new', '-key', 'self.key', '-out', 'self.pem', '-days', '30', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  made = {
    dir,
    ca: read(dir, 'ca.pem'),
    leaf: good,
    rsa: leaf(dir, 'ca', 'rsa', names, { kind: 'rsa' }),
    expired: leaf(dir, 'ca', 'expired', names, { dates: ['20000101000000Z', '20010101000000Z'] }),
    wrongName: leaf(dir, 'ca', 'wrong', ['other.test']),
    selfSigned: { cert: read(dir, 'self.pem'), key: read(dir, 'self.key') },
    untrusted: leaf(dir, 'other', 'untrusted', names),
    sniA: leaf(dir, 'ca', 'snia', ['a.sni.test']),
    sniWild: leaf(dir, 'ca', 'sniwild', ['*.wild.test']),
    clientCa: read(dir, 'clientca.pem'),
    client: leaf(dir, 'clientca', 'client', ['client.test'], { client: true }),
    files: { ca: join(dir, 'ca.pem'), leafCert: join(dir, 'leaf.pem'), leafKey: join(dir, 'leaf.key') },
  };
  return made;
}
