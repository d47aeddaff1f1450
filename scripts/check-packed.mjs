#!/usr/bin/env node
// The packages as users install them. Part of `pnpm verify`, after `pnpm build`:
//
// 1. `pnpm pack` every publishable package (packages/* without `"private": true`) into a temporary
//    directory — what `pnpm publish` would upload, `workspace:`/`catalog:` resolved;
// 2. publint and attw on those tarballs;
// 3. per framework major (the rows below), an ESM, a CommonJS and a strict `nodenext` TypeScript
//    project in os.tmpdir(), outside the workspace: plain `npm install` of the tarballs (no
//    --legacy-peer-deps; an ERESOLVE or EBADENGINE warning fails the check), `npm ls` clean, the
//    TypeScript one typechecks and compiles, then each runs one accepted and one rejected
//    handshake with the real `ws` client on port 0, @wsgate/otel instrumenting them (with its peer
//    @opentelemetry/api) — on every supported Node line.
//
// npm runs on the oldest supported Node line (so `engines` is checked as a user on it would see
// it) with `--prefer-offline`: reruns install from npm's cache.
//
//   node scripts/check-packed.mjs [--keep] [row-name-substring …]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_LINES, nodeBinary } from './node-lines.mjs';
import { npmEnv } from './npm-env.mjs';
import { appSource, EXPECTED_OUTPUT } from './packed/apps.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const only = args.filter((arg) => !arg.startsWith('--'));

/**
 * The supported framework majors, each with the versions a user would install (npm picks the
 * newest release in range), and rows pinning the oldest release each peer range admits.
 */
const ROWS = [
  { name: 'express-4', adapter: 'express', deps: { express: '^4.21.0' }, types: { '@types/express': '^4' } },
  {
    name: 'express-4.21.0',
    adapter: 'express',
    deps: { express: '4.21.0' },
    types: { '@types/express': '^4' },
  },
  { name: 'express-5', adapter: 'express', deps: { express: '^5.0.0' }, types: { '@types/express': '^5' } },
  { name: 'koa-2', adapter: 'koa', deps: { koa: '^2.15.0' }, types: { '@types/koa': '^2' } },
  { name: 'koa-2.15.0', adapter: 'koa', deps: { koa: '2.15.0' }, types: { '@types/koa': '^2' } },
  { name: 'koa-3', adapter: 'koa', deps: { koa: '^3.0.0' }, types: { '@types/koa': '^3' } },
  {
    name: 'fastify-5',
    adapter: 'fastify',
    deps: { fastify: '^5.0.0', '@fastify/websocket': '^11.0.0' },
    types: {},
  },
  {
    name: 'fastify-5.0.0-websocket-11.0.0',
    adapter: 'fastify',
    deps: { fastify: '5.0.0', '@fastify/websocket': '11.0.0' },
    types: {},
  },
];
const KINDS = ['esm', 'cjs', 'ts'];

const log = (line) => process.stdout.write(`check-packed: ${line}\n`);
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const typescriptVersion = JSON.parse(
  readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8'),
).version;

/** Runs a command; resolves with its output, rejects (with the output) on a non-zero exit. */
function run(command, argv, { cwd, env = process.env, quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        output += chunk;
        if (!quiet) process.stdout.write(chunk);
      });
    }
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${argv.join(' ')} (in ${cwd}) exited with ${code}:\n${output}`));
    });
  });
}

/** Runs `tasks` (functions returning promises) `width` at a time; rejects with every failure. */
async function pool(tasks, width) {
  const failures = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      await task().catch((error) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} of ${tasks.length} failed`);
}

const pnpmCommand = () => {
  // Inside `pnpm run`, npm_execpath is pnpm's own entry point; otherwise the pinned pnpm via npx.
  const execpath = process.env.npm_execpath ?? '';
  return /pnpm/.test(execpath)
    ? [process.execPath, [execpath]]
    : ['npx', ['--yes', rootManifest.packageManager]];
};

async function packAll(dir) {
  const publishable = readdirSync(join(root, 'packages'))
    .map((name) => ({
      dir: join(root, 'packages', name),
      file: join(root, 'packages', name, 'package.json'),
    }))
    .filter(({ file }) => {
      try {
        return JSON.parse(readFileSync(file, 'utf8')).private !== true;
      } catch {
        return false;
      }
    })
    .map(({ dir: packageDir, file }) => ({
      dir: packageDir,
      manifest: JSON.parse(readFileSync(file, 'utf8')),
    }));
  const [pnpm, prefix] = pnpmCommand();
  if (publishable.length === 0) throw new Error('no publishable package under packages/ (all are private)');
  const tarballs = new Map();
  for (const { dir: packageDir, manifest } of publishable) {
    const before = new Set(readdirSync(dir));
    await run(pnpm, [...prefix, 'pack', '--pack-destination', dir], { cwd: packageDir });
    const made = readdirSync(dir).filter((name) => !before.has(name) && name.endsWith('.tgz'));
    if (made.length !== 1)
      throw new Error(`pnpm pack of ${manifest.name} made ${made.join(', ') || 'nothing'}`);
    tarballs.set(manifest.name, join(dir, made[0]));
  }
  return tarballs;
}

/** What the tarball's own manifest says (after pnpm resolved the specifiers). */
async function tarballManifest(tarball) {
  const text = await run('tar', ['-xzOf', tarball, 'package/package.json']);
  return JSON.parse(text);
}

