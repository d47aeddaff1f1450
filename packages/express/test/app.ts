/** The conformance fixture app on Express (the conformance and hostile-input suites build it). */
import http from 'node:http';
import type { BuildApp } from '@wsgate/conformance/hostile';
import { listening, PRIVATE_PATH } from '@wsgate/conformance/hostile';
import type express from 'express';
import { type WebSocketEndpoint, websocket, wsgate } from '../src/index.js';

export const buildOn =
  (createApp: typeof express): BuildApp =>
  async (fixture) => {
    const app = createApp();
    // The recommended setup: wsgate owns every upgrade from the server's first request on.
    app.use(wsgate({ logger: fixture.logger }));
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    // The framework's own auth middleware, before the endpoint: runs before the 101.
    app.use(PRIVATE_PATH, (req, res, next) => {
      const user = fixture.authenticate(req.headers, req.originalUrl);
      if (!user) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ code: 'AUTHENTICATION_REQUIRED' });
        return;
      }
      res.locals.user = user;
      next();
    });
    const endpoints: WebSocketEndpoint[] = [];
    for (const endpoint of fixture.endpoints) {
      const handler = websocket({ ...endpoint.options, logger: fixture.logger }, (ws, req, context) =>
        endpoint.onOpen(ws, { user: req.res?.locals.user, context, headers: req.headers }),
      );
      endpoints.push(handler);
      app.get(endpoint.path, handler);
    }
    const server = http.createServer(fixture.server ?? {}, app).listen(0, '127.0.0.1');
    return { ...(await listening(server)), endpoints };
  };
