import { type BuildApp, listening, PRIVATE_PATH, runConformanceSuiteOn } from '@wsgate/conformance';
import { websocket, wsgate } from '../src/index.js';
import { majors } from './majors.js';

const buildOn =
  (Koa: (typeof majors)[number]['module']): BuildApp =>
  async (fixture) => {
    const app = new Koa();
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
    for (const endpoint of fixture.endpoints) {
      app.use(
        websocket(endpoint.path, { ...endpoint.options, logger: fixture.logger }, (ws, ctx, context) =>
          endpoint.onOpen(ws, { user: ctx.state.user, context, headers: ctx.headers }),
        ),
      );
    }
    return listening(app.listen(0, '127.0.0.1'));
  };

runConformanceSuiteOn('koa', majors, buildOn);
