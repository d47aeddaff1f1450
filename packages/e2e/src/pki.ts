/**
 * A throwaway three-level PKI made at test time by configs/make-chain.sh with the system's openssl
 * (no key material is committed): a root CA, an intermediate CA, and a leaf for `localhost` /
 * `127.0.0.1` signed by the intermediate — the shape of every public certificate, where the server
 * must send the intermediate and the client trusts only the root.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir } from './peer.js';

/** PEM texts of the three certificates and the leaf's key. */
export interface TestPki {
  /** What clients trust (`ca` option). */
  readonly rootCert: string;
  readonly intermediateCert: string;
  readonly leafCert: string;
  readonly leafKey: string;
  /** The leaf followed by the intermediate: what a server must send. */
  readonly fullChain: string;
}

/** Creates the root, intermediate and leaf (throws with openssl's message when it fails). */
export function createPki(openssl = 'openssl'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-e2e-pki-'));
  try {
    execFileSync('bash', [join(configDir, 'make-chain.sh'), dir], {
      env: { ...process.env, OPENSSL: openssl },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return {
      rootCert: read('root.pem'),
      intermediateCert: read('intermediate.pem'),
      leafCert: read('leaf.pem'),
      leafKey: read('leaf.key'),
      fullChain: read('fullchain.pem'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
