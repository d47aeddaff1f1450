/**
 * @wsgate/conformance — the handshake suite every adapter runs. An adapter's test builds the
 * fixture app (see `fixture.ts`) on its framework and calls {@link runConformanceSuite}.
 */
export { type HeaderExpectations, proxyShapes, type RawCase, rawCases } from './cases.js';
export { expectBare101, expectServerConnectionLimit } from './checks.js';
export {
  buildRequest,
  closeWs,
  connectWs,
  type HeaderSpec,
  type RawResponse,
  readResponseHead,
  roundTrip,
  SAMPLE_KEY,
  sendPipelined,
  sendRaw,
  type WsOutcome,
} from './clients.js';
export { runExampleSuite, type StartExample } from './example-suite.js';
export {
  authenticate,
  type BuildApp,
  type ConformanceApp,
  type EndpointSpec,
  type Fixture,
  fixtureEndpoints,
  HOOK_SECRET,
  Latch,
  OTHER_LIBRARY_PATH,
  PRIVATE_PATH,
  SECRET,
  type ServerTimeouts,
} from './fixture.js';
export { discardLogger } from './hostile.js';
export { runHostileSuite } from './hostile-suite.js';
export { LogCapture, type LogRecord } from './logs.js';
export { type FrameworkMajor, frameworkMajor, listening, runConformanceSuiteOn } from './majors.js';
export { runMinimalSuite } from './minimal-suite.js';
export { runConformanceSuite, type SuiteOptions } from './suite.js';
export { selfSignedCertificate, type TestCertificate } from './tls.js';
