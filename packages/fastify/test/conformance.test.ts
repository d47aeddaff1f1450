import { runConformanceSuite } from '@wsgate/conformance';
import { build } from './app.js';

runConformanceSuite('fastify', build, {
  // @fastify/websocket listens for 'upgrade' from its registration on: no upgrade ever reaches
  // Fastify's request path.
  requestArrival: '@fastify/websocket owns the upgrade event from the start',
});
