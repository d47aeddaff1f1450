import { runExampleSuite } from '@wsgate/conformance';
import { start } from '../src/app.js';

runExampleSuite('koa', (logger, lifecycle) => start({ logger, lifecycle }));
