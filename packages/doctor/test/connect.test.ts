/**
 * The url, dns and tcp stages, and the scheme/port mismatches the later stages find: the CLI run as
 * a user runs it, against loopback servers only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctor, evidenceOf } from './cli.js';
import { createPki, hasOpenssl, type Pki } from './pki.js';
import { closeAfterAll, echo, listen, listenWs, rawServer } from './servers.js';

const track = closeAfterAll();

describe('url stage', () => {
  it('not a URL: url-invalid, exit 3', async () => {
    const { code, report } = await doctor('localhost:8080/chat');
    expect(report).toMatchObject({ ok: false, stage: 'url', cause: 'url-invalid', exitCode: 3 });
    expect(code).toBe(3);
  });

  it('https:// instead of wss://: url-scheme, with the wss:// URL to use', async () => {
    const { code, report } = await doctor('https://example.invalid/chat');
    expect(report).toMatchObject({
      stage: 'url',
      cause: 'url-scheme',
      fix: 'Use wss://example.invalid/chat.',
    });
    expect(code).toBe(3);
    expect(report.stages.slice(1).every((s) => s.status === 'not reached')).toBe(true);
  });
});

// Containers without IPv6 have no ::1 to listen on.
const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) =>
  list?.some((i) => i.address === '::1'),
);

describe.skipIf(!hasIpv6Loopback)('IPv6 loopback', () => {
  it('ws://[::1]:port/: every stage passes, the literal needs no lookup', async () => {
    const port = await track(listenWs(createHttpServer(), {}, echo, '::1'));
    const { code, report } = await doctor(`ws://[::1]:${port}/`);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(code).toBe(0);
    expect(evidenceOf(report, 'dns')).toMatchObject({ addresses: ['::1'], literal: true });
  });
});

describe('dns stage', () => {
  it('a name under .invalid (RFC 6761: always NXDOMAIN): dns-not-found, exit 4', async () => {
    // --timeout bounds a resolver that would hang instead of answering NXDOMAIN.
    const { code, report } = await doctor('ws://wsgate-doctor-test.invalid/', '--timeout', '5');
    expect(['dns-not-found', 'dns-timeout']).toContain(report.cause);
    expect(report.stage).toBe('dns');
    expect(code).toBe(4);
  });
});

describe('dns stage: a name getaddrinfo refuses', () => {
  it('over 253 characters (RFC 1035): dns-failed with the resolver code', async () => {
    const name = `${`${'a'.repeat(60)}.`.repeat(5)}invalid`;
    const { code, report } = await doctor(`ws://${name}/`, '--timeout', '5');
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'dns', cause: 'dns-failed' });
    expect(code).toBe(4);
  });
});

describe('tcp stage', () => {
  it('a closed port: tcp-refused, exit 5', async () => {
    const server = await rawServer(() => {});
    const { port } = server;
    await server.close();
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ stage: 'tcp', cause: 'tcp-refused', exitCode: 5 });
    expect(code).toBe(5);
  });

  it('accepted and reset at once: tcp-reset', async () => {
    const port = await track(rawServer((socket) => socket.resetAndDestroy()));
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'tcp', cause: 'tcp-reset' });
    expect(code).toBe(5);
  });

  it('accepted and closed at once: tcp-closed', async () => {
    const port = await track(rawServer((socket) => socket.end()));
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'tcp', cause: 'tcp-closed' });
    expect(code).toBe(5);
  });

  describe('a listener whose accept queue is full (a firewall that drops SYNs looks the same)', () => {
    // A child process listens with backlog 1 and blocks its event loop, so the kernel queue fills and
    // further SYNs go unanswered: the connect never completes, on loopback.
    let child: ChildProcess;
    let port = 0;
    const fillers: Socket[] = [];
    beforeAll(async () => {
      child = spawn(
        process.execPath,
        [
          '-e',
          `const s = require('node:net').createServer();
           s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
             process.stdout.write(String(s.address().port) + '\\n');
             setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000), 50);
           });`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      port = await new Promise<number>((resolve) =>
        child.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (let i = 0; i < 6; i++) {
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        fillers.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    afterAll(() => {
      for (const socket of fillers) socket.destroy();
      child?.kill();
    });

    it('no answer within --timeout: tcp-timeout', async () => {
      const { code, report } = await doctor(`ws://127.0.0.1:${port}/`, '--timeout', '1');
      expect(report, JSON.stringify(report)).toMatchObject({ stage: 'tcp', cause: 'tcp-timeout' });
      expect(code).toBe(5);
    });
  });
});

describe.skipIf(!hasOpenssl())('scheme and port disagree (found from what the server answers)', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = createPki();
  });
  afterAll(() => pki?.remove());

  it('ws:// to a TLS port: url-ws-to-tls-port, exit 3', async () => {
    const port = await track(listen(createTlsServer({ key: pki.leafKey, cert: pki.fullChain })));
    const { code, report } = await doctor(`ws://localhost:${port}/`);
    expect(report, JSON.stringify(report)).toMatchObject({
      stage: 'url',
      cause: 'url-ws-to-tls-port',
      exitCode: 3,
    });
    expect(code).toBe(3);
  });

  it('wss:// to a plain HTTP port: url-wss-to-plain-port, exit 3', async () => {
    const port = await track(listen(createHttpServer((_req, res) => res.end('plain'))));
    const { code, report } = await doctor(`wss://localhost:${port}/`);
    expect(report, JSON.stringify(report)).toMatchObject({
      stage: 'url',
      cause: 'url-wss-to-plain-port',
      exitCode: 3,
    });
    expect(code).toBe(3);
    expect(report.stages.find((s) => s.name === 'tls')?.status).toBe('failed');
  });
});
