import { runConformanceSuite } from '@wsgate/conformance';
import { build } from './app.js';

runConformanceSuite('fastify', build);
