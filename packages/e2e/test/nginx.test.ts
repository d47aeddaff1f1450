/**
 * nginx 1.22 in front of every framework's reference app: the WebSocket-ready config (a) carries
 * handshakes and messages; each broken variant (b)–(e) gets wsgate's 426 with the code core
 * decides for it, nginx named, and exactly the missing config lines in the body and the log.
 */
import { closeWs, connectWs, roundTrip } from '@wsgate/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameworks, type RunningApp, startApp } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { type RunningProxy, startNginx } from '../src/proxies.js';

const LINES = {
  version: 'proxy_http_version 1.1;',
  upgrade: 'proxy_set_header Upgrade $http_upgrade;',
  connection: 'proxy_set_header Connection "upgrade";',
};

const broken = [
  {
    config: 'nginx-default.conf',
    what: '(b) proxy_pass with no WebSocket lines',
    code: 'HTTP_VERSION_TOO_OLD',
    missing: [LINES.version, LINES.upgrade, LINES.connection],
  },
  {
    config: 'nginx-http11-only.conf',
    what: '(c) only proxy_http_version 1.1',
    code: 'UPGRADE_HEADERS_STRIPPED',
    missing: [LINES.upgrade, LINES.connection],
  },
  {
    config: 'nginx-no-connection.conf',
    what: '(d) Upgrade set, Connection "upgrade" missing',
    code: 'CONNECTION_UPGRADE_MISSING',
    missing: [LINES.connection],
  },
  {
    config: 'nginx-no-upgrade.conf',
    what: '(e) Connection "upgrade" set, Upgrade missing',
    code: 'UPGRADE_HEADER_MISSING',
    missing: [LINES.upgrade],
  },
] as const;

describeWith(['nginx'], 'nginx in front of the reference apps', ({ nginx }) => {
  describe.each(frameworks())('$name', (framework) => {
    let app: RunningApp;
    let proxy: RunningProxy;

    beforeAll(async () => {
      app = await startApp(framework);
      const values = { BACKEND: app.address };
      proxy = await startNginx(nginx, [
        { config: 'nginx-websocket.conf', values },
        { config: 'nginx-short-timeout.conf', values },
        ...broken.map(({ config }) => ({ config, values })),
      ]);
    });
    afterAll(async () => {
      await proxy?.stop();
      await app?.close();
    });

    const url = (config: string, path: string) => `ws://127.0.0.1:${proxy.port(config)}${path}`;

    it('(a) WebSocket location: /echo handshake and messages go through', async () => {
      const since = app.records.length;
      const outcome = await connectWs(url('nginx-websocket.conf', '/echo'));
      expect(outcome.kind, JSON.stringify(outcome)).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(await roundTrip(outcome.ws, 'one')).toBe('one');
      expect(await roundTrip(outcome.ws, Buffer.from('two'))).toBe('two');
      await closeWs(outcome.ws);
      expect(await app.waitForRecord((r) => r.path === '/echo', since)).toMatchObject({
        outcome: 'accepted',
        status: 101,
        framework: framework.name,
      });
    });

    it('(a) WebSocket location: /chat negotiates chat.v2 from the allowed origin', async () => {
      const since = app.records.length;
      const outcome = await connectWs(url('nginx-websocket.conf', '/chat'), ['chat.v1', 'chat.v2'], {
        origin: 'http://localhost:5173',
      });
      expect(outcome.kind, JSON.stringify(outcome)).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(outcome.protocol).toBe('chat.v2');
      expect(await roundTrip(outcome.ws, 'hello')).toBe('hello');
      await closeWs(outcome.ws);
      expect(await app.waitForRecord((r) => r.path === '/chat', since)).toMatchObject({
        outcome: 'accepted',
        protocol: 'chat.v2',
        origin: 'http://localhost:5173',
        framework: framework.name,
      });
    });

    it('(a) a plain GET through the WebSocket location is NOT_A_WEBSOCKET_REQUEST, no proxy blamed', async () => {
      // nginx sends `Connection: upgrade` on this request too; no Upgrade, no Sec-WebSocket-*.
      const since = app.records.length;
      const response = await fetch(`http://127.0.0.1:${proxy.port('nginx-websocket.conf')}/echo`, {
        headers: { 'User-Agent': 'curl/8.5.0' },
      });
      expect(response.status).toBe(426);
      expect(await response.json()).toMatchObject({ code: 'NOT_A_WEBSOCKET_REQUEST' });
      const record = await app.waitForRecord((r) => r.path === '/echo', since);
      expect(record).toMatchObject({
        code: 'NOT_A_WEBSOCKET_REQUEST',
        client: 'curl',
        framework: framework.name,
      });
      expect(record.proxy).toBeUndefined();
    });

    it('a quiet connection past proxy_read_timeout is closed by nginx: the client sees 1006', async () => {
      const outcome = await connectWs(url('nginx-short-timeout.conf', '/echo'));
      expect(outcome.kind, JSON.stringify(outcome)).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(await roundTrip(outcome.ws, 'still here')).toBe('still here');
      // No frame either way from now on; nginx's 1 s read timeout ends the tunnel. (The wait is
      // bounded; how long it takes is not asserted.)
      const code = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('nginx did not close the idle connection')), 10_000);
        outcome.ws.once('close', (closeCode) => {
          clearTimeout(timer);
          resolve(closeCode);
        });
      });
      expect(code).toBe(1006);
    });

    it.each(broken)('$what → 426 $code naming nginx and the missing lines', async (variant) => {
      const since = app.records.length;
      const outcome = await connectWs(url(variant.config, '/echo'), [], { origin: 'http://localhost:5173' });
      expect(outcome.kind, JSON.stringify(outcome)).toBe('rejected');
      if (outcome.kind !== 'rejected') return;
      expect(outcome.status).toBe(426);
      const body = JSON.parse(outcome.body) as { code: string; hint: string };
      expect(body.code).toBe(variant.code);
      const present = Object.values(LINES).filter(
        (line) => !(variant.missing as readonly string[]).includes(line),
      );
      for (const line of variant.missing) expect(body.hint).toContain(line);
      for (const line of present) expect(body.hint).not.toContain(line);

      const record = await app.waitForRecord((r) => r.path === '/echo', since);
      expect(record).toMatchObject({
        outcome: 'rejected',
        status: 426,
        code: variant.code,
        proxy: 'nginx',
        framework: framework.name,
        arrival: 'request',
        hint: body.hint,
        diagnosis: { proxy: { id: 'nginx', fix: variant.missing } },
      });
    });
  });
});
