/**
 * `pnpm bench` (end to end): what a wsgate handshake costs next to the libraries users would pick
 * instead. Prints the tables and writes docs/benchmarks.md. Not a test: nothing asserts a timing.
 *
 *   pnpm bench                                   # root: build, core's decide() bench, then this
 *   pnpm --filter @wsgate/bench bench            # this only (needs `pnpm build` first)
 *
 * Environment (all optional):
 *   BENCH_ROUNDS=3          rounds of every scenario (medians over rounds are reported)
 *   BENCH_HANDSHAKES=3000   accepted handshakes per sample (after BENCH_WARMUP=200 unmeasured ones)
 *   BENCH_REJECTED=2000     rejected handshakes per sample
 *   BENCH_IDLE=10000        open idle connections for the memory figure
 *   BENCH_ROUND_TRIPS=20000 echo round-trips per phase (1 connection, then 64)
 *   BENCH_VARIANTS=a,b      only these servers (names in src/servers.mjs)
 *   BENCH_OUT=path|-        where to write the Markdown (default docs/benchmarks.md; - for none)
 *   BENCH_BUILD=source      run wsgate from its TypeScript sources instead of dist
 *   BENCH_PIN=0             do not pin the server and the load generator to separate CPUs
 *   BENCH_MAX_LOAD=1.5      wait (up to BENCH_LOAD_WAIT=90 s) while the 1-minute load average is above this
 *
 * Every sample is also written to node_modules/.cache/wsgate-bench/results.json. The notes in
 * notes.md (baseline quirks, profiling findings) are copied into docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pinLoadGenerator } from './harness.mjs';
import {
  renderCore,
  renderDetails,
  renderHeadline,
  renderLifecycleOverhead,
  renderOtelOverhead,
  renderReadmeRatios,
  summarize,
} from './report.mjs';
import { DEFAULT_PLAN, runSuite } from './suite.mjs';

const ROOT = new URL('../../../', import.meta.url);
const RESULTS_DIR = new URL('node_modules/.cache/wsgate-bench/', ROOT);
const CORE_RESULTS = new URL('decide.json', RESULTS_DIR);
const NOTES = new URL('../notes.md', import.meta.url);
const README = new URL('README.md', ROOT);
const README_BLOCK = /(<!-- bench:ratios -->)[\s\S]*?(<!-- \/bench:ratios -->)/;
const CORE_BENCH = new URL('packages/core/bench/decide.bench.mjs', ROOT);
const CORE_RESULTS_MAX_AGE_MS = 30 * 60_000;

const env = process.env;
const number = (name, fallback) => (env[name] === undefined ? fallback : Number(env[name]));
const progress = (line) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const plan = {
  ...DEFAULT_PLAN,
  rounds: number('BENCH_ROUNDS', DEFAULT_PLAN.rounds),
  handshakes: {
    ...DEFAULT_PLAN.handshakes,
    count: number('BENCH_HANDSHAKES', DEFAULT_PLAN.handshakes.count),
    rejectedCount: number('BENCH_REJECTED', DEFAULT_PLAN.handshakes.rejectedCount),
    warmup: number('BENCH_WARMUP', DEFAULT_PLAN.handshakes.warmup),
  },
  idle: { ...DEFAULT_PLAN.idle, count: number('BENCH_IDLE', DEFAULT_PLAN.idle.count) },
  echo: {
    ...DEFAULT_PLAN.echo,
    phases: DEFAULT_PLAN.echo.phases.map((phase) => ({
      ...phase,
      roundTrips: number('BENCH_ROUND_TRIPS', phase.roundTrips),
    })),
  },
};
const build = env.BENCH_BUILD === 'source' ? 'source' : 'dist';
const variants = env.BENCH_VARIANTS?.split(',').map((v) => v.trim());

if (build === 'dist') {
  const missing = ['core', 'express', 'koa', 'fastify'].filter(
    (name) => !existsSync(new URL(`packages/${name}/dist/index.js`, ROOT)),
  );
  if (missing.length > 0) {
    progress(`no dist for ${missing.join(', ')}: run \`pnpm build\` first (or BENCH_BUILD=source)`);
    process.exit(1);
  }
}

/** Waits, bounded, for other work on the machine to calm down. Returns the load averages seen. */
async function waitForQuiet() {
  const maxLoad = number('BENCH_MAX_LOAD', 1.5);
  const deadline = Date.now() + number('BENCH_LOAD_WAIT', 90) * 1000;
  let load = loadavg();
  while (load[0] > maxLoad && Date.now() < deadline) {
    progress(`load average ${load.map((l) => l.toFixed(2)).join(', ')} > ${maxLoad}: waiting`);
    await sleep(15_000);
    load = loadavg();
  }
  if (load[0] > maxLoad) progress(`load average still ${load[0].toFixed(2)}: running anyway (noisy numbers)`);
  return load;
}

