#!/usr/bin/env node
// Runs the unit, conformance and example tests once per supported Node line (scripts/node-lines.mjs),
// each under the binary of that line from the npm registry (cached between runs). Part of
// `pnpm verify`. The type tests and the end-to-end tests are not repeated: they do not depend on
// the Node line, and the full `vitest run` already runs them.
//
//   node scripts/node-matrix.mjs [--refresh] [--except-current] [22 24 …] [-- extra vitest args]
//
// `--except-current` leaves out the line this process runs on (`pnpm verify` passes it: its full
// `vitest run` already ran every test on that line).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_LINES, nodeBinary } from './node-lines.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const separator = argv.indexOf('--');
const own = separator === -1 ? argv : argv.slice(0, separator);
const extra = separator === -1 ? [] : argv.slice(separator + 1);
const refresh = own.includes('--refresh');
const requested = own.filter((arg) => /^\d+$/.test(arg)).map(Number);
const unknown = requested.filter((major) => !NODE_LINES.includes(major));
if (unknown.length > 0) {
  process.stderr.write(
    `node-matrix: ${unknown.join(', ')} not among the supported lines ${NODE_LINES.join(', ')}\n`,
  );
  process.exit(2);
}
const current = Number(process.versions.node.split('.')[0]);
const lines = (requested.length > 0 ? requested : NODE_LINES).filter(
  (major) => !(own.includes('--except-current') && major === current),
);
if (lines.length < (requested.length > 0 ? requested : NODE_LINES).length) {
  process.stdout.write(
    `node-matrix: Node ${current}: left out, the full vitest run ran on it (--except-current)\n`,
  );
}

/** The suites that run on every line: everything whose behaviour could depend on Node. */
const SUITES = [
  'packages/core',
  'packages/express',
  'packages/koa',
  'packages/fastify',
  'examples',
  'scripts',
];
const log = (line) => process.stdout.write(`node-matrix: ${line}\n`);

const results = [];
for (const major of lines) {
  const started = performance.now();
  const { binary, version, installed } = nodeBinary(major, { refresh, log });
  const ready = performance.now();
  log(`Node ${version}${installed ? ' (installed now)' : ' (cached)'}: vitest run ${SUITES.join(' ')}`);
  const run = spawnSync(
    binary,
    [
      join(root, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--typecheck.enabled=false',
      '--reporter=dot',
      ...SUITES,
      ...extra,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, WSGATE_EXPECT_NODE_MAJOR: String(major) } },
  );
  if (run.error) throw run.error;
  const done = performance.now();
  results.push({
    version,
    install: (ready - started) / 1000,
    tests: (done - ready) / 1000,
    status: run.status,
  });
}

for (const { version, install, tests, status } of results) {
  log(
    `${version}: ${status === 0 ? 'passed' : `FAILED (exit ${status})`} in ${tests.toFixed(1)} s (+${install.toFixed(1)} s to get Node)`,
  );
}
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
