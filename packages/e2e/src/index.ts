/**
 * @wsgate/e2e — helpers that run wsgate's reference apps behind real reverse proxies and in a
 * real browser: binary detection, free ports, peer processes from the templates in configs/.
 */
export { type AppProcess, startAppProcess } from './app-process.js';
export { type Framework, frameworks, type LogRecord, type RunningApp, root, startApp } from './apps.js';
export { describeWith, findBinary, type PeerName, peers, required } from './binaries.js';
export {
  type BrowserWsResult,
  launchChromium,
  PAGE_ORIGIN,
  type RunningBrowser,
  startPageServer,
} from './browser.js';
export { configDir, type Peer, renderTemplate, startPeer, tempDir, writeConfig } from './peer.js';
export { createPki, type TestPki } from './pki.js';
export { freePort, waitForPort } from './ports.js';
export {
  type RunningProxy,
  type Site,
  startApache,
  startCaddy,
  startHaproxy,
  startNginx,
} from './proxies.js';
export { type RecordedRequest, type Recorder, startRecorder } from './recorder.js';
export { memoryStream } from './records.js';
