import { runMinimalSuite } from '@wsgate/conformance';

runMinimalSuite('fastify', new URL('../src/minimal.ts', import.meta.url));
