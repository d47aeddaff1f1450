#!/usr/bin/env node
// Starts every example server (examples/*, each with its own `start` script and PORT), prefixes
// their output with the example's name, and stops them all on Ctrl-C. Run through `npm start`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ports = { express: 3001, koa: 3002, fastify: 3003 };
const examples = readdirSync(join(root, 'examples')).filter((name) =>
  existsSync(join(root, 'examples', name, 'package.json')),
);

const children = examples.map((name) => {
  const child = spawn('pnpm', ['--dir', join('examples', name), 'start'], {
    cwd: root,
    env: { ...process.env, PORT: String(process.env[`PORT_${name.toUpperCase()}`] ?? ports[name] ?? 0) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
  child.on('exit', (code) => {
    process.stdout.write(`[${name}] exited with ${code}\n`);
    if (code !== 0 && code !== null) shutdown(code);
  });
  return child;
});

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.stdout.write(`starting ${examples.join(', ')} (Ctrl-C stops them)\n`);
