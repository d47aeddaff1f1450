/**
 * The server-side TLS checks: the certificate self-check as a table over chains made at test time
 * (openssl CLI; `now` moves the clock for the expiry rows), the tlsClientError mapping as a table
 * over the errors Node really emits, and watchTlsServer on a real https server with real clients.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkCertificate,
  createGate,
  explainTlsClientError,
  splitPem,
  TLS_CERTIFICATE_MESSAGE,
  TLS_CLIENT_ERROR_MESSAGE,
  watchTlsServer,
} from '../src/index.js';
import { attachUpgradeDispatch } from '../src/node/index.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const EXTENSIONS = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
[leaf]
basicConstraints = critical, CA:false
subjectAltName = DNS:localhost, IP:127.0.0.1
[no_san]
basicConstraints = critical, CA:false
`;

interface Pem {
  root: string;
  intermediate: string;
  leaf: string;
  leafNoSan: string;
  selfSigned: string;
  key: string;
  otherKey: string;
  dir: string;
}

/** root → intermediate → leaf, a leaf without SAN, a self-signed certificate, two keys. */
function makePem(): Pem {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-core-tls-'));
  const run = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(join(dir, 'ext.cnf'), EXTENSIONS);
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
    '/CN=core test root',
    '-days',
    '400',
    '-config',
    'ext.cnf',
    '-extensions',
    'ca',
    '-out',
    'root.pem',
  );
  const sign = (name: string, key: string, subject: string, ca: string, ext: string) => {
    run('req', '-new', '-key', key, '-subj', subject, '-config', 'ext.cnf', '-out', `${name}.csr`);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '365',
      '-extfile',
      'ext.cnf',
      '-extensions',
      ext,
      '-out',
      `${name}.pem`,
    );
  };
  sign('intermediate', 'intermediate.key', '/CN=core test intermediate', 'root', 'ca');
  sign('leaf', 'leaf.key', '/CN=localhost', 'intermediate', 'leaf');
  sign('leaf-no-san', 'leaf.key', '/CN=localhost', 'intermediate', 'no_san');
  run(
    'req',
    '-x509',
    '-new',
    '-key',
    'leaf.key',
    '-subj',
    '/CN=localhost',
    '-days',
    '365',
    '-config',
    'ext.cnf',
    '-extensions',
    'leaf',
    '-out',
    'self.pem',
  );
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    root: read('root.pem'),
    intermediate: read('intermediate.pem'),
    leaf: read('leaf.pem'),
    leafNoSan: read('leaf-no-san.pem'),
    selfSigned: read('self.pem'),
    key: read('leaf.key'),
    otherKey: read('other.key'),
    dir,
  };
}

describe('splitPem', () => {
  it('finds the blocks in order and ignores text around them; bounded at 10', () => {
    const block = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----';
    expect(splitPem(`subject=x\n${block}\nnoise\n${block}`)).toHaveLength(2);
    expect(splitPem(block.repeat(50))).toHaveLength(10);
    expect(splitPem('-----BEGIN CERTIFICATE-----'.repeat(10_000))).toEqual([]);
  });
});

