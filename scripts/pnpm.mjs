#!/usr/bin/env node
// Runs a root script with the pnpm version pinned in package.json's `packageManager`,
// after a frozen install. It needs nothing but Node and npm: pnpm comes from the npm
// registry through `npx` (Corepack is not used; its signature check fails on some registries).
//
//   node scripts/pnpm.mjs <script> [args...]
//   node scripts/pnpm.mjs --node <file.mjs> [args...]   (after the install, run a Node script directly)
//
// `--node` is for long-running scripts stopped with Ctrl-C (`npm start`): no pnpm stands between
// the terminal and the script, so nothing reports the stop as a failed command.
//
// On a Node older than the oldest supported line (scripts/node-lines.mjs), pnpm and everything it
// runs use that line's binary from the npm registry (cached, as for `pnpm test:node-lines`): the
// packages' `engines` hold, and the machine's Node only starts this script.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_LINES, nodeBinary } from './node-lines.mjs';

const root = new URL('..', import.meta.url);
const { packageManager } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const [script, ...args] = process.argv.slice(2);
if (!script || (script === '--node' && !args[0])) {
  process.stderr.write('usage: node scripts/pnpm.mjs <script> [args...] | --node <file.mjs> [args...]\n');
  process.exit(2);
}

const env = { ...process.env, COREPACK_ENABLE_STRICT: '0' };
let node = process.execPath;
if (Number(process.versions.node.split('.')[0]) < NODE_LINES[0]) {
  const log = (line) => process.stderr.write(`pnpm.mjs: ${line}\n`);
  const oldest = nodeBinary(NODE_LINES[0], { log });
  log(
    `Node ${process.version} is older than the supported lines (${NODE_LINES.join(', ')}): running on ${oldest.version}`,
  );
  node = oldest.binary;
  env.PATH = `${dirname(oldest.binary)}${delimiter}${env.PATH ?? ''}`;
}

function run(command, argv) {
  const result = spawnSync(command, argv, { cwd: root, stdio: 'inherit', env });
  if (result.error) throw result.error;
  if (result.signal) process.exit(128 + (os.constants.signals[result.signal] ?? 0));
  if (result.status !== 0) process.exit(result.status ?? 1);
}
const pnpm = (...argv) => run('npx', ['--yes', packageManager, ...argv]);

// Ctrl-C reaches every process of the terminal's group: let the script decide how to stop, and
// exit with its status, instead of dying first and leaving its last lines unprinted.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});

pnpm('install', '--frozen-lockfile');
if (script === '--node') run(node, [fileURLToPath(new URL(args[0], root)), ...args.slice(1)]);
else pnpm('run', script, ...args);
