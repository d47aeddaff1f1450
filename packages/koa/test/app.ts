/** The conformance fixture app on Koa (the conformance and hostile-input suites build it). */
import http from 'node:http';
import type { BuildApp } from '@wsgate/conformance/hostile';
import { listening, PRIVATE_PATH } from '@wsgate/conformance/hostile';
import type Koa from 'koa';
import { type WebSocketEndpoint, websocket, wsgate } from '../src/index.js';

export const buildOn =
  (KoaClass: typeof Koa): BuildApp =>
  async (fixture) => {
    const app = new KoaClass();
    // The recommended setup: wsgate owns every upgrade from the server's first request on.
    app.use(wsgate({ logger: fixture.logger }));
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
    const endpoints: WebSocketEndpoint[] = [];
    for (const endpoint of fixture.endpoints) {
      const middleware = websocket(
        endpoint.path,
        { ...endpoint.options, logger: fixture.logger },
        (ws, ctx, context) => endpoint.onOpen(ws, { user: ctx.state.user, context, headers: ctx.headers }),
      );
      endpoints.push(middleware);
      app.use(middleware);
    }
    const server = http.createServer(fixture.server ?? {}, app.callback()).listen(0, '127.0.0.1');
    return { ...(await listening(server)), endpoints };
  };
