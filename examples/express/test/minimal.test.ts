import { runMinimalSuite } from '@wsgate/conformance';

runMinimalSuite('express', new URL('../src/minimal.ts', import.meta.url));