/** core's decide() results: from the run `pnpm bench` just did, or by running it now. */
function coreResults() {
  const fresh = () => {
    if (!existsSync(CORE_RESULTS)) return undefined;
    const data = JSON.parse(readFileSync(CORE_RESULTS, 'utf8'));
    const age = Date.now() - Date.parse(data.date);
    return data.node === process.version && age < CORE_RESULTS_MAX_AGE_MS ? data : undefined;
  };
  if (!fresh() && build === 'dist') {
    progress('running core decide() micro-benchmark');
    spawnSync(process.execPath, [fileURLToPath(CORE_BENCH)], {
      stdio: 'inherit',
      env: { ...env, BENCH_SECONDS: '1' },
    });
  }
  return fresh();
}

const loadBefore = await waitForQuiet();
const began = Date.now();
const core = coreResults();
const cpu = env.BENCH_PIN === '0' ? undefined : pinLoadGenerator();
progress(
  `plan: ${plan.rounds} rounds × ${plan.handshakes.count}/${plan.handshakes.rejectedCount} handshakes, ${plan.idle.count} idle, echo ${plan.echo.phases.map((p) => `${p.roundTrips}×${p.connections}`).join(', ')}; ${cpu === undefined ? 'not pinned' : 'server on CPU 0, load generator on CPU 1'}`,
);
const results = await runSuite(plan, { variants, build, cpu, log: progress });
const loadAfter = loadavg();
const seconds = Math.round((Date.now() - began) / 1000);
const summary = summarize(results);
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(new URL('results.json', RESULTS_DIR), JSON.stringify({ plan, results }, null, 1));
const notes = existsSync(NOTES) ? readFileSync(NOTES, 'utf8').trim() : '';

// os.cpus(), not availableParallelism(): this process is pinned to one CPU by now.
const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
const showLoad = (l) => l.map((x) => x.toFixed(2)).join(' / ');
const problems = results.problems.map((p) => `- ${p.variant}, ${p.what}: ${p.problem}`).join('\n');
const idleCounts = [...summary.idle.values()].map((m) => m.opened);

const markdown = `# Benchmarks

What a wsgate handshake costs next to the libraries users would pick instead: express-ws on
Express 5, koa-easy-ws on Koa 3, plain @fastify/websocket on Fastify 5, and bare \`ws\`
\`handleUpgrade\` on a plain \`http\` server as the floor. Generated by \`pnpm bench\`
(packages/bench); do not edit by hand.

- **Date:** ${new Date(began).toISOString().slice(0, 16).replace('T', ' ')} UTC (${seconds} s)
- **Machine:** ${machine}
- **Load average (1 / 5 / 15 min):** ${showLoad(loadBefore)} before, ${showLoad(loadAfter)} after${loadBefore[0] > 1.5 ? ' — the machine was busy with other work: expect noise' : ''}
- **Placement:** ${cpu === undefined ? 'not pinned' : 'server process pinned to CPU 0, load generator to CPU 1 (`taskset`)'}
- **Plan:** ${plan.rounds} rounds; ${plan.handshakes.count.toLocaleString('en-US')} accepted or ${plan.handshakes.rejectedCount.toLocaleString('en-US')} rejected handshakes per sample (after ${plan.handshakes.warmup} unmeasured) at concurrency ${plan.handshakes.concurrency}; ${plan.idle.count.toLocaleString('en-US')} idle connections; echo ${plan.echo.phases.map((p) => `${p.roundTrips.toLocaleString('en-US')} round-trips on ${p.connections} connection${p.connections === 1 ? '' : 's'}`).join(' and ')}
- **wsgate build:** ${build}

## Summary

Ratios of medians, wsgate ÷ the native choice on the same framework, from the same run, with
wsgate's logging off and on (the \`+ pino\` columns; the native choices log nothing). For rates
higher is better, for costs lower is better; ⚠ marks a figure more than 5 % worse. The targets:
accepted handshakes/s ≥ 0.95× with logging on, server CPU per malformed-handshake rejection (bad
key, bad version) ≤ 1.0×.

${renderHeadline(summary)}

The \`+ pino ÷ native\` columns price wsgate and its logging together against a native server that
logs nothing; the \`+ pino ÷ … + pino\` columns compare the same logging on both sides (the native
server logging, by hand and with the same pino logger, the records wsgate writes, where its library
lets user code see them: accepted handshakes, closes and the origin refusal, not ws's own bad-key
or bad-version refusals), so what is left there is wsgate's own cost, its fuller records included
(and in the bad-key and bad-version rows its logging too). The native + pino rows'
\`× native\` ratios in the details are what that logging alone costs a native server.
${
  renderOtelOverhead(summary)
    ? `
## @wsgate/otel overhead

The same adapter with \`instrumentWsgate()\` on (the \`+ otel\` rows: metrics on the real
OpenTelemetry SDK's meter provider with a pulled reader, and a span per handshake batched to an
exporter that drops them) ÷ with it off, both without a logger:

${renderOtelOverhead(summary)}
`
    : ''
}
## Heartbeat and limits

