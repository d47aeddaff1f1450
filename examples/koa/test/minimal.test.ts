import { runMinimalSuite } from '@wsgate/conformance';

runMinimalSuite('koa', new URL('../src/minimal.ts', import.meta.url));
