/**
 * The vitest wrapper of `hostile.ts`: a bounded seeded fuzz of the upgrade path and floods of
 * rejected handshakes and abrupt disconnects, against one adapter's fixture app. `pnpm soak` runs
 * the same with larger counts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, type BuildApp, type ConformanceApp, fixtureEndpoints, Latch } from './fixture.js';
import {
  DEFAULT_SEED,
  describeFailures,
  discardLogger,
  floodGoneAfter101,
  floodGoneDuringHook,
  floodGoneDuringMiddleware,
  floodPartial,
  floodRejected,
  gc,
  rssAfterGc,
  runFuzz,
  settle,
} from './hostile.js';

/** How far RSS may grow over a flood. Generous: the point is "no leak per request", not a figure. */
const RSS_SLACK = 50 * 1024 * 1024;

/**
 * Registers the hostile-input suite for one adapter.
 *
 * @param cases - How many fuzz cases (the three adapters share the 2,000–3,000 of the normal run).
 */
export function runHostileSuite(
  framework: string,
  build: BuildApp,
  { cases = 900, seed = DEFAULT_SEED }: { readonly cases?: number; readonly seed?: number } = {},
): void {
  describe(`hostile input: ${framework}`, () => {
    const slowHook = new Latch();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    let app: ConformanceApp;
    let port = 0;
    let baseline = 0;

    beforeAll(async () => {
      process.on('uncaughtException', onUncaught);
      process.on('unhandledRejection', onUncaught);
      app = await build({ endpoints: fixtureEndpoints(slowHook), logger: discardLogger(), authenticate });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
      port = address.port;
    });

    afterAll(async () => {
      slowHook.release();
      await app?.close();
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    });

    afterEach(() => {
      // The process must survive every case: an exception nobody caught fails the test it ran in.
      expect(uncaught.map(String)).toEqual([]);
    });

    /** No socket of the server left open, no WebSocket left in any endpoint. */
    const expectNoLeak = async () => {
      expect(await settle(app.server, app.endpoints ?? [])).toEqual({ sockets: 0, websockets: 0 });
    };

    /** RSS back near the baseline (after a forced GC; `gc()` makes one available via V8 flags). */
    const expectRssNearBaseline = async () => {
      const rss = await rssAfterGc();
      expect(
        rss - baseline,
        `RSS ${rss} against a baseline of ${baseline} (gc: ${Boolean(gc())})`,
      ).toBeLessThan(RSS_SLACK);
    };

    it(`fuzz: ${cases} mutated handshakes over raw sockets (seed 0x${seed.toString(16)})`, async () => {
      const stats = await runFuzz({ port, seed, count: cases, concurrency: 16, timeoutMs: 2_000 });
      // Failures name their seed and case index: `fuzzCase(seed, index, host)` rebuilds the bytes.
      expect(describeFailures(framework, stats.failures)).toBe('');
      // The fuzz reaches both sides: some handshakes accepted, many refused by the gate or Node.
      expect(stats.byStatus['101'] ?? 0).toBeGreaterThan(0);
      expect(stats.byStatus['400'] ?? 0).toBeGreaterThan(0);
      await expectNoLeak();
    }, 60_000);

    it('floods: 500 rejected handshakes in a row leave no socket and no memory behind', async () => {
      baseline = await rssAfterGc();
      const stats = await floodRejected(port, 500);
      expect(stats.byStatus.hung ?? 0).toBe(0);
      expect(stats.byStatus['101'] ?? 0).toBe(0);
      await expectNoLeak();
      await expectRssNearBaseline();
    }, 30_000);

    it('floods: clients that leave midway through the request head', async () => {
      await floodPartial(port, 300);
      await expectNoLeak();
      await expectRssNearBaseline();
    }, 30_000);

    it('floods: clients that leave right after sending the handshake (during the middleware)', async () => {
      await floodGoneDuringMiddleware(port, 300);
      await expectNoLeak();
      await expectRssNearBaseline();
    }, 30_000);

    it('floods: clients that leave while an async beforeUpgrade hook waits', async () => {
      const { reachedHook } = await floodGoneDuringHook(port, 50, slowHook);
      expect(reachedHook).toBe(50);
      await expectNoLeak();
    }, 30_000);

    it('floods: clients that leave right after the 101', async () => {
      const stats = await floodGoneAfter101(port, 300);
      expect(stats.byStatus).toEqual({ 101: 300 });
      await expectNoLeak();
      await expectRssNearBaseline();
    }, 30_000);
  });
}
