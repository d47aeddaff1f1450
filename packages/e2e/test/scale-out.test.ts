/**
 * Scale-out: two Node processes of each framework's reference app (its real server script) behind
 * one nginx. Connections land on both; when one process restarts, its connections close with 1001 (it drains), the
 * other's keep working, new handshakes go to the live one, and the restarted one gets connections
 * again.
 */
import { closeWs, connectWs, roundTrip, type WsOutcome } from '@wsgate/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { type AppProcess, startAppProcess } from '../src/app-process.js';
import { frameworks } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { type RunningProxy, startNginx } from '../src/proxies.js';

type Open = Extract<WsOutcome, { kind: 'open' }>;

/** The close code clients see when a reference app's process shuts down (SIGTERM → close()). */
const closeCodeOnShutdown: Record<string, number[]> = { express: [1001], koa: [1001], fastify: [1001] };

describeWith(['nginx'], 'two app processes behind nginx', ({ nginx }) => {
  describe.each(frameworks())('$name', (framework) => {
    const backends: AppProcess[] = [];
    const open: Array<{ ws: WebSocket; backend: number }> = [];
    let proxy: RunningProxy;
    let ports: [number, number];

    beforeAll(async () => {
      // One at a time, so afterAll stops the first even when the second fails to start. Each on a
      // port the kernel picks as it binds (port 0), and started only once the process itself says
      // it listens: ports picked free beforehand could be taken (by the other backend, or by
      // anything else on the machine) before the process binds them, and a port that merely
      // accepts connections may be someone else's: nginx then had one backend twice, or one it
      // could not reach and skipped for fail_timeout, and every connection landed on backend 0.
      backends.push(await startAppProcess(framework));
      backends.push(await startAppProcess(framework));
      ports = [backends[0]?.port ?? 0, backends[1]?.port ?? 0];
      proxy = await startNginx(nginx, [
        {
          config: 'nginx-scale-out.conf',
          values: { BACKEND_A: `127.0.0.1:${ports[0]}`, BACKEND_B: `127.0.0.1:${ports[1]}` },
        },
      ]);
      // Both backends answer through nginx before anything is counted: nginx skips a backend for
      // fail_timeout after one failed attempt, so counting must not start inside such a window.
      const answered = new Set<number>();
      const deadline = Date.now() + 15_000;
      while (answered.size < 2) {
        if (Date.now() > deadline)
          throw new Error(`only backends ${[...answered]} answered through nginx\n${proxy.output()}`);
        const connection = await connect();
        answered.add(connection.backend);
        await closeWs(connection.ws);
        if (answered.size < 2) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      open.length = 0;
    }, 60_000);
    afterAll(async () => {
      for (const { ws } of open) ws.terminate();
      await proxy?.stop();
      for (const backend of backends) await backend.stop();
    });

    /** Opens /echo through nginx and finds which backend logged the accepted handshake. */
    async function connect(): Promise<Open & { backend: number }> {
      const before = backends.map((b) => b.records().length);
      const outcome = await connectWs(`ws://127.0.0.1:${proxy.port('nginx-scale-out.conf')}/echo`);
      expect(outcome.kind, `${JSON.stringify(outcome)}\n${proxy.output()}`).toBe('open');
      const deadline = Date.now() + 5_000;
      for (;;) {
        const backend = backends.findIndex((b, i) =>
          b
            .records()
            .slice(before[i])
            .some((r) => r.outcome === 'accepted' && r.path === '/echo'),
        );
        if (backend !== -1) {
          const result = { ...(outcome as Open), backend };
          open.push(result);
          return result;
        }
        if (Date.now() > deadline) throw new Error('no backend logged the accepted handshake');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it('connections land on both backends and carry messages', async () => {
      const landed = new Set<number>();
      for (let i = 0; i < 4; i++) {
        const connection = await connect();
        expect(await roundTrip(connection.ws, `m${i}`)).toBe(`m${i}`);
        landed.add(connection.backend);
      }
      expect([...landed].sort()).toEqual([0, 1]);
    });

    it('a backend restart ends only its own connections; handshakes go on and reach it again', async () => {
      const onA = open.filter((c) => c.backend === 0);
      const onB = open.filter((c) => c.backend === 1);
      expect(onA.length).toBeGreaterThan(0);
      expect(onB.length).toBeGreaterThan(0);
      const closed = onA.map(
        ({ ws }) =>
          new Promise<number>((resolve) => {
            if (ws.readyState === ws.CLOSED) resolve(1006);
            else ws.once('close', (code) => resolve(code));
          }),
      );

      await backends[0]?.stop();
      // Its connections end. How depends on the app's own shutdown: Express's and Koa's reference
      // reference apps drain on SIGTERM: every client gets a close frame with 1001 (going away),
      // not a cut socket (1006), and reconnects.
      const expected = closeCodeOnShutdown[framework.name] ?? [1005, 1006];
      for (const code of await Promise.all(closed)) expect(expected).toContain(code);
      // The other backend's connections are untouched.
      for (const { ws } of onB) expect(await roundTrip(ws, 'still here')).toBe('still here');
      // New handshakes while it is down go to the live backend.
      const during = await connect();
      expect(during.backend).toBe(1);
      expect(await roundTrip(during.ws, 'during')).toBe('during');

      // Restarted on the same port, it gets connections again once nginx's fail_timeout is over
      // (bounded retries; how long it takes is not asserted).
      backends[0] = await startAppProcess(framework, ports[0]);
      let back: number | undefined;
      for (let attempt = 0; attempt < 60 && back !== 0; attempt++) {
        const connection = await connect();
        back = connection.backend;
        if (back !== 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(back).toBe(0);
      const last = open[open.length - 1];
      if (last) {
        expect(await roundTrip(last.ws, 'back')).toBe('back');
        await closeWs(last.ws);
      }
    }, 60_000);
  });
});
