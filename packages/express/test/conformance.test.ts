import { runConformanceSuiteOn } from '@wsgate/conformance';
import { buildOn } from './app.js';
import { majors } from './majors.js';

runConformanceSuiteOn('express', majors, buildOn);
