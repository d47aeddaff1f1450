/**
 * The tls stage against Node TLS servers presenting each broken chain, made at test time: missing
 * intermediate, unknown CA (with and without --ca), self-signed, expired, not yet valid, wrong name;
 * and servers that share no version, no cipher, or only h2 in ALPN; one that never answers.
 */
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctor, evidenceOf } from './cli.js';
import { createPki, hasOpenssl, type Pki } from './pki.js';
import { echo, listen, listenWs, type Running, rawServer } from './servers.js';

// Certificates come from the openssl CLI; without it there is nothing to serve.
describe.skipIf(!hasOpenssl())('tls stage', () => {
  let pki: Pki;
  const running: Running[] = [];
  beforeAll(() => {
    pki = createPki();
  });
  afterAll(async () => {
    for (const server of running) await server.close();
    pki?.remove();
  });

  /** A TLS server that completes handshakes and then says nothing. */
  const tlsServer = async (options: TlsOptions) => {
    const server = await listen(createTlsServer(options, (socket) => socket.on('error', () => {})));
    running.push(server);
    return server.port;
  };

  /** An https server with a ws echo endpoint. */
  const wssServer = async (cert: string) => {
    const server = await listenWs(createHttpsServer({ key: pki.leafKey, cert }), {}, echo);
    running.push(server);
    return server.port;
  };

  it('full chain and --ca root: every stage passes, the chain is shown leaf first', async () => {
    const port = await wssServer(pki.fullChain);
    const { code, report } = await doctor(`wss://localhost:${port}/`, '--ca', pki.rootFile);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(code).toBe(0);
    const chain = evidenceOf(report, 'tls').chain as Array<{ subject: string; issuer: string }>;
    expect(chain.map((c) => c.subject)).toEqual([
      'CN=localhost',
      'CN=wsgate doctor test intermediate CA',
      'CN=wsgate doctor test root CA',
    ]);
  });

  it.each([
    [
      'leaf only (intermediate missing)',
      'tls-incomplete-chain',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      true,
      () => pki.leaf,
    ],
    [
      'a CA the client does not trust (no --ca)',
      'tls-unknown-ca',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      false,
      () => pki.fullChain,
    ],
    [
      'the chain up to an untrusted root (no --ca)',
      'tls-unknown-ca',
      'SELF_SIGNED_CERT_IN_CHAIN',
      false,
      () => pki.fullChain + pki.rootCert,
    ],
    ['a self-signed leaf', 'tls-self-signed', 'DEPTH_ZERO_SELF_SIGNED_CERT', true, () => pki.selfSigned],
    [
      'an expired leaf',
      'tls-cert-expired',
      'CERT_HAS_EXPIRED',
      true,
      () => pki.leafExpired + pki.intermediateCert,
    ],
    [
      'a leaf not valid yet',
      'tls-cert-not-yet-valid',
      'CERT_NOT_YET_VALID',
      true,
      () => pki.leafNotYetValid + pki.intermediateCert,
    ],
    [
      'a leaf for another name',
      'tls-name-mismatch',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      true,
      () => pki.leafWrongName + pki.intermediateCert,
    ],
  ])('%s → %s (%s)', async (_name, cause, verifyError, withCa, cert) => {
    const port = await tlsServer({ key: pki.leafKey, cert: cert() });
    const args = [`wss://localhost:${port}/`, ...(withCa ? ['--ca', pki.rootFile] : [])];
    const { code, report } = await doctor(...args);
    expect(report).toMatchObject({ ok: false, stage: 'tls', cause, exitCode: 6 });
    expect(code).toBe(6);
    expect(evidenceOf(report, 'tls').verifyError).toBe(verifyError);
    expect(report.stages.find((s) => s.name === 'http')?.status).toBe('not reached');
  });

  it('--insecure goes on past a bad certificate and records what it ignored', async () => {
    const port = await wssServer(pki.selfSigned);
    const { code, report } = await doctor(`wss://localhost:${port}/`, '--insecure');
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(code).toBe(0);
    expect(evidenceOf(report, 'tls').ignored).toMatchObject({ cause: 'tls-self-signed' });
  });

  it.each([
    // The server speaks TLS 1.1 at most; Node's client 1.2 at least.
    [
      'no shared TLS version',
      { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
      'tls-no-shared-version',
    ],
    // An EC key with RSA-only suites and TLS 1.2 only: the server has nothing to offer.
    [
      'no shared cipher',
      { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' },
      'tls-handshake-failure',
    ],
    ['ALPN h2 only (http/1.1 refused)', { ALPNProtocols: ['h2'] }, 'tls-alpn-h2-only'],
  ] as const)('%s → %s', async (_name, options, cause) => {
    const port = await tlsServer({ key: pki.leafKey, cert: pki.fullChain, ...options } as TlsOptions);
    const { code, report } = await doctor(`wss://localhost:${port}/`, '--ca', pki.rootFile);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'tls', cause });
    expect(code).toBe(6);
  });

  it('a port that accepts and never answers the ClientHello: tls-timeout', async () => {
    const server = await rawServer(() => {});
    running.push(server);
    const { code, report } = await doctor(`wss://localhost:${server.port}/`, '--timeout', '1');
    expect(report).toMatchObject({ stage: 'tls', cause: 'tls-timeout' });
    expect(code).toBe(6);
  });

  it('a port whose server speaks first (an SSH banner): tls-failed, not TLS', async () => {
    const server = await rawServer((socket) => socket.write('SSH-2.0-OpenSSH_9.2\r\n'));
    running.push(server);
    const { code, report } = await doctor(`wss://localhost:${server.port}/`);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'tls', cause: 'tls-failed' });
    expect(report.detail).toContain('spoke first');
    expect(code).toBe(6);
  });

  it('a port that closes on the ClientHello: tls-closed', async () => {
    const server = await rawServer((socket) => socket.once('data', () => socket.end()));
    running.push(server);
    const { code, report } = await doctor(`wss://localhost:${server.port}/`);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'tls', cause: 'tls-closed' });
    expect(code).toBe(6);
  });
});
