/**
 * A proxy's idle timeout, seen from the server (issue #12, item 2): the real nginx
 * (`proxy_read_timeout 2s`) and Apache (`ProxyTimeout 2`) in front of each reference app. With the
 * heartbeat off, a connection that carries nothing is cut by the proxy without a close frame, and
 * the connection-end record wsgate logs says so: 1006, `closedBy: client`, and a hint naming the
 * likely timeout and the fix. With the heartbeat on (300 ms, below the proxy's 2 s), the same
 * quiet connection outlives the timeout.
 *
 * Both connections run side by side, so a framework costs one proxy timeout and a bit. The waits
 * are bounded; how long the proxy takes is not asserted.
 */
import { connectWs, roundTrip, type WsOutcome } from '@wsgate/conformance';
import { describe, expect, it } from 'vitest';
import { type Framework, frameworks, type LogRecord, type RunningApp, startApp } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { type RunningProxy, startApache, startNginx } from '../src/proxies.js';

const TIMEOUT_MS = 2_000;
const HEARTBEAT_MS = 300;
const CLOSED = 'websocket connection closed';

type Open = Extract<WsOutcome, { kind: 'open' }>;

function closed(ws: Open['ws'], boundMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${boundMs} ms`)), boundMs);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function connectionRecord(app: RunningApp, path: string): Promise<LogRecord> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = app.records.find((r) => r.msg === CLOSED && r.path === path);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${app.framework}: no "${CLOSED}" record for ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const proxies = [
  {
    peer: 'nginx',
    config: 'nginx-idle-timeout.conf',
    start: startNginx,
    timeout: /nginx's proxy_read_timeout/,
  },
  {
    peer: 'apache',
    config: 'apache-idle-timeout.conf',
    start: startApache,
    timeout: /Apache's ProxyTimeout/,
  },
] as const;

for (const proxy of proxies) {
  describeWith([proxy.peer], `${proxy.peer} with a ${TIMEOUT_MS / 1000} s idle timeout`, (binaries) => {
    describe.concurrent.each(frameworks())('$name', (framework: Framework) => {
      it('heartbeat off: the proxy cuts the quiet connection and the record names the timeout; heartbeat on: it survives', async () => {
        const quiet = await startApp(framework, 0, { heartbeatMs: false });
        const live = await startApp(framework, 0, { heartbeatMs: HEARTBEAT_MS });
        let running: RunningProxy | undefined;
        const open: Open[] = [];
        try {
          running = await proxy.start(binaries[proxy.peer as keyof typeof binaries] as string, [
            { config: proxy.config, values: { QUIET: quiet.address, LIVE: live.address } },
          ]);
          const base = `ws://127.0.0.1:${running.port(proxy.config)}`;
          const outcomes = await Promise.all([connectWs(`${base}/echo`), connectWs(`${base}/live/echo`)]);
          for (const outcome of outcomes) {
            expect(outcome.kind, `${JSON.stringify(outcome)}\n${running.output()}`).toBe('open');
            if (outcome.kind === 'open') open.push(outcome);
          }
          const [cut, kept] = open as [Open, Open];
          expect(await roundTrip(cut.ws, 'then quiet')).toBe('then quiet');
          expect(await roundTrip(kept.ws, 'then quiet')).toBe('then quiet');
          const keptClosed = closed(kept.ws, 60_000).catch(() => 0);

          // Heartbeat off: nothing either way until the proxy's timer ends the tunnel.
          expect(await closed(cut.ws, 4 * TIMEOUT_MS)).toBe(1006);
          const record = await connectionRecord(quiet, '/echo');
          expect(record).toMatchObject({ framework: framework.name, closeCode: 1006, closedBy: 'client' });
          expect(record.hint, JSON.stringify(record)).toMatch(/without a close frame after \d+(\.\d)? s/);
          expect(record.hint).toMatch(proxy.timeout);
          expect(record.hint).toMatch(/Turn the heartbeat on \(heartbeatMs\)/);

          // Heartbeat on: still open past the timeout, and still carrying messages.
          await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 2));
          expect(kept.ws.readyState, running.output()).toBe(kept.ws.OPEN);
          expect(await roundTrip(kept.ws, 'still here')).toBe('still here');
          kept.ws.close();
          await keptClosed;
        } finally {
          for (const { ws } of open) ws.terminate();
          await running?.stop();
          await quiet.close();
          await live.close();
        }
      });
    });
  });
}
