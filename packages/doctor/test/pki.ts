/**
 * Certificates made at test time with the system's openssl (nothing secret is committed): a root CA,
 * an intermediate CA, and leaves signed by the intermediate — good, expired, not yet valid, for the
 * wrong name — plus a self-signed leaf. `openssl ca` sets exact validity dates (OpenSSL 3.0's
 * `x509 -req` cannot set them in the past or future).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM texts. */
export interface Pki {
  readonly dir: string;
  readonly rootCert: string;
  /** Path of root.pem, for `--ca`. */
  readonly rootFile: string;
  readonly intermediateCert: string;
  readonly leafKey: string;
  /** A second key, not the leaf's. */
  readonly otherKey: string;
  readonly leaf: string;
  readonly leafExpired: string;
  readonly leafNotYetValid: string;
  readonly leafWrongName: string;
  readonly selfSigned: string;
  /** The leaf followed by the intermediate. */
  readonly fullChain: string;
  remove(): void;
}

const CONFIG = `
[ca]
default_ca = intermediate_ca
[intermediate_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[any]
commonName = supplied
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[wrong_name]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
[self_signed]
basicConstraints = critical, CA:false
subjectAltName = DNS:localhost, IP:127.0.0.1
`;

/** Whether an openssl binary runs here. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function stamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replaceAll('-', '').replaceAll(':', '').replace('T', '')}Z`;
}

/** Makes the whole set in a temp directory. */
export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-doctor-pki-'));
  const run = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(join(dir, 'openssl.cnf'), CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  for (const name of ['root', 'intermediate', 'leaf', 'other']) {
    run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  }
  run(
    'req',
    '-x509',
    '-new',
    '-key',
    'root.key',
    '-subj',
    '/CN=wsgate doctor test root CA',
    '-days',
    '2',
    '-config',
    'openssl.cnf',
    '-extensions',
    'root',
    '-out',
    'root.pem',
  );
  const sign = (
    csrSubject: string,
    key: string,
    out: string,
    extensions: string,
    ca: string,
    start: Date,
    end: Date,
  ) => {
    run('req', '-new', '-key', key, '-subj', csrSubject, '-config', 'openssl.cnf', '-out', `${out}.csr`);
    run(
      'ca',
      '-batch',
      '-config',
      'openssl.cnf',
      '-cert',
      `${ca}.pem`,
      '-keyfile',
      `${ca}.key`,
      '-in',
      `${out}.csr`,
      '-out',
      `${out}.pem`,
      '-extensions',
      extensions,
      '-startdate',
      stamp(start),
      '-enddate',
      stamp(end),
      '-notext',
    );
  };
  const day = 86_400_000;
  const now = Date.now();
  sign(
    '/CN=wsgate doctor test intermediate CA',
    'intermediate.key',
    'intermediate',
    'intermediate',
    'root',
    new Date(now - day),
    new Date(now + 2 * day),
  );
  sign('/CN=localhost', 'leaf.key', 'leaf', 'leaf', 'intermediate', new Date(now - day), new Date(now + day));
  sign(
    '/CN=localhost',
    'leaf.key',
    'expired',
    'leaf',
    'intermediate',
    new Date(now - 40 * day),
    new Date(now - 10 * day),
  );
  sign(
    '/CN=localhost',
    'leaf.key',
    'future',
    'leaf',
    'intermediate',
    new Date(now + 10 * day),
    new Date(now + 40 * day),
  );
  sign(
    '/CN=other.example',
    'leaf.key',
    'wrong-name',
    'wrong_name',
    'intermediate',
    new Date(now - day),
    new Date(now + day),
  );
  run(
    'req',
    '-x509',
    '-new',
    '-key',
    'leaf.key',
    '-subj',
    '/CN=localhost',
    '-days',
    '1',
    '-config',
    'openssl.cnf',
    '-extensions',
    'self_signed',
    '-out',
    'self-signed.pem',
  );
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  const leaf = read('leaf.pem');
  const intermediateCert = read('intermediate.pem');
  return {
    dir,
    rootCert: read('root.pem'),
    rootFile: join(dir, 'root.pem'),
    intermediateCert,
    leafKey: read('leaf.key'),
    otherKey: read('other.key'),
    leaf,
    leafExpired: read('expired.pem'),
    leafNotYetValid: read('future.pem'),
    leafWrongName: read('wrong-name.pem'),
    selfSigned: read('self-signed.pem'),
    fullChain: leaf + intermediateCert,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
