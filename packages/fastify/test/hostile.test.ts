import { runHostileSuite } from '@wsgate/conformance';
import { build } from './app.js';

runHostileSuite('fastify', build);
