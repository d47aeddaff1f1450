/**
 * A real Chromium opening `new WebSocket()` from a page at http://localhost:5173 against every
 * framework's reference app: what page JavaScript sees (success with `ws.protocol`, or only an
 * error event and close 1006) and the server's log record that carries the real reason.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameworks, type RunningApp, startApp } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import {
  type BrowserWsResult,
  launchChromium,
  PAGE_ORIGIN,
  type RunningBrowser,
  startPageServer,
} from '../src/browser.js';
import { type RunningProxy, startNginx } from '../src/proxies.js';

const FAILED = { opened: false, error: true, closeCode: 1006, timedOut: false };

describeWith(['chromium'], 'Chromium against the reference apps', ({ chromium }) => {
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  let browser: RunningBrowser;

  beforeAll(async () => {
    pages = await startPageServer();
    browser = await launchChromium(chromium, pages.port);
  });
  afterAll(async () => {
    await browser?.close();
    await pages?.close();
  });

  /** Opens the page at `origin` and runs `tryWebSocket` there. */
  async function tryFrom(
    origin: string,
    url: string,
    protocols: string[] | null,
    message: string | null,
  ): Promise<{ result: BrowserWsResult; pageOrigin: string }> {
    const page: Page = await browser.context.newPage();
    try {
      await page.goto(`${origin}/`, { timeout: 10_000 });
      const pageOrigin = await page.evaluate(
        () => (globalThis as unknown as { location: { origin: string } }).location.origin,
      );
      const result = await page.evaluate(
        ([u, p, m]) =>
          (
            globalThis as unknown as {
              tryWebSocket(
                url: string,
                protocols: string[] | null,
                message: string | null,
              ): Promise<BrowserWsResult>;
            }
          ).tryWebSocket(u, p, m),
        [url, protocols, message] as const,
      );
      return { result, pageOrigin };
    } finally {
      await page.close();
    }
  }

  describe.each(frameworks())('$name', (framework) => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await startApp(framework);
    });
    afterAll(() => app?.close());

    it(`/chat from ${PAGE_ORIGIN}: open, ws.protocol is chat.v2, messages echo`, async () => {
      const since = app.records.length;
      const { result, pageOrigin } = await tryFrom(
        PAGE_ORIGIN,
        `ws://${app.address}/chat`,
        ['chat.v1', 'chat.v2'],
        'hi',
      );
      expect(pageOrigin).toBe(PAGE_ORIGIN);
      expect(result).toMatchObject({
        opened: true,
        protocol: 'chat.v2',
        echoed: 'hi',
        error: false,
        closeCode: 1000,
      });
      expect(await app.waitForRecord((r) => r.path === '/chat', since)).toMatchObject({
        outcome: 'accepted',
        status: 101,
        protocol: 'chat.v2',
        origin: PAGE_ORIGIN,
        framework: framework.name,
      });
    });

    it('/chat from another origin: the page sees error + 1006, the log says ORIGIN_NOT_ALLOWED', async () => {
      const since = app.records.length;
      const other = `http://127.0.0.1:${pages.port}`;
      const { result, pageOrigin } = await tryFrom(other, `ws://${app.address}/chat`, ['chat.v2'], null);
      expect(pageOrigin).toBe(other);
      expect(result).toMatchObject(FAILED);
      expect(await app.waitForRecord((r) => r.path === '/chat', since)).toMatchObject({
        outcome: 'rejected',
        status: 403,
        code: 'ORIGIN_NOT_ALLOWED',
        origin: other,
        framework: framework.name,
      });
    });

    it('/chat without a subprotocol: error + 1006, the log says SUBPROTOCOL_REQUIRED', async () => {
      const since = app.records.length;
      const { result } = await tryFrom(PAGE_ORIGIN, `ws://${app.address}/chat`, null, null);
      expect(result).toMatchObject(FAILED);
      expect(await app.waitForRecord((r) => r.path === '/chat', since)).toMatchObject({
        outcome: 'rejected',
        status: 400,
        code: 'SUBPROTOCOL_REQUIRED',
        origin: PAGE_ORIGIN,
        framework: framework.name,
      });
    });

    it('/private without credentials: error + 1006, the log says AUTHENTICATION_REQUIRED (401)', async () => {
      const since = app.records.length;
      const { result } = await tryFrom(PAGE_ORIGIN, `ws://${app.address}/private`, null, null);
      expect(result).toMatchObject(FAILED);
      expect(await app.waitForRecord((r) => r.path === '/private', since)).toMatchObject({
        outcome: 'rejected',
        status: 401,
        code: 'AUTHENTICATION_REQUIRED',
        framework: framework.name,
      });
    });

    describeWith(['nginx'], 'through nginx (a)', ({ nginx }) => {
      let proxy: RunningProxy;
      beforeAll(async () => {
        proxy = await startNginx(nginx, [
          { config: 'nginx-websocket.conf', values: { BACKEND: app.address } },
        ]);
      });
      afterAll(() => proxy?.stop());

      it(`/chat from ${PAGE_ORIGIN} through nginx: open, chat.v2, messages echo`, async () => {
        const since = app.records.length;
        const port = proxy.port('nginx-websocket.conf');
        const { result } = await tryFrom(
          PAGE_ORIGIN,
          `ws://127.0.0.1:${port}/chat`,
          ['chat.v1', 'chat.v2'],
          'via nginx',
        );
        expect(result).toMatchObject({
          opened: true,
          protocol: 'chat.v2',
          echoed: 'via nginx',
          closeCode: 1000,
        });
        expect(await app.waitForRecord((r) => r.path === '/chat', since)).toMatchObject({
          outcome: 'accepted',
          protocol: 'chat.v2',
          origin: PAGE_ORIGIN,
          framework: framework.name,
        });
      });
    });
  });
});
