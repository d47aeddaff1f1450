import { runExampleSuite } from '@wsgate/conformance';
import { start } from '../src/app.js';

runExampleSuite('koa', (logger) => start({ logger }));
