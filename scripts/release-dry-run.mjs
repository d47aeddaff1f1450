#!/usr/bin/env node
// The release flow of the README, without releasing: part of `pnpm verify`, after `pnpm build`.
//
// 1. `changeset status`: every changeset parses, and the release plan is printed;
// 2. in a copy of the repository's files (tracked or not ignored) (plus the built `dist` of each package), outside
//    the workspace: `changeset version` (versions bumped, changelogs written, as a release would),
//    a frozen offline `pnpm install`, then `pnpm publish -r --dry-run` — what `changeset publish`
//    runs — which packs every publishable package at its new version through its prepack guard and
//    stops short of uploading. The check then reads what would be published.
//
// The copy is removed afterwards; the repository is not touched.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_LINES, nodeBinary } from './node-lines.mjs';
import { npmEnv } from './npm-env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line) => process.stdout.write(`release-dry-run: ${line}\n`);
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// pnpm runs the packages' lifecycle scripts: on the oldest supported Node, as a release machine would.
const node = nodeBinary(NODE_LINES[0], { log });
const env = npmEnv(process.env, { PATH: `${dirname(node.binary)}${delimiter}${process.env.PATH}` });

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8' });
  if (result.error) throw result.error;
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    process.stderr.write(output);
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${result.status}`);
  }
  return output;
}
const changeset = (cwd, ...args) =>
  run(node.binary, [join(root, 'node_modules', '@changesets', 'cli', 'bin.js'), ...args], cwd);
const pnpm = (cwd, ...args) => run('npx', ['--yes', packageManager, ...args], cwd);

process.stdout.write(changeset(root, 'status', '--verbose'));
const pending = readdirSync(join(root, '.changeset')).filter(
  (file) => file.endsWith('.md') && file !== 'README.md',
);
if (pending.length === 0) {
  log('no pending changesets: nothing would be released');
  process.exit(0);
}

const copy = mkdtempSync(join(tmpdir(), 'wsgate-release-'));
try {
  const tracked = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root)
    .split('\0')
    .filter(Boolean);
  for (const file of tracked) if (existsSync(join(root, file))) cpSync(join(root, file), join(copy, file));
  const publishable = readdirSync(join(copy, 'packages')).filter(
    (name) => JSON.parse(readFileSync(join(copy, 'packages', name, 'package.json'), 'utf8')).private !== true,
  );
  for (const name of publishable) {
    const dist = join(root, 'packages', name, 'dist');
    if (!existsSync(dist)) throw new Error(`packages/${name}/dist is missing: run pnpm build first`);
    cpSync(dist, join(copy, 'packages', name, 'dist'), { recursive: true });
  }
  changeset(copy, 'version');
  pnpm(copy, 'install', '--frozen-lockfile', '--offline', '--ignore-scripts');
  const published = pnpm(copy, 'publish', '-r', '--dry-run', '--no-git-checks');
  const would = [...published.matchAll(/^\+ (@wsgate\/[\w-]+)@(\S+)$/gm)].map((m) => `${m[1]}@${m[2]}`);
  const expected = publishable.map((name) => {
    const manifest = JSON.parse(readFileSync(join(copy, 'packages', name, 'package.json'), 'utf8'));
    return `${manifest.name}@${manifest.version}`;
  });
  const missing = expected.filter((id) => !would.includes(id));
  if (missing.length > 0) {
    process.stderr.write(published);
    throw new Error(`pnpm publish --dry-run did not get to ${missing.join(', ')}`);
  }
  for (const name of publishable) {
    const changelog = join(copy, 'packages', name, 'CHANGELOG.md');
    if (!existsSync(changelog)) throw new Error(`changeset version wrote no packages/${name}/CHANGELOG.md`);
  }
  log(`changeset version + pnpm publish -r --dry-run would publish ${would.join(', ')}`);
} finally {
  rmSync(copy, { recursive: true, force: true });
}