describe.skipIf(!hasOpenssl())('checkCertificate', () => {
  let pem: Pem;
  beforeAll(() => {
    pem = makePem();
  });
  afterAll(() => rmSync(pem.dir, { recursive: true, force: true }));

  const DAY = 86_400_000;
  it.each([
    ['leaf + intermediate, matching key', () => ({ cert: pem.leaf + pem.intermediate, key: pem.key }), 0, []],
    ['the chain as an array of PEMs', () => ({ cert: [pem.leaf, pem.intermediate], key: [pem.key] }), 0, []],
    [
      'a key of another certificate',
      () => ({ cert: pem.leaf + pem.intermediate, key: pem.otherKey }),
      0,
      ['TLS_KEY_MISMATCH'],
    ],
    [
      'the intermediate before the leaf',
      () => ({ cert: pem.intermediate + pem.leaf }),
      0,
      ['TLS_CHAIN_ORDER'],
    ],
    ['the leaf alone (intermediate missing)', () => ({ cert: pem.leaf }), 0, ['TLS_INTERMEDIATE_MISSING']],
    [
      'a self-signed certificate',
      () => ({ cert: pem.selfSigned, key: pem.key }),
      0,
      ['TLS_CERTIFICATE_SELF_SIGNED'],
    ],
    ['no subjectAltName', () => ({ cert: pem.leafNoSan + pem.intermediate }), 0, ['TLS_SAN_MISSING']],
    [
      '20 days before the leaf expires',
      () => ({ cert: pem.leaf + pem.intermediate }),
      345 * DAY,
      ['TLS_CERTIFICATE_EXPIRES_SOON', 'TLS_CERTIFICATE_EXPIRES_SOON'],
    ],
    [
      'after the leaf expired',
      () => ({ cert: pem.leaf + pem.intermediate }),
      370 * DAY,
      ['TLS_CERTIFICATE_EXPIRED', 'TLS_CERTIFICATE_EXPIRED'],
    ],
    [
      'before the leaf is valid',
      () => ({ cert: pem.leaf + pem.intermediate }),
      -2 * DAY,
      ['TLS_CERTIFICATE_NOT_YET_VALID', 'TLS_CERTIFICATE_NOT_YET_VALID'],
    ],
    ['not a certificate', () => ({ cert: 'hello' }), 0, ['TLS_CERTIFICATE_UNREADABLE']],
    [
      'a broken PEM block',
      () => ({ cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }),
      0,
      ['TLS_CERTIFICATE_UNREADABLE'],
    ],
  ])('%s', (_name, material, shift, codes) => {
    const { findings } = checkCertificate(material(), new Date(Date.now() + shift));
    expect(findings.map((f) => f.code)).toEqual(codes);
    for (const finding of findings) expect(finding.hint.length).toBeGreaterThan(10);
  });

  it('reports the chain leaf first with names and validity', () => {
    const { chain } = checkCertificate({ cert: pem.leaf + pem.intermediate });
    expect(chain).toMatchObject([
      {
        subject: 'CN=localhost',
        issuer: 'CN=core test intermediate',
        subjectAltName: 'DNS:localhost, IP Address:127.0.0.1',
        ca: false,
      },
      { subject: 'CN=core test intermediate', issuer: 'CN=core test root', ca: true },
    ]);
  });
});

describe('explainTlsClientError', () => {
  // The errors as Node 20 emits them on 'tlsClientError' (captured from real handshakes: openssl
  // s_client -verify_return_error as the client for the alerts).
  const openssl = (reason: string, alert?: number) =>
    `80DC64F5037F0000:error:0A000418:SSL routines:ssl3_read_bytes:${reason}:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:${alert ? `SSL alert number ${alert}` : ''}`;
  const error = (code: string, message: string) => Object.assign(new Error(message), { code });
  it.each([
    [
      error('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', openssl('tlsv1 alert unknown ca', 48)),
      'TLS_CLIENT_UNKNOWN_CA',
      true,
    ],
    [
      error('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', openssl('sslv3 alert bad certificate', 42)),
      'TLS_CLIENT_BAD_CERTIFICATE',
      true,
    ],
    [
      error('ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', openssl('sslv3 alert certificate expired', 45)),
      'TLS_CLIENT_CERTIFICATE_EXPIRED',
      true,
    ],
    [
      error('ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', openssl('sslv3 alert certificate unknown', 46)),
      'TLS_CLIENT_CERTIFICATE_UNKNOWN',
      true,
    ],
    [error('ERR_SSL_NO_SHARED_CIPHER', openssl('no shared cipher')), 'TLS_NO_SHARED_CIPHER', true],
    [error('ERR_SSL_UNSUPPORTED_PROTOCOL', openssl('unsupported protocol')), 'TLS_NO_SHARED_VERSION', false],
    [
      error('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', openssl('tlsv1 alert protocol version', 70)),
      'TLS_NO_SHARED_VERSION',
      true,
    ],
    [
      error('ERR_SSL_NO_APPLICATION_PROTOCOL', openssl('no application protocol')),
      'TLS_NO_SHARED_ALPN',
      true,
    ],
    [error('ERR_SSL_HTTP_REQUEST', openssl('http request')), 'TLS_PLAIN_HTTP', false],
    [error('ERR_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timeout'), 'TLS_HANDSHAKE_TIMEOUT', false],
    [error('ECONNRESET', 'socket hang up'), 'TLS_CLIENT_RESET', false],
    [error('ERR_SOMETHING_NEW', 'something new'), 'TLS_CLIENT_ERROR', false],
    ['not even an Error', 'TLS_CLIENT_ERROR', false],
    [undefined, 'TLS_CLIENT_ERROR', false],
  ])('%s → %s', (err, code, serverFault) => {
    const cause = explainTlsClientError(err);
    expect(cause).toMatchObject({ code, serverFault });
    expect(cause.hint).not.toBe('');
  });
});

