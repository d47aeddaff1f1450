#!/usr/bin/env node
// `npm start`: starts every example server (examples/*/src/server.ts, run directly with Node and
// tsx, each on its PORT) and a page at http://localhost:5173/ that opens their endpoints from the
// browser and shows each outcome next to the server's own log record for it. The servers log with
// pino on stdout; this script reads those JSON lines, prints a one-line summary of each handshake
// record, and hands the records to the page (`GET /records`). Ctrl-C stops everything, exit 0.
//
// Ports: PORT_EXPRESS, PORT_KOA, PORT_FASTIFY (3001–3003) and DEMO_PORT (5173, the origin the
// reference apps' /chat allows); 0 picks a free one.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_PORTS = { express: 3001, koa: 3002, fastify: 3003 };
const examples = readdirSync(join(root, 'examples')).filter((name) =>
  existsSync(join(root, 'examples', name, 'src', 'server.ts')),
);
const page = readFileSync(join(root, 'scripts', 'demo', 'page.html'), 'utf8');
const say = (line) => process.stdout.write(`${line}\n`);

function portFrom(variable, fallback) {
  const value = process.env[variable];
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`demo: ${variable}=${value} is not a port (0–65535; 0 picks a free one)\n`);
    process.exit(2);
  }
  return port;
}

/** Handshake records from the servers' logs, oldest first, and the page requests waiting for one. */
const records = [];
let waiting = [];
function addRecord(example, record) {
  records.push({ seq: records.length + 1, example, ...record });
  const still = [];
  for (const waiter of waiting) if (!waiter.answer()) still.push(waiter);
  waiting = still;
}
const matching = ({ after, example, path }) =>
  records.find((r) => r.seq > after && r.example === example && (path === undefined || r.path === path));

const listening = new Map();
let stopping = false;
const children = examples.map((name) => {
  const port = portFrom(`PORT_${name.toUpperCase()}`, DEFAULT_PORTS[name] ?? 0);
  // Node and tsx directly (not a nested `pnpm start`): the example gets Ctrl-C itself, and no
  // package manager reports its exit as a failed command.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@wsgate/source', 'src/server.ts'], {
    cwd: join(root, 'examples', name),
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(name, line);
    });
  }
  child.on('exit', (code, signal) => {
    listening.delete(name);
    if (!stopping) {
      say(`[${name}] exited with ${code ?? signal}`);
      shutdown(1);
    }
  });
  return child;
});

function onLine(name, line) {
  if (!line.trim()) return;
  let record;
  try {
    record = JSON.parse(line);
  } catch {
    const address = /^listening on (http:\/\/\S+)$/.exec(line.trim());
    if (address) {
      listening.set(name, address[1]);
      announce();
    } else say(`[${name}] ${line}`);
    return;
  }
  if (typeof record.outcome !== 'string') return; // Fastify's request/response lines
  addRecord(name, record);
  const code = record.code ? ` ${record.code}` : record.protocol ? ` (${record.protocol})` : '';
  say(
    `[${name}] ${record.outcome} ${record.status}${code} ${record.path}${record.origin ? ` from ${record.origin}` : ''}`,
  );
}

const pageServer = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://demo');
  if (url.pathname === '/records') {
    const after = Number(url.searchParams.get('after') ?? 0);
    const example = url.searchParams.get('example') ?? '';
    const path = url.searchParams.get('path') ?? undefined;
    const query = { after, example, path };
    const answer = () => {
      const found = matching(query);
      if (found === undefined) return false;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(found));
      return true;
    };
    // Long poll: the record may reach this process after the browser saw the handshake end.
    if (!answer()) {
      const waiter = { answer };
      waiting.push(waiter);
      req.on('close', () => {
        waiting = waiting.filter((w) => w !== waiter);
      });
    }
    return;
  }
  if (url.pathname === '/records/latest') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ seq: records.length }));
    return;
  }
  if (url.pathname !== '/') {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  const servers = examples.map((name) => ({ name, http: listening.get(name) }));
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(page.replace('/*SERVERS*/null', JSON.stringify(servers)));
});
pageServer.listen(portFrom('DEMO_PORT', 5173), '127.0.0.1');
pageServer.on('listening', announce);
pageServer.on('error', (error) => {
  process.stderr.write(`demo: the page server cannot listen: ${error.message}\n`);
  shutdown(1);
});

let announced = false;
function announce() {
  if (announced || !pageServer.listening || listening.size < examples.length) return;
  announced = true;
  const { port } = pageServer.address();
  say('');
  say(`wsgate demo: open http://localhost:${port}/ in a browser (Ctrl-C stops everything)`);
  say('');
  for (const name of examples) {
    const ws = listening.get(name).replace(/^http/, 'ws');
    say(`  ${name.padEnd(8)} ${listening.get(name)}/health`);
    say(`  ${''.padEnd(8)} ${ws}/echo     any origin, echoes every message`);
    say(`  ${''.padEnd(8)} ${ws}/chat     subprotocol chat.v2 or chat.v1, only from http://localhost:5173`);
    say(`  ${''.padEnd(8)} ${ws}/private  needs ?ticket=letmein (or Authorization: Bearer letmein)`);
  }
  say('');
}

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  pageServer.closeAllConnections();
  pageServer.close();
  // Each example closes its server and exits 0 on SIGTERM (and on the terminal's own SIGINT).
  const exits = children.map(
    (child) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  );
  const force = setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
  }, 5_000).unref();
  void Promise.all(exits).then(() => {
    clearTimeout(force);
    say('stopped');
    process.exit(code);
  });
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
say(`starting ${examples.join(', ')}…`);
