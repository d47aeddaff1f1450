/**
 * Micro-benchmark of @wsgate/core's decision: how many handshakes per second one gate decides.
 *
 *   pnpm --dir packages/core build && pnpm --dir packages/core bench
 *
 * Runs each scenario for a fixed time (BENCH_SECONDS, default 2) after a short warm-up and prints a
 * table. Each iteration builds the request from raw headers as `readRequest` does, so the numbers
 * include header parsing. Not a test: nothing here asserts a timing.
 *
 * The rows are also written to node_modules/.cache/wsgate-bench/decide.json at the repository
 * root, where the end-to-end benchmark (packages/bench, run next by `pnpm bench`) picks them up.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createGate, RequestHeaders } from '../dist/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const WARMUP_MS = 300;
const BATCH = 500;

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** What Chrome sends for new WebSocket('ws://example.com/chat', ['chat.v2']). */
const chrome = [
  ['Host', 'example.com'],
  ['Connection', 'Upgrade'],
  ['Pragma', 'no-cache'],
  ['Cache-Control', 'no-cache'],
  ['User-Agent', UA],
  ['Upgrade', 'websocket'],
  ['Origin', 'http://example.com'],
  ['Sec-WebSocket-Version', '13'],
  ['Accept-Encoding', 'gzip, deflate, br, zstd'],
  ['Accept-Language', 'en-US,en;q=0.9'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
  ['Sec-WebSocket-Protocol', 'chat.v2'],
].flat();

/** The same handshake after nginx with proxy_http_version 1.1 but no proxy_set_header lines. */
const nginxStripped = [
  ['Host', 'backend'],
  ['Connection', 'close'],
  ['Pragma', 'no-cache'],
  ['Cache-Control', 'no-cache'],
  ['User-Agent', UA],
  ['Origin', 'http://example.com'],
  ['Sec-WebSocket-Version', '13'],
  ['Accept-Encoding', 'gzip, deflate, br, zstd'],
  ['Accept-Language', 'en-US,en;q=0.9'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
  ['Sec-WebSocket-Protocol', 'chat.v2'],
].flat();

const gate = createGate({ protocols: ['chat.v2', 'chat.v1'], perMessageDeflate: true, production: true });

function requestOf(raw, arrival) {
  return {
    method: 'GET',
    url: '/chat?room=1',
    httpVersion: '1.1',
    headers: new RequestHeaders(raw),
    arrival,
    remoteAddress: '127.0.0.1',
    secure: false,
  };
}

const scenarios = [
  {
    name: 'accept: Chrome handshake',
    expect: 'accept',
    run: () => gate.decide(requestOf(chrome, 'upgrade'), undefined),
  },
  {
    name: 'reject: nginx-stripped (decide)',
    expect: 'UPGRADE_HEADERS_STRIPPED',
    run: () => gate.decide(requestOf(nginxStripped, 'request'), undefined),
  },
  {
    name: 'reject: nginx-stripped (decide + render)',
    expect: 'UPGRADE_HEADERS_STRIPPED',
    run: async () => {
      const request = requestOf(nginxStripped, 'request');
      const decision = await gate.decide(request, undefined);
      gate.render(decision, request);
      return decision;
    },
  },
];

async function measure(run, ms) {
  let iterations = 0;
  const start = performance.now();
  const deadline = start + ms;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < BATCH; i++) await run();
    iterations += BATCH;
    now = performance.now();
  }
  return { iterations, elapsedMs: now - start };
}

const rows = [];
for (const scenario of scenarios) {
  const sample = await scenario.run();
  const outcome = sample.kind === 'reject' ? sample.error.code : sample.kind;
  if (outcome !== scenario.expect) {
    throw new Error(`${scenario.name}: expected ${scenario.expect}, got ${outcome}`);
  }
  await measure(scenario.run, WARMUP_MS);
  const { iterations, elapsedMs } = await measure(scenario.run, SECONDS * 1000);
  rows.push({
    scenario: scenario.name,
    'decisions/s': Math.round((iterations / elapsedMs) * 1000).toLocaleString('en-US'),
    'µs/decision': ((elapsedMs * 1000) / iterations).toFixed(2),
    iterations: iterations.toLocaleString('en-US'),
  });
}

console.log(`@wsgate/core decide() — Node ${process.version}, ${SECONDS}s per scenario`);
console.table(rows);

const results = new URL('../../../node_modules/.cache/wsgate-bench/', import.meta.url);
mkdirSync(results, { recursive: true });
writeFileSync(
  new URL('decide.json', results),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, seconds: SECONDS, rows }, null, 2),
);
