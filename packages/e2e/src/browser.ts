/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no browser download)
 * and the page it opens WebSockets from.
 *
 * The reference app's /chat allows exactly the origin `http://localhost:5173` (Vite's dev server).
 * The page is served by a real HTTP server on a free loopback port, and Chromium's
 * `--host-resolver-rules` maps `localhost:5173` to that port: the page's origin is then exactly
 * `http://localhost:5173` — what Chromium puts in `Origin` — without the tests ever binding a fixed port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** The origin the page is opened at. */
export const PAGE_ORIGIN = 'http://localhost:5173';

/** What `tryWebSocket` in the page reports. */
export interface BrowserWsResult {
  /** The `open` event fired. */
  readonly opened: boolean;
  /** `ws.protocol` after open. */
  readonly protocol: string;
  /** The reply to the message sent after open. */
  readonly echoed: string | null;
  /** The `error` event fired. */
  readonly error: boolean;
  /** The close event's code (1006 for a failed handshake). */
  readonly closeCode: number | null;
  /** The page-side limit was reached (should never happen). */
  readonly timedOut: boolean;
}

// The page's only job: open a WebSocket the way an app would, and report everything page
// JavaScript can see of the outcome (which, on failure, is an error event and close code 1006).
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>wsgate e2e</title>
<script>
window.tryWebSocket = (url, protocols, message) => new Promise((resolve) => {
  const result = { opened: false, protocol: '', echoed: null, error: false, closeCode: null, timedOut: false };
  const ws = protocols === null ? new WebSocket(url) : new WebSocket(url, protocols);
  const timer = setTimeout(() => { result.timedOut = true; ws.close(); resolve(result); }, 10000);
  ws.onopen = () => {
    result.opened = true;
    result.protocol = ws.protocol;
    if (message === null) ws.close(1000); else ws.send(message);
  };
  ws.onmessage = (event) => { result.echoed = String(event.data); ws.close(1000); };
  ws.onerror = () => { result.error = true; };
  ws.onclose = (event) => { result.closeCode = event.code; clearTimeout(timer); resolve(result); };
});
</script>
<h1>wsgate e2e</h1>
`;

/** The page server: any path answers the page. */
export async function startPageServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('page server has no TCP address');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A running Chromium with a fresh profile. */
export interface RunningBrowser {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh `--user-data-dir`, with `localhost:5173` mapped to the
 * page server's port. The flags are the ones this machine needs (no sandbox as root, no GPU, and no
 * background traffic to hosts a loopback-only network cannot reach).
 */
export async function launchChromium(executablePath: string, pagePort: number): Promise<RunningBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'wsgate-e2e-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      timeout: 30_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--host-resolver-rules=MAP localhost:5173 127.0.0.1:${pagePort}`,
      ],
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  return {
    context,
    async close() {
      if (closed) return;
      closed = true;
      // Bounded: a browser that does not close in time is killed by playwright-core when the test
      // process exits.
      await Promise.race([
        context.close().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
      ]);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
