/**
 * The benchmark plan and its runner: every scenario against every server variant, in rounds. In
 * each round and scenario all servers are up at once and the load alternates between them chunk by
 * chunk (A B C, B C A, …), so slow drift and bursts of other work on a shared machine spread over
 * all variants instead of landing on one; medians over chunks, then over rounds, are reported.
 */
import { idleSample, interleavedEcho, interleavedHandshakes, startServer } from './harness.mjs';
import { HANDSHAKES } from './requests.mjs';
import { VARIANTS } from './servers.mjs';

/**
 * The default plan: a few minutes on a 2-core machine.
 * @typedef {typeof DEFAULT_PLAN} Plan
 */
export const DEFAULT_PLAN = {
  rounds: 3,
  handshakes: {
    count: 3000,
    rejectedCount: 2000,
    warmup: 200,
    chunks: 5,
    concurrency: 64,
    timeoutMs: 60_000,
  },
  idle: { rounds: 1, count: 10_000, concurrency: 64, timeoutMs: 60_000 },
  echo: {
    phases: [
      { connections: 1, roundTrips: 20_000 },
      { connections: 64, roundTrips: 20_000 },
    ],
    warmup: 1_000,
    chunks: 5,
    timeoutMs: 60_000,
  },
};

/** A tiny plan for the smoke test: every scenario runs, nothing is measured seriously. */
export const SMOKE_PLAN = {
  rounds: 1,
  handshakes: { count: 12, rejectedCount: 12, warmup: 2, chunks: 2, concurrency: 4, timeoutMs: 20_000 },
  idle: { rounds: 1, count: 10, concurrency: 4, timeoutMs: 20_000 },
  echo: {
    phases: [
      { connections: 1, roundTrips: 10 },
      { connections: 4, roundTrips: 10 },
    ],
    warmup: 4,
    chunks: 2,
    timeoutMs: 20_000,
  },
};

/**
 * What {@link runSuite} returns: every sample with its round, and what went wrong.
 * @typedef {{
 *   handshakes: (NonNullable<ReturnType<Awaited<ReturnType<typeof interleavedHandshakes>>['get']>> & { round: number })[],
 *   idle: (Awaited<ReturnType<typeof idleSample>> & { round: number })[],
 *   echo: (NonNullable<ReturnType<Awaited<ReturnType<typeof interleavedEcho>>['results']['get']>>[number] & { round: number })[],
 *   problems: { variant: string, what: string, problem: string }[],
 *   broken: Record<string, string>,
 *   logLines: Record<string, Record<string, number>>,
 * }} SuiteResults
 */

function rotate(list, by) {
  const n = by % list.length;
  return [...list.slice(n), ...list.slice(0, n)];
}

/** What a correct sample of a handshake scenario looks like; a problem description otherwise. */
function checkHandshakes(sample) {
  const expected = HANDSHAKES[sample.scenario].status;
  const statuses = Object.keys(sample.statuses).map(Number);
  if (sample.completed !== sample.count) return `completed ${sample.completed} of ${sample.count}`;
  if (statuses.length !== 1) return `mixed statuses ${JSON.stringify(sample.statuses)}`;
  const [status] = statuses;
  if (expected !== undefined && status !== expected) return `answered ${status}, expected ${expected}`;
  if (expected === undefined && !(status >= 400 && status < 500)) return `answered ${status}, expected a 4xx`;
  if (status === 101 && sample.protocols['chat.v2'] !== sample.count) {
    return `negotiated ${JSON.stringify(sample.protocols)}, expected chat.v2 every time`;
  }
  return undefined;
}

/**
 * Runs `plan` against `variants` (names from VARIANTS). Never throws for a broken variant: its
 * error is recorded in `problems` and its remaining samples are skipped.
 *
 * `shareServers` runs every sample of a variant on one server process instead of a fresh one
 * each (for the smoke test: process start-up dominates its time; figures are then not clean).
 *
 * @param {Plan} plan
 * @param {{ variants?: string[], scenarios?: string[], build?: 'dist' | 'source', cpu?: number, shareServers?: boolean, log?: (line: string) => void }} [options]
 */
