#!/usr/bin/env node
// Runs a root script with the pnpm version pinned in package.json's `packageManager`,
// after a frozen install. It needs nothing but Node and npm: pnpm comes from the npm
// registry through `npx` (Corepack is not used; its signature check fails on some registries).
//
//   node scripts/pnpm.mjs <script> [args...]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { packageManager } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const [script, ...args] = process.argv.slice(2);
if (!script) {
  process.stderr.write('usage: node scripts/pnpm.mjs <script> [args...]\n');
  process.exit(2);
}

function pnpm(...argv) {
  const result = spawnSync('npx', ['--yes', packageManager, ...argv], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, COREPACK_ENABLE_STRICT: '0' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

pnpm('install', '--frozen-lockfile');
pnpm('run', script, ...args);
