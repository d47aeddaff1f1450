/**
 * Runs samples: starts a server variant in a child process, drives it with the load generator
 * in this process, and reads the server's own CPU time and memory over IPC.
 */
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openEcho, openIdle, runEcho, runHandshakes } from './load.mjs';

const SERVER_PROCESS = fileURLToPath(new URL('./server-process.mjs', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const IPC_TIMEOUT_MS = 30_000;

/**
 * A running server process, from {@link startServer}.
 * @typedef {Awaited<ReturnType<typeof startServer>>} ServerProcess
 */

/**
 * How the server process loads wsgate: `dist` (what users install; needs `pnpm build`) or
 * `source` (TypeScript sources through tsx, for tests).
 * @typedef {'dist' | 'source'} Build
 */

/** Whether `taskset` can pin processes to CPUs here (Linux with util-linux). */
function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pins this process (every thread) to one CPU, and server processes started later to another,
 * so that the server and the load generator never share a core: when they do, the scheduler's
 * placement alone halves some throughputs from one run to the next. Returns the server's CPU, or
 * `undefined` when pinning is not possible (fewer than 2 CPUs, no `taskset`).
 */
export function pinLoadGenerator() {
  if (availableParallelism() < 2 || !hasTaskset()) return undefined;
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  return 0;
}

/**
 * Starts a variant's server process.
 * @param {string} variant
 * @param {{ build?: Build, cpuProfileDir?: string, cpu?: number }} [options]
 */
export async function startServer(variant, options = {}) {
  const execArgv = ['--expose-gc'];
  if (options.build === 'source') execArgv.push('--import', 'tsx', '--conditions=@wsgate/source');
  if (options.cpuProfileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  // Extra V8/Node flags for a profile (e.g. `--no-turbo-inlining`, so that self time is not
  // merged into the caller a function was inlined into).
  if (process.env.BENCH_NODE_FLAGS)
    execArgv.push(...process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean));
  const argv = [...execArgv, SERVER_PROCESS, variant];
  const pinned = options.cpu !== undefined;
  const child = spawn(
    pinned ? 'taskset' : process.execPath,
    pinned ? ['-c', String(options.cpu), process.execPath, ...argv] : argv,
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    // Keep the tail only: a chatty library must not grow this process.
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${variant}: no "ready" in ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.once('message', (message) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message.port);
      else reject(new Error(`${variant} failed to start: ${message.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${variant}: server process exited with ${code} before it was ready\n${stderr}`));
    });
  });
  let nextId = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message.id);
    if (waiter) {
      pending.delete(message.id);
      waiter(message.usage);
    }
  });
  return {
    port,
    /**
     * The server's CPU time so far, peak RSS, current RSS and heap (after a full GC with `gc`);
     * with `logLines`, the lines its logger wrote so far by message (logging-on variants).
     * @returns {Promise<{ cpuMicros: number, peakRssBytes: number, rssBytes: number, heapUsedBytes: number, logLines?: Record<string, number> }>}
     */
    usage: (gc = false, logLines = false) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${variant}: no usage answer in ${IPC_TIMEOUT_MS} ms`));
        }, IPC_TIMEOUT_MS);
        pending.set(id, (usage) => {
          clearTimeout(timer);
          resolve(usage);
        });
        child.send({ id, type: 'usage', gc, logLines });
      }),
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latencySummary(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

/**
 * Runs `run` against `options.server` if given, else against a fresh server process.
 * @template T
 * @param {string} variant
 * @param {{ build?: Build, cpuProfileDir?: string, cpu?: number, server?: ServerProcess }} options
 * @param {(server: ServerProcess) => Promise<T>} run
 * @returns {Promise<T>}
 */
async function withServer(variant, options, run) {
  if (options.server) return run(options.server);
  const server = await startServer(variant, options);
  try {
    return await run(server);
  } finally {
    await server.stop();
  }
}

/**
 * The median over chunks of a sample: a burst of other work on a shared machine spoils a chunk or
 * two, not the figure.
 */
function chunkMedians(chunks) {
  const median = (values) => {
    const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    if (sorted.length === 0) return Number.NaN;
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  return {
    perSecond: median(chunks.map((c) => (c.completed / c.elapsedMs) * 1000)),
    cpuMicrosPer: median(chunks.map((c) => c.cpuMicros / Math.max(1, c.completed))),
  };
}

function rotate(list, by) {
  const n = by % list.length;
  return [...list.slice(n), ...list.slice(0, n)];
}

const split = (total, parts, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0);

/**
 * One handshake scenario on several running servers at once: after `warmup` handshakes each,
 * `count` measured ones per server in `chunks` parts, alternating between the servers part by part
 * (A B C, B C A, …) so that a burst of other work on a shared machine hits them all alike. Rate
 * and CPU are the medians over a server's parts. A server that stops answering is dropped, with
 * its error in the result.
 *
 * @param {Map<string, ServerProcess>} servers - by variant name
 * @param {{ scenario: string, count: number, warmup: number, chunks?: number, concurrency?: number, timeoutMs?: number }} options
 */
export async function interleavedHandshakes(servers, options) {
  const { scenario, count, warmup, chunks = 1, concurrency = 64, timeoutMs = 60_000 } = options;
  const names = [...servers.keys()];
  const state = new Map(
    names.map((name) => [
      name,
      {
        /** @type {{ completed: number, elapsedMs: number, cpuMicros: number }[]} */
        parts: [],
        /** @type {Record<number, number>} */
        statuses: {},
        /** @type {Record<string, number>} */
        protocols: {},
        /** @type {number[]} */
        latencies: [],
        timedOut: false,
        /** @type {string | undefined} */
        error: undefined,
        last: { cpuMicros: 0, peakRssBytes: 0, rssBytes: 0, heapUsedBytes: 0 },
      },
    ]),
  );
  const guarded = async (name, step) => {
    const st = state.get(name);
    if (st.error) return;
    try {
      await step(servers.get(name), st);
    } catch (error) {
      st.error = error instanceof Error ? error.message : String(error);
    }
  };
  for (const name of names) {
    await guarded(name, async (server, st) => {
      if (warmup > 0) {
        await runHandshakes({ port: server.port }, { scenario, count: warmup, concurrency, timeoutMs });
      }
      st.last = await server.usage();
    });
  }
  for (let c = 0; c < chunks; c++) {
    for (const name of rotate(names, c)) {
      await guarded(name, async (server, st) => {
        const target = { port: server.port };
        const run = await runHandshakes(target, {
          scenario,
          count: split(count, chunks, c),
          concurrency,
          timeoutMs,
        });
        const usage = await server.usage();
        st.parts.push({
          completed: run.completed,
          elapsedMs: run.elapsedMs,
          cpuMicros: usage.cpuMicros - st.last.cpuMicros,
        });
        st.last = usage;
        st.timedOut ||= run.timedOut;
        for (const [status, n] of Object.entries(run.statuses))
          st.statuses[status] = (st.statuses[status] ?? 0) + n;
        for (const [protocol, n] of Object.entries(run.protocols)) {
          st.protocols[protocol] = (st.protocols[protocol] ?? 0) + n;
        }
        for (const latency of run.latencies) st.latencies.push(latency);
      });
    }
  }
  return new Map(
    names.map((name) => {
      const st = state.get(name);
      return [
        name,
        {
          variant: name,
          scenario,
          count,
          error: st.error,
          completed: st.parts.reduce((sum, p) => sum + p.completed, 0),
          timedOut: st.timedOut,
          statuses: st.statuses,
          protocols: st.protocols,
          ...chunkMedians(st.parts),
          ...latencySummary(st.latencies),
          peakRssBytes: st.last.peakRssBytes,
        },
      ];
    }),
  );
}

/**
 * One handshake sample on one server (a fresh one unless `server` is given): see
 * {@link interleavedHandshakes}.
 * @param {string} variant
 * @param {{ scenario: string, count: number, warmup: number, chunks?: number, concurrency?: number, timeoutMs?: number, build?: Build, cpuProfileDir?: string, cpu?: number, server?: ServerProcess }} options
 */
export function handshakeSample(variant, options) {
  return withServer(variant, options, async (server) => {
    const sample = (await interleavedHandshakes(new Map([[variant, server]]), options)).get(variant);
    if (!sample || sample.error) throw new Error(`${variant}: ${sample?.error}`);
    return sample;
  });
}

/**
 * Server memory per open idle connection: RSS (after a full GC) with `count` accepted connections
 * open, minus RSS before, divided by the connections actually opened.
 * @param {string} variant
 * @param {{ count: number, concurrency?: number, timeoutMs?: number, settleMs?: number, build?: Build, cpu?: number , server?: ServerProcess }} options
 */
export function idleSample(variant, options) {
  const { count, concurrency = 64, timeoutMs = 60_000, settleMs = 300 } = options;
  return withServer(variant, options, async (server) => {
    const target = { port: server.port };
    // Warm up: the first connections load code and grow pools that are not per-connection cost.
    const warm = await openIdle(target, { count: Math.min(200, count), concurrency, timeoutMs });
    warm.close();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const before = await server.usage(true);
    const idle = await openIdle(target, { count, concurrency, timeoutMs });
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const after = await server.usage(true);
    idle.close();
    const opened = Math.max(1, idle.opened);
    return {
      variant,
      count,
      opened: idle.opened,
      failure: idle.failure,
      rssBytesPer: (after.rssBytes - before.rssBytes) / opened,
      heapBytesPer: (after.heapUsedBytes - before.heapUsedBytes) / opened,
      peakRssBytes: after.peakRssBytes,
    };
  });
}

/**
 * Echo round-trips on several running servers at once, one phase per entry of `phases`
 * (e.g. `[{ connections: 1, roundTrips: 20000 }, { connections: 64, roundTrips: 20000 }]`): each
 * server's connections are opened first, then the round-trips run in `chunks` parts alternating
 * between the servers part by part. Rate and CPU are the medians over a server's parts.
 *
 * @param {Map<string, ServerProcess>} servers - by variant name
 * @param {{ phases: { connections: number, roundTrips: number }[], warmup: number, chunks?: number, timeoutMs?: number }} options
 */
export async function interleavedEcho(servers, options) {
  const { phases, warmup, chunks = 1, timeoutMs = 60_000 } = options;
  const names = [...servers.keys()];
  /** @type {Map<string, string>} */
  const errors = new Map();
  const guarded = async (name, step) => {
    if (errors.has(name)) return undefined;
    try {
      return await step(servers.get(name));
    } catch (error) {
      errors.set(name, error instanceof Error ? error.message : String(error));
      return undefined;
    }
  };
  for (const name of names) {
    await guarded(name, (server) =>
      warmup > 0
        ? runEcho({ port: server.port }, { connections: 8, roundTrips: warmup, timeoutMs })
        : undefined,
    );
  }
  /**
   * @type {Map<string, { variant: string, connections: number, roundTrips: number, completed: number, mismatched: number, timedOut: boolean, perSecond: number, cpuMicrosPer: number, p50Ms: number, p99Ms: number }[]>}
   */
  const results = new Map(names.map((name) => [name, []]));
  for (const phase of phases) {
    const sessions = new Map();
    for (const name of names) {
      await guarded(name, async (server) => {
        sessions.set(name, {
          // A session stays open while every other server runs its chunks: its bound grows with them.
          echo: await openEcho(
            { port: server.port },
            { connections: phase.connections, timeoutMs: timeoutMs * names.length },
          ),
          last: (await server.usage()).cpuMicros,
          parts: [],
        });
      });
    }
    for (let c = 0; c < chunks; c++) {
      for (const name of rotate(names, c)) {
        await guarded(name, async (server) => {
          const session = sessions.get(name);
          const part = await session.echo.run(split(phase.roundTrips, chunks, c));
          const cpuMicros = (await server.usage()).cpuMicros;
          session.parts.push({ ...part, cpuMicros: cpuMicros - session.last });
          session.last = cpuMicros;
        });
      }
    }
    for (const name of names) {
      const session = sessions.get(name);
      if (!session) continue;
      session.echo.close();
      const stats = session.echo.stats();
      results.get(name).push({
        variant: name,
        connections: phase.connections,
        roundTrips: phase.roundTrips,
        completed: stats.completed,
        mismatched: stats.mismatched,
        timedOut: stats.timedOut,
        ...chunkMedians(session.parts),
        ...latencySummary(stats.latencies),
      });
    }
  }
  return { results, errors };
}
