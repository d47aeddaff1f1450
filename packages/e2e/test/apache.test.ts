/**
 * Apache httpd 2.4 in front of every framework's reference app: ProxyPass with upgrade=websocket
 * (a) and the classic mod_rewrite recipe (b) carry handshakes and messages; a plain ProxyPass (c)
 * gets wsgate's 426 naming Apache, with both fixes in the body and the log.
 */
import { closeWs, connectWs, roundTrip } from '@wsgate/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameworks, type RunningApp, startApp } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { type RunningProxy, startApache } from '../src/proxies.js';

const working = [
  { config: 'apache-upgrade.conf', what: '(a) ProxyPass … upgrade=websocket' },
  { config: 'apache-rewrite.conf', what: '(b) RewriteCond/RewriteRule [P,L]' },
] as const;

describeWith(['apache'], 'Apache httpd in front of the reference apps', ({ apache }) => {
  describe.each(frameworks())('$name', (framework) => {
    let app: RunningApp;
    let proxy: RunningProxy;

    beforeAll(async () => {
      app = await startApp(framework);
      const values = { BACKEND: app.address };
      proxy = await startApache(apache, [
        ...working.map(({ config }) => ({ config, values })),
        { config: 'apache-plain.conf', values },
        { config: 'apache-short-timeout.conf', values },
      ]);
    });
    afterAll(async () => {
      await proxy?.stop();
      await app?.close();
    });

    const url = (config: string, path: string) => `ws://127.0.0.1:${proxy.port(config)}${path}`;

    it.each(working)('$what: /echo handshake and messages go through', async ({ config }) => {
      const since = app.records.length;
      const outcome = await connectWs(url(config, '/echo'));
      expect(outcome.kind, `${JSON.stringify(outcome)}\n${proxy.output()}`).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(await roundTrip(outcome.ws, 'one')).toBe('one');
      expect(await roundTrip(outcome.ws, 'two')).toBe('two');
      await closeWs(outcome.ws);
      expect(await app.waitForRecord((r) => r.path === '/echo', since)).toMatchObject({
        outcome: 'accepted',
        status: 101,
        framework: framework.name,
      });
    });

    it.each(working)('$what: /chat negotiates chat.v2 from the allowed origin', async ({ config }) => {
      const since = app.records.length;
      const outcome = await connectWs(url(config, '/chat'), ['chat.v1', 'chat.v2'], {
        origin: 'http://localhost:5173',
      });
      expect(outcome.kind, `${JSON.stringify(outcome)}\n${proxy.output()}`).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(outcome.protocol).toBe('chat.v2');
      expect(await roundTrip(outcome.ws, 'hello')).toBe('hello');
      await closeWs(outcome.ws);
      expect(await app.waitForRecord((r) => r.path === '/chat', since)).toMatchObject({
        outcome: 'accepted',
        protocol: 'chat.v2',
        framework: framework.name,
      });
    });

    it.each(working)('$what: plain HTTP still reaches the app (/health)', async ({ config }) => {
      const response = await fetch(`http://127.0.0.1:${proxy.port(config)}/health`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok');
    });

    it('a quiet connection past Timeout (ProxyTimeout unset) is closed by Apache: the client sees 1006', async () => {
      const outcome = await connectWs(url('apache-short-timeout.conf', '/echo'));
      expect(outcome.kind, `${JSON.stringify(outcome)}\n${proxy.output()}`).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(await roundTrip(outcome.ws, 'still here')).toBe('still here');
      // No frame either way from now on. The wait is bounded; its length is not asserted.
      const code = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('Apache did not close the idle connection')), 10_000);
        outcome.ws.once('close', (closeCode) => {
          clearTimeout(timer);
          resolve(closeCode);
        });
      });
      expect(code).toBe(1006);
    });

    it('(c) plain ProxyPass → 426 UPGRADE_HEADERS_STRIPPED naming Apache with both fixes', async () => {
      const since = app.records.length;
      const outcome = await connectWs(url('apache-plain.conf', '/echo'));
      expect(outcome.kind, JSON.stringify(outcome)).toBe('rejected');
      if (outcome.kind !== 'rejected') return;
      expect(outcome.status).toBe(426);
      const body = JSON.parse(outcome.body) as { code: string; hint: string };
      expect(body.code).toBe('UPGRADE_HEADERS_STRIPPED');
      expect(body.hint).toContain('Apache');
      expect(body.hint).toContain('upgrade=websocket');
      expect(body.hint).toContain('RewriteCond %{HTTP:Upgrade} websocket [NC]');
      expect(body.hint).toContain('[P,L]');

      const record = await app.waitForRecord((r) => r.path === '/echo', since);
      expect(record).toMatchObject({
        outcome: 'rejected',
        status: 426,
        code: 'UPGRADE_HEADERS_STRIPPED',
        proxy: 'apache',
        framework: framework.name,
        arrival: 'request',
        hint: body.hint,
        diagnosis: { proxy: { id: 'apache', confidence: 'high' } },
      });
    });
  });
});
