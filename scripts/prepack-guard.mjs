#!/usr/bin/env node
// `prepack`/`prepublishOnly` of every publishable package: fails an `npm pack`/`npm publish` (or any
// tool other than pnpm) of a package whose manifest still holds pnpm-only specifiers. Only
// `pnpm pack`/`pnpm publish` replace `workspace:` and `catalog:` with real versions in the tarball;
// npm would ship them as they are, and every install of that tarball would fail.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
// npm_execpath is the package manager running this script (npm sets its own even when it runs
// inside a pnpm script, whose npm_config_user_agent it would inherit).
const tool = basename(process.env.npm_execpath ?? '').replace(/(-cli)?\.[cm]?js$/, '');
if (!tool.startsWith('pnpm')) {
  const unresolved = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'].flatMap(
    (field) =>
      Object.entries(manifest[field] ?? {})
        .filter(([, spec]) => /^(workspace|catalog):/.test(String(spec)))
        .map(([name, spec]) => `${field}.${name}: "${spec}"`),
  );
  if (unresolved.length > 0) {
    process.stderr.write(
      `${manifest.name}: refusing to pack with ${tool || 'this tool'}: package.json has pnpm-only specifiers it would ship unresolved:\n` +
        unresolved.map((line) => `  ${line}\n`).join('') +
        'Pack and publish with pnpm (`pnpm pack`, `pnpm publish`, or the release flow in the README), which replaces them with versions.\n',
    );
    process.exit(1);
  }
}
