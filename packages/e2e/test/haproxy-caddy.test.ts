/**
 * HAProxy 2.6 and Caddy 2.6 in front of every framework's reference app: the working config each
 * carries handshakes and messages; a handshake that lost Upgrade/Connection before reaching the
 * proxy (sent as raw bytes) shows the fingerprint wsgate reports for that proxy.
 */
import { buildRequest, closeWs, connectWs, roundTrip, sendRaw } from '@wsgate/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameworks, type RunningApp, startApp } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { type RunningProxy, startCaddy, startHaproxy } from '../src/proxies.js';

const CHROME_HEADERS = {
  Origin: 'http://localhost:5173',
  'User-Agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
};

const proxies = [
  {
    binary: 'haproxy',
    title: 'HAProxy',
    config: 'haproxy.cfg',
    start: startHaproxy,
    id: 'haproxy',
  },
  {
    binary: 'caddy',
    title: 'Caddy',
    config: 'Caddyfile',
    start: startCaddy,
    id: 'caddy',
  },
] as const;

for (const spec of proxies) {
  describeWith([spec.binary], `${spec.title} in front of the reference apps`, (binaries) => {
    describe.each(frameworks())('$name', (framework) => {
      let app: RunningApp;
      let proxy: RunningProxy;

      beforeAll(async () => {
        app = await startApp(framework);
        proxy = await spec.start(binaries[spec.binary], { BACKEND: app.address });
      });
      afterAll(async () => {
        await proxy?.stop();
        await app?.close();
      });

      const port = () => proxy.port(spec.config);

      it('/echo handshake and messages go through', async () => {
        const since = app.records.length;
        const outcome = await connectWs(`ws://127.0.0.1:${port()}/echo`);
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

      it('/chat negotiates chat.v2 from the allowed origin', async () => {
        const since = app.records.length;
        const outcome = await connectWs(`ws://127.0.0.1:${port()}/chat`, ['chat.v1', 'chat.v2'], {
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

      it.each([
        ['a ws-style client (no Accept-Encoding)', {}],
        ['a Chromium-shaped client', CHROME_HEADERS],
      ])(`a handshake stripped before ${spec.title} (%s) → 426 naming ${spec.id}`, async (_what, headers) => {
        const since = app.records.length;
        const host = `127.0.0.1:${port()}`;
        const response = await sendRaw(
          port(),
          buildRequest({ path: '/echo', host, headers: { Upgrade: null, Connection: null, ...headers } }),
        );
        expect(response.status).toBe(426);
        const body = JSON.parse(response.body) as { code: string; hint: string };
        expect(body.code).toBe('UPGRADE_HEADERS_STRIPPED');
        const record = await app.waitForRecord((r) => r.path === '/echo', since);
        expect(record).toMatchObject({
          outcome: 'rejected',
          status: 426,
          code: 'UPGRADE_HEADERS_STRIPPED',
          proxy: spec.id,
          framework: framework.name,
          hint: body.hint,
        });
      });
    });
  });
}
