/** The conformance fixture app on Fastify (the conformance and hostile-input suites build it). */
import { type BuildApp, PRIVATE_PATH } from '@wsgate/conformance/hostile';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { wsgate } from '../src/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: unknown;
  }
}

export const build: BuildApp = async (fixture) => {
  // Fastify logs through the suite's pino logger, so request.log writes into its capture.
  // Fastify sets `requestTimeout` itself after creating the server (0 unless given).
  const app = Fastify({
    loggerInstance: fixture.logger as FastifyBaseLogger,
    ...(fixture.server ? { http: fixture.server, requestTimeout: fixture.server.requestTimeout } : {}),
  });
  await app.register(wsgate);
  app.decorateRequest('user', null);
  app.get('/health', async () => 'ok');
  // The framework's own auth hook: runs before the 101.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.split('?')[0] !== PRIVATE_PATH) return;
    const user = fixture.authenticate(request.headers, request.url);
    if (!user) {
      return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ code: 'AUTHENTICATION_REQUIRED' });
    }
    request.user = user;
  });
  for (const endpoint of fixture.endpoints) {
    app.get(endpoint.path, { websocket: true, config: { wsgate: endpoint.options } }, (socket, request) =>
      endpoint.onOpen(socket, { user: request.user, context: request.wsContext, headers: request.headers }),
    );
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { server: app.server, endpoints: [...app.wsgate.endpoints.values()], close: () => app.close() };
};
