/**
 * The benchmark harness still works: every server variant answers every scenario, and every
 * count adds up. A handful of handshakes each, from wsgate's TypeScript sources; nothing here
 * measures or asserts a timing (`pnpm bench` does the measuring).
 */
import { describe, expect, it } from 'vitest';
import { renderDetails, renderHeadline, summarize } from '../src/report.mjs';
import { HANDSHAKES } from '../src/requests.mjs';
import { VARIANTS } from '../src/servers.mjs';
import { runSuite, SMOKE_PLAN } from '../src/suite.mjs';

const scenarios = Object.keys(HANDSHAKES);

describe('benchmark harness', () => {
  it.each(Object.keys(VARIANTS))(
    '%s: every scenario completes and the counts add up',
    async (variant) => {
      const results = await runSuite(SMOKE_PLAN, {
        variants: [variant],
        build: 'source',
        shareServers: true,
      });
      expect(results.problems).toEqual([]);

      expect(results.handshakes.map((s) => s.scenario)).toEqual(scenarios);
      for (const sample of results.handshakes) {
        const { count, rejectedCount } = SMOKE_PLAN.handshakes;
        expect(sample.count).toBe(sample.scenario === 'accepted' ? count : rejectedCount);
        expect(sample.completed).toBe(sample.count);
        const answered = Object.values(sample.statuses).reduce((sum, n) => sum + n, 0);
        expect(answered).toBe(sample.count);
        const expected = HANDSHAKES[sample.scenario as keyof typeof HANDSHAKES].status;
        if (expected !== undefined) expect(sample.statuses).toEqual({ [expected]: sample.count });
        expect(sample.cpuMicrosPer).toBeGreaterThan(0);
        expect(sample.peakRssBytes).toBeGreaterThan(0);
      }

      const { role, handshakesOnly } = VARIANTS[variant as keyof typeof VARIANTS] as {
        role: string;
        handshakesOnly?: boolean;
      };
      expect(results.echo.map((s) => s.connections)).toEqual(
        handshakesOnly ? [] : SMOKE_PLAN.echo.phases.map((p) => p.connections),
      );
      for (const sample of results.echo) {
        expect(sample.completed).toBe(sample.roundTrips);
        expect(sample.mismatched).toBe(0);
      }

      expect(results.idle).toHaveLength(handshakesOnly ? 0 : 1);
      if (!handshakesOnly) expect(results.idle[0]?.opened).toBe(SMOKE_PLAN.idle.count);

      // A logging-on variant writes one JSON line per handshake to its file: every rejection, and
      // every accepted handshake (the scenario's, the echo clients', the idle connections'). The
      // logging-off variants have no file.
      if (role === 'wsgate-logged') {
        const { handshakes, echo, idle } = SMOKE_PLAN;
        const perScenario = (count: number) => handshakes.warmup + count;
        const rejected = (scenarios.length - 1) * perScenario(handshakes.rejectedCount);
        const accepted =
          perScenario(handshakes.count) +
          8 + // interleavedEcho's warm-up connections
          echo.phases.reduce((sum, p) => sum + p.connections, 0) +
          Math.min(200, idle.count) + // idleSample's warm-up connections
          idle.count;
        const lines = results.logLines[variant] ?? {};
        expect(lines['websocket handshake accepted']).toBe(accepted);
        expect(lines['websocket handshake rejected']).toBe(rejected);
        // Besides: one 'websocket connection closed' record per connection that has ended by then.
        expect(lines['websocket connection closed'] ?? 0).toBeLessThanOrEqual(accepted);
      } else if (role === 'native-logged') {
        // A native baseline logging by hand (handshake scenarios only): every accepted handshake,
        // and the one rejection its user code sees, the origin refusal.
        const { handshakes } = SMOKE_PLAN;
        const lines = results.logLines[variant] ?? {};
        expect(lines['websocket handshake accepted']).toBe(handshakes.warmup + handshakes.count);
        expect(lines['websocket handshake rejected']).toBe(handshakes.warmup + handshakes.rejectedCount);
        expect(lines['websocket connection closed'] ?? 0).toBeLessThanOrEqual(
          handshakes.warmup + handshakes.count,
        );
      } else {
        expect(results.logLines[variant]).toBeUndefined();
      }

      const summary = summarize(results);
      expect(renderDetails(summary)).toContain(VARIANTS[variant as keyof typeof VARIANTS].label);
      expect(renderHeadline(summary)).toContain('wsgate ÷ native');
    },
    120_000,
  );
});
