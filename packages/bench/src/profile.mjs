/**
 * Where a server spends its time in one scenario: runs the server with `node --cpu-prof`, drives
 * it like a benchmark sample, and prints self time by package and the top functions.
 *
 *   node src/profile.mjs <variant> <scenario> [count]
 *   node src/profile.mjs express-wsgate bad-origin 20000
 *
 * The .cpuprofile is kept (its path is printed) for Chrome DevTools or speedscope.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handshakeSample, pinLoadGenerator } from './harness.mjs';
import { HANDSHAKES } from './requests.mjs';
import { VARIANTS } from './servers.mjs';

const [variant, scenario = 'accepted', count = '10000'] = process.argv.slice(2);
if (!variant || !VARIANTS[variant] || !HANDSHAKES[scenario]) {
  process.stderr.write(
    `usage: node src/profile.mjs <${Object.keys(VARIANTS).join('|')}> <${Object.keys(HANDSHAKES).join('|')}> [count]\n`,
  );
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'wsgate-profile-'));
const cpu = process.env.BENCH_PIN === '0' ? undefined : pinLoadGenerator();
const sample = await handshakeSample(variant, {
  scenario,
  count: Number(count),
  warmup: 500,
  cpu,
  cpuProfileDir: dir,
  build: process.env.BENCH_BUILD === 'source' ? 'source' : 'dist',
});
process.stdout.write(
  `${variant} ${scenario}: ${Math.round(sample.perSecond)} handshakes/s, ${sample.cpuMicrosPer.toFixed(0)} µs CPU each (profiler on)\n`,
);

const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
if (!file) {
  process.stderr.write(`no profile written in ${dir}\n`);
  process.exit(1);
}
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));

// Self time per node: samples × the mean interval.
const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length); // µs per sample
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);

/** Which package a script belongs to: `pkg` for node_modules, `@wsgate/x` for the workspace, node internals. */
function ownerOf(url) {
  if (!url) return '(native/gc/idle)';
  if (url.startsWith('node:')) return 'node';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const ws = url.match(/\/packages\/([^/]+)\//);
  if (ws) return `@wsgate/${ws[1]}`;
  return url;
}

const byOwner = new Map();
const byFunction = new Map();
let total = 0;
for (const node of profile.nodes) {
  const n = hits.get(node.id) ?? 0;
  if (n === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === '(idle)') continue;
  total += n;
  const owner = ownerOf(url);
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + n);
  const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|packages)\//, '')}:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + n);
}

// Inclusive time of workspace functions (wsgate's own code): each sample counts once for every
// distinct wsgate function on its stack.
const parent = new Map();
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map();
for (const [id, n] of hits) {
  if (byId.get(id).callFrame.functionName === '(idle)') continue;
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const { functionName, url, lineNumber } = byId.get(at).callFrame;
    if (!ownerOf(url).startsWith('@wsgate/')) continue;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/packages\//, '')}:${lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + n);
  }
}

const show = (map, limit) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(
      ([name, n]) =>
        `${((n / total) * 100).toFixed(1).padStart(5)} %  ${((n * interval) / 1000).toFixed(0).padStart(6)} ms  ${name}`,
    )
    .join('\n');

process.stdout.write(`\nself time by package (busy samples only):\n${show(byOwner, 15)}\n`);
process.stdout.write(`\ntop functions by self time:\n${show(byFunction, 30)}\n`);
process.stdout.write(`\nwsgate functions by inclusive time:\n${show(inclusive, 25)}\n`);
process.stdout.write(`\nprofile: ${join(dir, file)}\n`);
