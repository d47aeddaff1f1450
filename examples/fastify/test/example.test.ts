import { runExampleSuite } from '@wsgate/conformance';
import { start } from '../src/app.js';

runExampleSuite('fastify', (logger, lifecycle) => start({ logger, lifecycle }));