async function checkTarball(name, tarball) {
  const files = (await run('tar', ['-tzf', tarball])).split('\n').filter(Boolean);
  for (const required of ['package/LICENSE', 'package/README.md', 'package/package.json']) {
    if (!files.includes(required)) throw new Error(`${name}: the tarball has no ${required.slice(8)}`);
  }
  const license = await run('tar', ['-xzOf', tarball, 'package/LICENSE']);
  if (license !== readFileSync(join(root, 'LICENSE'), 'utf8')) {
    throw new Error(`${name}: the tarball's LICENSE differs from the repository's`);
  }
  const manifest = await tarballManifest(tarball);
  const unresolved = JSON.stringify({ ...manifest.dependencies, ...manifest.peerDependencies }).match(
    /"(workspace|catalog):[^"]*"/g,
  );
  if (unresolved) throw new Error(`${name}: the tarball's manifest still has ${unresolved.join(', ')}`);
  const bin = (tool) => join(root, 'node_modules', '.bin', tool);
  await run(bin('publint'), ['run', tarball, '--strict']);
  await run(bin('attw'), [tarball, '--profile', 'node16', '--format', 'ascii']);
  log(`${name}: LICENSE, README, resolved specifiers, publint --strict and attw (node16) pass`);
}

function projectFiles(row, kind, tarballs) {
  const adapter = `@wsgate/${row.adapter}`;
  const dependencies = {
    [adapter]: `file:${tarballs.get(adapter)}`,
    // @wsgate/core is not on the registry yet at this version: its tarball stands in for it.
    '@wsgate/core': `file:${tarballs.get('@wsgate/core')}`,
    '@wsgate/otel': `file:${tarballs.get('@wsgate/otel')}`,
    '@opentelemetry/api': '^1.9.0',
    ...row.deps,
    ws: '^8.18.0',
  };
  const manifest = {
    name: `wsgate-packed-${row.name}-${kind}`,
    private: true,
    type: kind === 'cjs' ? 'commonjs' : 'module',
    dependencies,
    ...(kind === 'ts'
      ? {
          devDependencies: {
            ...row.types,
            '@types/node': `^${NODE_LINES[0]}`,
            typescript: typescriptVersion,
          },
        }
      : {}),
  };
  const files = { 'package.json': `${JSON.stringify(manifest, null, 2)}\n` };
  if (kind === 'ts') {
    files['src/index.ts'] = appSource(row.adapter, 'esm');
    files['tsconfig.json'] = `${JSON.stringify(
      {
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          verbatimModuleSyntax: true,
          skipLibCheck: false,
          types: ['node'],
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src'],
      },
      null,
      2,
    )}\n`;
  } else {
    files[kind === 'cjs' ? 'index.js' : 'index.mjs'] = appSource(row.adapter, kind);
  }
  return files;
}

async function checkProject(base, row, kind, tarballs, projectEnv, nodes) {
  const dir = join(base, `${row.name}-${kind}`);
  for (const [file, text] of Object.entries(projectFiles(row, kind, tarballs))) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const npm = (...argv) => run('npm', argv, { cwd: dir, env: projectEnv });
  const installed = await npm('install', '--prefer-offline', '--no-audit', '--no-fund');
  const warnings = installed.split('\n').filter((line) => /ERESOLVE|EBADENGINE|peer dep/i.test(line));
  if (warnings.length > 0)
    throw new Error(`${row.name}-${kind}: npm install warned:\n${warnings.join('\n')}`);
  await npm('ls', '--all');
  if (kind === 'ts')
    await run(nodes[0].binary, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc')], { cwd: dir });
  const entry = { esm: 'index.mjs', cjs: 'index.js', ts: join('dist', 'index.js') }[kind];
  const lines = [];
  for (const { binary, version } of nodes) {
    const output = (await run(binary, [entry], { cwd: dir })).trim();
    if (output !== EXPECTED_OUTPUT) {
      throw new Error(
        `${row.name}-${kind} on Node ${version}: printed\n  ${output}\nexpected\n  ${EXPECTED_OUTPUT}`,
      );
    }
    lines.push(version);
  }
  const got = Object.keys(row.deps)
    .map(
      (name) =>
        `${name}@${JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version}`,
    )
    .join(' ');
  log(
    `${row.name}-${kind} (${got}): npm install + npm ls clean${kind === 'ts' ? ', tsc strict nodenext' : ''}, handshakes on ${lines.join(', ')}`,
  );
}

const started = performance.now();
const nodes = NODE_LINES.map((major) => nodeBinary(major, { log }));
const projectEnv = npmEnv(process.env, {
  PATH: `${dirname(nodes[0].binary)}${delimiter}${process.env.PATH}`,
});
const base = mkdtempSync(join(tmpdir(), 'wsgate-packed-'));
try {
  const tarballDir = join(base, 'tarballs');
  mkdirSync(tarballDir);
  const tarballs = await packAll(tarballDir);
  log(`packed ${[...tarballs.keys()].join(', ')} into ${tarballDir}`);
  await pool(
    [...tarballs].map(
      ([name, tarball]) =>
        () =>
          checkTarball(name, tarball),
    ),
    2,
  );
  const rows = ROWS.filter((row) => only.length === 0 || only.some((part) => row.name.includes(part)));
  if (rows.length === 0) {
    throw new Error(
      `no row matches ${only.join(', ')}; the rows are ${ROWS.map((row) => row.name).join(', ')}`,
    );
  }
  await pool(
    rows.flatMap((row) =>
      KINDS.map((kind) => () => checkProject(base, row, kind, tarballs, projectEnv, nodes)),
    ),
    2,
  );
  log(
    `${rows.length * KINDS.length} projects passed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
} catch (error) {
  const failures = error instanceof AggregateError ? error.errors : [error];
  for (const failure of failures) process.stderr.write(`check-packed: ${failure.message}\n`);
  process.exitCode = 1;
} finally {
  if (keep) log(`kept ${base}`);
  else rmSync(base, { recursive: true, force: true });
}
