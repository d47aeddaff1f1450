/**
 * The server side of a sample, in its own process: starts one variant and answers the parent's
 * questions over IPC with its own CPU time and memory, so that nothing the load generator does
 * is counted.
 *
 *   node --expose-gc src/server-process.mjs <variant> [host]
 *
 * Messages in: `{ id, type: 'usage', gc?, logLines? }`, `{ id, type: 'stop' }`. With `logLines`, the
 * answer also counts the lines the variant's logger wrote to its file (the smoke test's check that
 * a logging-on variant logs one record per handshake; never asked while measuring).
 * Messages out: `{ type: 'ready', port }`, `{ type: 'failed', message }`, `{ id, usage }`.
 */
import { readFileSync } from 'node:fs';
import { VARIANTS } from './servers.mjs';

const [name, host = '127.0.0.1'] = process.argv.slice(2);

/** Lines in the variant's log file by message (`websocket handshake accepted`: 3, …), flushed first. */
function logLines() {
  if (!app.logFile) return undefined;
  app.logFile.flush();
  const counts = {};
  for (const line of readFileSync(app.logFile.path, 'utf8').split('\n')) {
    if (line === '') continue;
    const { msg } = JSON.parse(line);
    counts[msg] = (counts[msg] ?? 0) + 1;
  }
  return counts;
}

function usage(collect, countLines) {
  if (collect && typeof globalThis.gc === 'function') {
    // Twice: the first pass can leave work (weak callbacks, finalizers) for the second.
    globalThis.gc();
    globalThis.gc();
  }
  const memory = process.memoryUsage();
  return {
    cpuMicros: (({ user, system }) => user + system)(process.cpuUsage()),
    // resourceUsage().maxRSS is in kilobytes.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    logLines: countLines ? logLines() : undefined,
  };
}

const variant = VARIANTS[name];
if (!variant || !process.send) {
  process.stderr.write(`server-process: unknown variant "${name}" or no IPC channel\n`);
  process.exit(2);
}

let app;
try {
  app = await variant.start(host);
} catch (error) {
  process.send({ type: 'failed', message: error instanceof Error ? error.stack : String(error) });
  process.exit(1);
}

process.on('message', (message) => {
  if (message.type === 'usage')
    process.send({ id: message.id, usage: usage(message.gc === true, message.logLines === true) });
  // No graceful close: upgraded sockets are not the http server's to close. --cpu-prof still
  // writes its profile on process.exit().
  if (message.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', port: app.port });
