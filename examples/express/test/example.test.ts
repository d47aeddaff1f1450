import { runExampleSuite } from '@wsgate/conformance';
import { start } from '../src/app.js';

runExampleSuite('express', (logger, lifecycle) => start({ logger, lifecycle }));