export async function runSuite(plan, options = {}) {
  const variants = options.variants ?? Object.keys(VARIANTS);
  const scenarios = options.scenarios ?? Object.keys(HANDSHAKES);
  const log = options.log ?? (() => {});
  /** @type {SuiteResults} */
  const results = { handshakes: [], idle: [], echo: [], problems: [], broken: {}, logLines: {} };
  const shared = new Map();
  const common = { build: options.build, cpu: options.cpu };
  /** @returns {Promise<{ build?: 'dist' | 'source', cpu?: number, server?: import('./harness.mjs').ServerProcess }>} */
  const settings = async (variant) => {
    if (!options.shareServers) return common;
    if (!shared.has(variant)) shared.set(variant, startServer(variant, common));
    return { ...common, server: await shared.get(variant) };
  };

  const attempt = async (variant, what, run) => {
    if (results.broken[variant]) return undefined;
    const began = performance.now();
    try {
      const value = await run(await settings(variant));
      log(`${what} ${variant} ${Math.round(performance.now() - began)} ms`);
      return value;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.broken[variant] = message;
      results.problems.push({ variant, what, problem: message });
      log(`${what} ${variant} FAILED: ${message}`);
      return undefined;
    }
  };

  const checkEcho = (variant, sample) => {
    if (sample.completed !== sample.roundTrips || sample.mismatched > 0) {
      results.problems.push({
        variant,
        what: `echo ×${sample.connections}`,
        problem: `${sample.completed} of ${sample.roundTrips} round-trips, ${sample.mismatched} mismatched`,
      });
    }
  };

  const markBroken = (variant, what, error) => {
    const message = error instanceof Error ? error.message : String(error);
    results.broken[variant] = message;
    results.problems.push({ variant, what, problem: message });
    log(`${what} ${variant} FAILED: ${message}`);
  };

  for (let round = 0; round < plan.rounds; round++) {
    for (const scenario of scenarios) {
      const what = `round ${round + 1} ${scenario}`;
      const accepted = scenario === 'accepted';
      const count = accepted ? plan.handshakes.count : plan.handshakes.rejectedCount;
      const began = performance.now();
      // Every server of the scenario is up at once (fresh processes); the load alternates between
      // them chunk by chunk. The echo round-trips run on the accepted-handshake servers after.
      /** @type {Map<string, import('./harness.mjs').ServerProcess>} */
      const live = new Map();
      for (const variant of rotate(variants, round)) {
        if (results.broken[variant]) continue;
        try {
          live.set(variant, (await settings(variant)).server ?? (await startServer(variant, common)));
        } catch (error) {
          markBroken(variant, what, error);
        }
      }
      try {
        const samples = await interleavedHandshakes(live, { ...plan.handshakes, scenario, count });
        for (const [variant, sample] of samples) {
          if (sample.error) {
            markBroken(variant, what, sample.error);
            continue;
          }
          results.handshakes.push({ ...sample, round });
          const problem = checkHandshakes(sample);
          if (problem) results.problems.push({ variant, what: scenario, problem });
        }
        if (accepted) {
          const healthy = new Map(
            [...live].filter(([variant]) => !results.broken[variant] && !VARIANTS[variant].handshakesOnly),
          );
          const echo = await interleavedEcho(healthy, plan.echo);
          for (const [variant, message] of echo.errors)
            markBroken(variant, `round ${round + 1} echo`, message);
          for (const [variant, samples] of echo.results) {
            for (const sample of samples) {
              results.echo.push({ ...sample, round });
              checkEcho(variant, sample);
            }
          }
        }
      } finally {
        if (!options.shareServers) await Promise.all([...live.values()].map((server) => server.stop()));
      }
      log(`${what}: ${live.size} servers, ${Math.round(performance.now() - began)} ms`);
    }
    if (round < plan.idle.rounds) {
      for (const variant of rotate(variants, round)) {
        if (VARIANTS[variant].handshakesOnly) continue;
        const sample = await attempt(variant, `round ${round + 1} idle`, (common) =>
          idleSample(variant, { ...plan.idle, ...common }),
        );
        if (!sample) continue;
        results.idle.push({ ...sample, round });
        if (sample.opened !== sample.count) {
          results.problems.push({
            variant,
            what: 'idle',
            problem: `opened ${sample.opened} of ${sample.count} (${sample.failure})`,
          });
        }
      }
    }
  }
  // With shared servers, what each logging-on variant's logger (wsgate's, or a native baseline's
  // hand-written one) wrote over the whole suite.
  for (const [variant, server] of shared) {
    await server.then(
      async (s) => {
        if (VARIANTS[variant].role.endsWith('-logged')) {
          const { logLines } = await s.usage(false, true);
          if (logLines) results.logLines[variant] = logLines;
        }
        await s.stop();
      },
      () => {},
    );
  }
  return results;
}