describe.skipIf(!hasOpenssl())('watchTlsServer on a real https server', () => {
  let pem: Pem;
  let server: Server;
  let port = 0;
  const lines: string[] = [];
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  beforeAll(async () => {
    pem = makePem();
    // The leaf alone: the self-check must say the intermediate is missing.
    server = createServer({ key: pem.key, cert: pem.leaf }, (_req, res) => res.end('ok'));
    watchTlsServer(server, {
      logger: pino({ base: null }, { write: (line: string) => lines.push(line) }),
      framework: 'express',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(pem.dir, { recursive: true, force: true });
  });

  const until = async (predicate: () => boolean) => {
    for (let i = 0; i < 100 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  };

  it('logs the startup self-check once, at error level, with the chain', () => {
    const found = records().filter((r) => r.msg === TLS_CERTIFICATE_MESSAGE);
    expect(found).toMatchObject([
      { level: 50, event: 'tls-certificate', code: 'TLS_INTERMEDIATE_MISSING', framework: 'express' },
    ]);
    watchTlsServer(server, { logger: pino({ base: null }, { write: (line: string) => lines.push(line) }) });
  });

  it('plain HTTP on the TLS port: TLS_PLAIN_HTTP at info with the peer address', async () => {
    const socket = connect({ host: '127.0.0.1', port }, () =>
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    );
    socket.on('error', () => {});
    await until(() => records().some((r) => r.code === 'TLS_PLAIN_HTTP'));
    socket.destroy();
    expect(records().find((r) => r.code === 'TLS_PLAIN_HTTP')).toMatchObject({
      level: 30,
      msg: TLS_CLIENT_ERROR_MESSAGE,
      event: 'tls-client-error',
      framework: 'express',
      remoteAddress: '127.0.0.1',
    });
  });

  it('a client that does not trust the chain sends alert 48: TLS_CLIENT_UNKNOWN_CA at error', async () => {
    const client = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-verify_return_error'],
      {
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    await until(() => records().some((r) => r.code === 'TLS_CLIENT_UNKNOWN_CA'));
    client.kill();
    expect(records().find((r) => r.code === 'TLS_CLIENT_UNKNOWN_CA')).toMatchObject({
      level: 50,
      servername: 'localhost',
      hint: expect.stringContaining('fullchain.pem'),
    });
  });

  it('never throws: a logger that throws, a server without certificate options, no logger', () => {
    const throwing = {
      info: () => {
        throw new Error('boom');
      },
      error: () => {
        throw new Error('boom');
      },
    };
    expect(() =>
      watchTlsServer(createServer({ key: pem.key, cert: `${pem.selfSigned}${pem.leafNoSan}` }), {
        logger: throwing,
      }),
    ).not.toThrow();
    expect(() => watchTlsServer(createServer(), { logger: throwing })).not.toThrow();
    expect(() => watchTlsServer(createServer())).not.toThrow();
    expect(() => watchTlsServer(null as unknown as Server, { logger: throwing })).not.toThrow();
  });
});

describe.skipIf(!hasOpenssl())('attachUpgradeDispatch on an https server', () => {
  it("runs the self-check with the gate's logger and framework, once however often it is called", () => {
    const pem = makePem();
    try {
      const lines: string[] = [];
      const logger = pino({ base: null }, { write: (line: string) => lines.push(line) });
      const server = createServer({ key: pem.key, cert: pem.leaf });
      const gate = createGate({ logger }, { framework: 'koa' });
      const listeners = server.listenerCount('tlsClientError');
      attachUpgradeDispatch(server, { gate });
      attachUpgradeDispatch(server, { gate });
      const found = lines.map((line) => JSON.parse(line)).filter((r) => r.event === 'tls-certificate');
      expect(found).toMatchObject([{ code: 'TLS_INTERMEDIATE_MISSING', framework: 'koa' }]);
      expect(server.listenerCount('tlsClientError')).toBe(listeners + 1);
    } finally {
      rmSync(pem.dir, { recursive: true, force: true });
    }
  });
});
