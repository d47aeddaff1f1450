import { runConformanceSuiteOn } from '@wsgate/conformance';
import { buildOn } from './app.js';
import { majors } from './majors.js';

runConformanceSuiteOn('koa', majors, buildOn);
