/**
 * `pnpm soak`: the hostile-input fuzz and floods of the test suite (packages/conformance/src/
 * hostile.ts) with larger counts, against the fixture app on Express, Koa and Fastify, on
 * 127.0.0.1 only. Prints the figures and exits non-zero on any failure or leak.
 *
 * Environment: SOAK_CASES (fuzz cases in all, split across the three; default 50000), SOAK_FLOOD
 * (requests per flood and adapter; default 2000), SOAK_SEED (default the suite's seed),
 * SOAK_SECONDS (a bound on the whole run: the fuzz stops early past it; default 240).
 *
 * Run through `pnpm soak` (node --expose-gc --import tsx --conditions=@wsgate/source), so that the
 * TypeScript sources of the workspace packages load as in the tests.
 */
import { createRequire } from 'node:module';
import {
  authenticate,
  DEFAULT_SEED,
  describeFailures,
  discardLogger,
  fixtureEndpoints,
  floodGoneAfter101,
  floodGoneDuringHook,
  floodGoneDuringMiddleware,
  floodPartial,
  floodRejected,
  gc,
  Latch,
  rssAfterGc,
  runFuzz,
  settle,
} from '../packages/conformance/src/hostile.ts';

const env = (name, fallback) => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new Error(`${name} must be a non-negative integer`);
  return number;
};
const totalCases = env('SOAK_CASES', 50_000);
const floodCount = env('SOAK_FLOOD', 2_000);
const seed = env('SOAK_SEED', DEFAULT_SEED);
const deadline = Date.now() + env('SOAK_SECONDS', 240) * 1_000;
const CHUNK = 1_000;

const uncaught = [];
process.on('uncaughtException', (error) => uncaught.push(error));
process.on('unhandledRejection', (error) => uncaught.push(error));

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const statuses = (byStatus) =>
  Object.entries(byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');

// The frameworks as each adapter's tests load them (the root has no dependency on them).
const requireFrom = (pkg) => createRequire(new URL(`../packages/${pkg}/package.json`, import.meta.url));
const express = requireFrom('express')('express');
const Koa = requireFrom('koa')('koa');
const adapters = [
  ['express', (await import('../packages/express/test/app.ts')).buildOn(express)],
  [
    'koa',
    (await import('../packages/koa/test/app.ts')).buildOn(
      // Koa prints every socket error its on-finished hook sees; the fuzz makes thousands.
      class extends Koa {
        silent = true;
      },
    ),
  ],
  ['fastify', (await import('../packages/fastify/test/app.ts')).build],
];

console.log(
  `soak: seed ${seed} (0x${seed.toString(16)}), ${totalCases} fuzz cases in all, ${floodCount} per flood, gc ${gc() ? 'forced' : 'unavailable'}`,
);
let failed = false;
const startedAll = performance.now();
for (const [framework, build] of adapters) {
  const slowHook = new Latch();
  const app = await build({ endpoints: fixtureEndpoints(slowHook), logger: discardLogger(), authenticate });
  const { port } = app.server.address();
  const endpoints = app.endpoints ?? [];
  const rssBefore = await rssAfterGc();
  const started = performance.now();

  // The fuzz, in chunks, so that the time bound holds.
  const cases = Math.ceil(totalCases / adapters.length);
  const byStatus = {};
  const failures = [];
  let run = 0;
  let closedWithoutAnswer = 0;
  let maxMs = 0;
  while (run < cases && Date.now() < deadline) {
    const count = Math.min(CHUNK, cases - run);
    const stats = await runFuzz({ port, seed, count, from: run, concurrency: 16, timeoutMs: 2_000 });
    run += count;
    for (const [status, n] of Object.entries(stats.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + n;
    closedWithoutAnswer += stats.closedWithoutAnswer;
    maxMs = Math.max(maxMs, stats.maxMs);
    failures.push(...stats.failures);
  }
  const fuzzSeconds = (performance.now() - started) / 1_000;
  const afterFuzz = await settle(app.server, endpoints);
  console.log(`\n${framework}: fuzz ${run}/${cases} cases in ${fuzzSeconds.toFixed(1)} s`);
  console.log(`  answers by status: ${statuses(byStatus)}`);
  console.log(`  closes without answer: ${closedWithoutAnswer}; max time to answer: ${maxMs} ms`);
  console.log(
    `  failures: ${failures.length}; left: ${afterFuzz.sockets} sockets, ${afterFuzz.websockets} WebSockets`,
  );
  if (failures.length > 0) console.log(describeFailures(framework, failures));
  if (run < cases) console.log(`  stopped early: SOAK_SECONDS reached`);

  // The floods.
  const floods = [
    ['rejected handshakes', () => floodRejected(port, floodCount)],
    ['gone mid-head', () => floodPartial(port, floodCount)],
    ['gone during the middleware', () => floodGoneDuringMiddleware(port, floodCount)],
    [
      'gone during an async hook',
      async () => {
        let reached = 0;
        for (let i = 0; i < floodCount; i += 50) {
          reached += (await floodGoneDuringHook(port, Math.min(50, floodCount - i), slowHook)).reachedHook;
        }
        return { reachedHook: reached };
      },
    ],
    ['gone after the 101', () => floodGoneAfter101(port, floodCount)],
  ];
  for (const [name, flood] of floods) {
    if (Date.now() > deadline) {
      console.log(`  flood ${name}: skipped, SOAK_SECONDS reached`);
      continue;
    }
    const floodStarted = performance.now();
    const stats = await flood();
    const left = await settle(app.server, endpoints);
    const seconds = ((performance.now() - floodStarted) / 1_000).toFixed(1);
    const figures = stats?.byStatus
      ? `${statuses(stats.byStatus)}, max ${stats.maxMs} ms`
      : stats?.reachedHook !== undefined
        ? `${stats.reachedHook} reached the hook`
        : 'done';
    console.log(
      `  flood ${name}: ${floodCount} in ${seconds} s (${figures}); left: ${left.sockets} sockets, ${left.websockets} WebSockets`,
    );
    if (left.sockets > 0 || left.websockets > 0 || stats?.byStatus?.hung) failed = true;
  }
  const rssAfter = await rssAfterGc();
  console.log(`  RSS before ${mb(rssBefore)}, after ${mb(rssAfter)} (${mb(rssAfter - rssBefore)})`);
  if (failures.length > 0 || afterFuzz.sockets > 0 || afterFuzz.websockets > 0) failed = true;
  slowHook.release();
  await app.close();
}
if (uncaught.length > 0) {
  failed = true;
  console.log(`\nuncaught: ${uncaught.length}\n${uncaught.slice(0, 5).map(String).join('\n')}`);
}
console.log(
  `\nsoak: ${failed ? 'FAILED' : 'ok'} in ${((performance.now() - startedAll) / 1_000).toFixed(1)} s`,
);
process.exit(failed ? 1 : 0);
