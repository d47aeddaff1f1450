/**
 * A throwaway self-signed certificate for `127.0.0.1`, made with the system's `openssl` at test
 * time (no key material is committed). Returns `undefined` when openssl is not installed, so a
 * test can skip with that reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM key and certificate. */
export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
}

/** Creates a self-signed certificate for 127.0.0.1 and localhost, or `undefined` without openssl. */
export function selfSignedCertificate(): TestCertificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