What the connection lifecycle costs, all without a logger: the heartbeat (wsgate's default, a ping
every 30 s; on ÷ the same adapter with \`heartbeatMs: false\`) and the connection limits
(\`maxConnections\`, \`maxConnectionsPerClient\` and \`maxServerConnections\` set, none reached ÷
none set, heartbeat on in both), per accepted handshake and per idle connection:

${renderLifecycleOverhead(summary)}

## How it is measured

For each scenario and round, every server starts fresh in its own process
(\`src/server-process.mjs\`, pinned to one CPU) and the load generator (this process, on the other
CPU) drives them over loopback, alternating between them in ${plan.handshakes.chunks} chunks (A B C, B C A, …) so
that a burst of other work on the machine hits wsgate and its baselines alike. Each server reports
its own CPU time (\`process.cpuUsage()\`, user + system) after every chunk and its peak RSS
(\`process.resourceUsage().maxRSS\`) over IPC; a figure is the median over the chunks, then the
median over the rounds (the order of the servers rotates from round to round), and *spread* is
(max − min) ÷ median of the rounds' rates. Handshakes are raw TCP connections with the bytes
Chrome sends, 64 at a time: an accepted one waits for the 101, sends a close frame and waits for
the server to close; a rejected one reads the whole response and closes. Latency is from
\`connect()\` to the 101 head or the complete rejection. The echo round-trips run on the
accepted-handshake servers afterwards, with ws clients and one small message in flight per
connection, alternating between the servers the same way.

Every server serves \`/chat\` the same way: it selects \`chat.v2\` (else \`chat.v1\`), refuses other
origins with 403 before the 101, and echoes messages. wsgate runs the reference app's options
(\`protocols\`, \`requireProtocol\`, \`origins\`) in two configurations, side by side in the same
run: with no logger (*logging off*), and as the recommended setup runs it (*logging on*, the
\`+ pino\` rows): a pino logger writing one JSON line per handshake to a file through
\`pino.destination({ dest, sync: false })\` — given to the app-level \`wsgate({ logger })\` on Express
and Koa, and as the plugin's \`logger\` option on Fastify (Fastify's own logger stays off: its two
request lines are not wsgate's cost). The native choices log nothing; their \`+ pino\` rows (handshake
scenarios only) are the same servers with the same logger, logging by hand one record per accepted
handshake and per close, and one per rejection user code gets to see (the origin refusal), with
wsgate's messages and field names. Each baseline uses its own library's
facilities: express-ws and \`@fastify/websocket\` pass \`handleProtocols\` to ws, express-ws checks the
origin with ws's \`verifyClient\` (Express middleware only runs after its 101), koa-easy-ws and
\`@fastify/websocket\` in the framework's middleware or \`preValidation\` hook. The memory figure is
RSS after a full GC with the connections open, minus RSS before, ÷ connections.

## Details

${renderDetails(summary)}

## @wsgate/core decide()

${core ? `From \`packages/core/bench/decide.bench.mjs\` (${core.seconds} s per scenario, one core, no I/O).` : ''}

${renderCore(core)}
${notes ? `\n${notes}\n` : ''}${problems ? `\n## Problems seen in this run\n\n${problems}\n` : ''}${idleCounts.some((n) => n < plan.idle.count) ? `\nNot every server reached ${plan.idle.count} idle connections; the figures are per connection actually opened.\n` : ''}
`;

const out = env.BENCH_OUT ?? fileURLToPath(new URL('docs/benchmarks.md', ROOT));
let shown = `${renderHeadline(summary)}\n\n${renderOtelOverhead(summary)}\n\n${renderLifecycleOverhead(summary)}\n\n${renderDetails(summary)}\n`;
if (out !== '-') {
  writeFileSync(out, markdown);
  const formatted = [out];
  // README.md quotes the ratios between its bench:ratios markers; kept in step with docs/benchmarks.md.
  const readme = readFileSync(README, 'utf8');
  if (env.BENCH_OUT === undefined && README_BLOCK.test(readme)) {
    const stamp = `Median ratios from the run of ${new Date(began).toISOString().slice(0, 10)} in [docs/benchmarks.md](docs/benchmarks.md):`;
    writeFileSync(README, readme.replace(README_BLOCK, `$1\n${stamp}\n\n${renderReadmeRatios(summary)}\n$2`));
    formatted.push(fileURLToPath(README));
  }
  // The repository's formatter aligns the tables (and keeps `biome check .` clean).
  const biome = fileURLToPath(new URL('node_modules/.bin/biome', ROOT));
  if (existsSync(biome)) spawnSync(biome, ['format', '--write', ...formatted], { stdio: 'ignore' });
  progress(`wrote ${formatted.join(', ')}`);
  const written = readFileSync(out, 'utf8');
  shown = written.slice(written.indexOf('## Summary'), written.indexOf('## How it is measured'));
  shown += written.slice(written.indexOf('## Details'), written.indexOf('## @wsgate/core decide()'));
}
process.stdout.write(`\n${shown}`);
if (results.problems.length > 0) {
  process.stdout.write(`\nProblems:\n${problems}\n`);
  process.exitCode = 1;
}
