import { once } from 'node:events';
import { type BuildApp, PRIVATE_PATH, runConformanceSuite } from '@wsgate/conformance';
import { describe, expect, it } from 'vitest';
import { websocket } from '../src/index.js';
import { majors } from './majors.js';

const buildOn =
  (Koa: (typeof majors)[number]['Koa']): BuildApp =>
  async (fixture) => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path !== '/health') return next();
      ctx.body = 'ok';
    });
    // Koa's own auth middleware, before the endpoint: runs before the 101.
    app.use(async (ctx, next) => {
      if (ctx.path !== PRIVATE_PATH) return next();
      const user = fixture.authenticate(ctx.headers, ctx.originalUrl);
      if (!user) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer');
        ctx.body = { code: 'AUTHENTICATION_REQUIRED' };
        return;
      }
      ctx.state.user = user;
      return next();
    });
    for (const endpoint of fixture.endpoints) {
      app.use(
        websocket(endpoint.path, { ...endpoint.options, logger: fixture.logger }, (ws, ctx, context) =>
          endpoint.onOpen(ws, { user: ctx.state.user, context }),
        ),
      );
    }
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      server,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  };

for (const { name, major, Koa, version } of majors) {
  describe(name, () => {
    it(`loads Koa ${major} (${version})`, () => {
      expect(version.split('.')[0]).toBe(String(major));
    });
    runConformanceSuite('koa', buildOn(Koa));
  });
}
