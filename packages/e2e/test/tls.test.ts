import { rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeWs, connectWs, roundTrip } from '@wsgate/conformance';
import { type Logger, pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Framework, frameworks, type LogRecord, type RunningApp, startApp } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { tempDir } from '../src/peer.js';
import { createPki, type TestPki } from '../src/pki.js';
import { type RunningProxy, startNginx } from '../src/proxies.js';
import { memoryStream } from '../src/records.js';

/** The reference apps' `start`, with the https option every example takes. */
type StartWithTls = (options: {
  logger: Logger;
  https: { key: string; cert: string };
}) => Promise<{ server: Server; close(): Promise<void> }>;

/** Opens a wss:// connection with only the root trusted; resolves with the TLS error code, if any. */
function tlsErrorOf(url: string, ca: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { ca, handshakeTimeout: 5_000 });
    ws.once('open', () => {
      ws.terminate();
      resolve(undefined);
    });
    ws.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describeWith(['openssl'], 'wss:// with a root → intermediate → leaf chain', ({ openssl }) => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createPki(openssl);
  });

  describe.each(frameworks())('$name served over https by Node', (framework: Framework) => {
    const records: LogRecord[] = [];
    const apps: Array<Awaited<ReturnType<StartWithTls>>> = [];
    const clientErrors: string[] = [];
    afterAll(async () => {
      for (const app of apps) await app.close();
    });

    const serve = async (cert: string): Promise<number> => {
      const { start } = (await import(pathToFileURL(framework.appFile).href)) as { start: StartWithTls };
      const app = await start({ logger: pino(memoryStream(records)), https: { key: pki.leafKey, cert } });
      app.server.on('tlsClientError', (error) => clientErrors.push(error.message));
      apps.push(app);
      return (app.server.address() as AddressInfo).port;
    };

    it('full chain (leaf + intermediate): /chat over wss:// negotiates chat.v2 and echoes', async () => {
      const port = await serve(pki.fullChain);
      const outcome = await connectWs(`wss://localhost:${port}/chat`, ['chat.v1', 'chat.v2'], {
        ca: pki.rootCert,
        origin: 'http://localhost:5173',
      });
      expect(outcome.kind, JSON.stringify(outcome)).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(outcome.protocol).toBe('chat.v2');
      expect(await roundTrip(outcome.ws, 'secure')).toBe('secure');
      await closeWs(outcome.ws);
      expect(records.find((r) => r.path === '/chat')).toMatchObject({
        outcome: 'accepted',
        protocol: 'chat.v2',
        framework: framework.name,
      });
    });

    it('leaf only (intermediate left out): the Node client fails with UNABLE_TO_VERIFY_LEAF_SIGNATURE', async () => {
      const port = await serve(pki.leafCert);
      const before = records.length;
      expect(await tlsErrorOf(`wss://localhost:${port}/chat`, pki.rootCert)).toBe(
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      );
      // The handshake never reached HTTP: no handshake record (a record of an earlier test's
      // connection ending may still arrive). Node's client checks the chain after the TLS
      // handshake and just closes: the server's tlsClientError carries no alert.
      expect(records.slice(before).filter((r) => typeof r.outcome === 'string')).toEqual([]);
      await expect.poll(() => clientErrors.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(clientErrors[0]).toMatch(/socket hang up|ECONNRESET/);
    });
  });

  describeWith(['nginx'], 'terminated at nginx', ({ nginx }) => {
    let certs: string;
    beforeAll(() => {
      certs = tempDir('certs');
      writeFileSync(join(certs, 'fullchain.pem'), pki.fullChain);
      writeFileSync(join(certs, 'leaf.key'), pki.leafKey, { mode: 0o600 });
    });
    afterAll(() => {
      if (certs) rmSync(certs, { recursive: true, force: true });
    });

    describe.each(frameworks())('$name', (framework) => {
      let app: RunningApp;
      let proxy: RunningProxy;
      beforeAll(async () => {
        app = await startApp(framework);
        proxy = await startNginx(nginx, [
          {
            config: 'nginx-tls.conf',
            values: {
              BACKEND: app.address,
              CERT: join(certs, 'fullchain.pem'),
              KEY: join(certs, 'leaf.key'),
            },
          },
        ]);
      });
      afterAll(async () => {
        await proxy?.stop();
        await app?.close();
      });

      it('wss:// to nginx, ws:// to Node: /chat negotiates chat.v2 and echoes', async () => {
        const since = app.records.length;
        const port = proxy.port('nginx-tls.conf');
        const outcome = await connectWs(`wss://localhost:${port}/chat`, ['chat.v1', 'chat.v2'], {
          ca: pki.rootCert,
          origin: 'http://localhost:5173',
        });
        expect(outcome.kind, `${JSON.stringify(outcome)}\n${proxy.output()}`).toBe('open');
        if (outcome.kind !== 'open') return;
        expect(outcome.protocol).toBe('chat.v2');
        expect(await roundTrip(outcome.ws, 'secure')).toBe('secure');
        await closeWs(outcome.ws);
        expect(await app.waitForRecord((r) => r.path === '/chat', since)).toMatchObject({
          outcome: 'accepted',
          protocol: 'chat.v2',
          framework: framework.name,
        });
      });
    });
  });
});
