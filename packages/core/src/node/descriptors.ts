/**
 * The file-descriptor limit (issue #12, item 6): at the limit the server stays up, says so once
 * per episode in the log with the limit and the fix, and serves again once descriptors free up.
 *
 * What happens at the limit, on Linux with Node 20 (packages/core/test/descriptors.test.ts runs a
 * child process under `prlimit --nofile`):
 * - Usually nothing reaches JavaScript: libuv keeps a reserve descriptor, and when `accept()` fails
 *   with EMFILE it closes the reserve, accepts and closes every pending connection, and reopens it
 *   (`uv__emfile_trick`). The clients see their connection closed unanswered; the server sees no
 *   event. So the watcher counts: on every `'connection'` past a threshold it counts the
 *   process's open descriptors, and a count at the limit starts an episode.
 * - When the reserve cannot be reopened, libuv reports the accept error and `net.Server` emits
 *   `'error'` (`syscall: 'accept'`, `EMFILE` or `ENFILE`); with no listener that crashes the
 *   process. The watcher's `'error'` listener takes exactly those; any other server error is
 *   rethrown when no other listener would see it, so the application crashes as it did before.
 *
 * One record at error level starts an episode (`SERVER_OUT_OF_FILE_DESCRIPTORS_MESSAGE`, with the
 * soft limit, the server's open connections and the fix); one at info ends it, once a margin of
 * connections closed. No timers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { eachLogger, type Logger } from '../logging.js';

/** The log message of a server that reached its file-descriptor limit. */
export const OUT_OF_DESCRIPTORS_MESSAGE = 'server out of file descriptors';
/** The log message once connections closed and descriptors are free again. */
export const DESCRIPTORS_AVAILABLE_MESSAGE = 'server file descriptors available again';

/** The record logged when a server reaches its file-descriptor limit. */
export interface OutOfDescriptorsRecord {
  /** `EMFILE` (the process's limit) or `ENFILE` (the system's). */
  readonly code: 'EMFILE' | 'ENFILE';
  /** The process's soft limit on open files, when it could be read (`/proc/self/limits`). */
  readonly limit?: number | undefined;
  /** The hard limit, up to which the soft one can be raised without privileges. */
  readonly hardLimit?: number | undefined;
  /** The server's open TCP connections at that moment. */
  readonly openConnections: number;
  /** How the episode was seen: the descriptor count, or the server's accept error. */
  readonly detectedBy: 'count' | 'accept-error';
  /** What to change. */
  readonly hint: string;
}

/** A process's limits on open files (`undefined`: unlimited or unknown). */
export interface OpenFilesLimit {
  readonly soft?: number | undefined;
  readonly hard?: number | undefined;
}

/** The soft and hard `Max open files` of `/proc/<pid>/limits` text, or `undefined`. */
export function parseOpenFilesLimit(text: string): OpenFilesLimit | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('Max open files')) continue;
    const [soft, hard] = line.slice('Max open files'.length).trim().split(/\s+/);
    return { soft: limitValue(soft), hard: limitValue(hard) };
  }
  return undefined;
}

function limitValue(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

function readOpenFilesLimit(): OpenFilesLimit {
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'latin1')) ?? {};
  } catch {
    return {};
  }
}

/**
 * The process's open descriptors (the listing's own included), `Infinity` when listing them
 * failed for lack of one, or `undefined` where no descriptor directory exists.
 */
function countOpenDescriptors(): number | undefined {
  for (const dir of ['/proc/self/fd', '/dev/fd']) {
    try {
      return readdirSync(dir).length;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'EMFILE' || code === 'ENFILE') return Number.POSITIVE_INFINITY;
    }
  }
  return undefined;
}

/** The fix, with the limit when known. */
export function outOfDescriptorsHint(code: 'EMFILE' | 'ENFILE', limit: number | undefined): string {
  if (code === 'ENFILE') {
    return 'The whole system is out of file descriptors (fs.file-max): raise it (sysctl fs.file-max) or find the process holding them; connections over the limit are closed unanswered meanwhile.';
  }
  const now = limit === undefined ? '' : ` (now ${limit})`;
  return `Each connection holds one file descriptor: raise the open-file limit${now} above the connections you expect (LimitNOFILE= in the systemd unit, ulimit -n before starting node, --ulimit nofile= for Docker), or cap connections below it (wsgate's maxConnections, server.maxConnections); connections over the limit are closed unanswered meanwhile.`;
}

/** How {@link watchDescriptors} reads the process (injectable for tests). */
export interface DescriptorProbe {
  /** The soft and hard limits. */
  readonly limits: () => OpenFilesLimit;
  /** The open descriptors, `Infinity` at the limit, `undefined` when unknown. */
  readonly count: () => number | undefined;
}

const defaultProbe: DescriptorProbe = { limits: readOpenFilesLimit, count: countOpenDescriptors };

const watchedServers = new WeakSet<Server>();

/** Whether a server error is `accept()` running out of descriptors (libuv's report of it). */
export function isAcceptExhaustion(error: unknown): error is Error & { code: 'EMFILE' | 'ENFILE' } {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  return syscall === 'accept' && (code === 'EMFILE' || code === 'ENFILE');
}

/**
 * Watches a server for the file-descriptor limit (idempotent): an `'error'` listener for accept
 * errors EMFILE/ENFILE (logged, the server keeps listening; any other error is rethrown when this
 * is the server's only `'error'` listener), and a count of the process's descriptors once the
 * server's connections come near the soft limit.
 *
 * @param loggers - Where the records go, read when one is written (endpoints register late).
 */
export function watchDescriptors(
  server: Server,
  loggers: () => Logger | readonly Logger[] | undefined,
  probe: DescriptorProbe = defaultProbe,
): void {
  if (watchedServers.has(server)) return;
  watchedServers.add(server);
  const { soft: limit, hard: hardLimit } = probe.limits();
  // The descriptors open now (files, the listener, libuv's own, connections so far) decide when
  // to count first: once this server's new connections come within the margin of the limit.
  const atStart = limit === undefined ? undefined : probe.count();
  const margin = limit === undefined ? 0 : Math.max(8, Math.ceil(limit * 0.05));
  // No limit or no way to count: only the accept error is seen.
  const counting = limit !== undefined && atStart !== undefined;
  let open = 0;
  /** This server's open connections at which to count again. */
  let nextCount = counting ? limit - margin - atStart : Number.POSITIVE_INFINITY;
  /** The open connections when the episode began, or `undefined` outside one. */
  let episode: number | undefined;

  const begin = (code: 'EMFILE' | 'ENFILE', detectedBy: OutOfDescriptorsRecord['detectedBy']) => {
    if (episode !== undefined) return;
    episode = open;
    const record: OutOfDescriptorsRecord = {
      code,
      limit,
      hardLimit,
      openConnections: open,
      detectedBy,
      hint: outOfDescriptorsHint(code, limit),
    };
    const to = loggers();
    if (hasAny(to)) eachLogger(to, (logger) => logger.error(record, OUT_OF_DESCRIPTORS_MESSAGE));
    // No logger configured: the process's own warning channel (stderr by default), so that it is
    // said somewhere.
    else process.emitWarning(`${OUT_OF_DESCRIPTORS_MESSAGE}: ${record.hint}`, { code: `WSGATE_${code}` });
  };

  server.on('error', (error: unknown) => {
    if (isAcceptExhaustion(error)) {
      begin(error.code, 'accept-error');
      return;
    }
    // Without this listener Node would have thrown the error out of emit(): do the same when no
    // other listener sees it (a `once(server, 'listening')`, the application's own).
    if (server.listenerCount('error') === 1) throw error;
  });

  server.on('connection', (socket: { once(event: 'close', listener: () => void): unknown }) => {
    open++;
    socket.once('close', () => {
      open--;
      if (episode !== undefined && open <= episode - margin) {
        episode = undefined;
        nextCount = open + 1;
        eachLogger(loggers(), (logger) =>
          logger.info({ code: 'EMFILE', limit, openConnections: open }, DESCRIPTORS_AVAILABLE_MESSAGE),
        );
      }
    });
    if (episode !== undefined || open < nextCount || limit === undefined) return;
    // Near the limit: count exactly. The listing holds a descriptor of its own while it counts, so
    // a count of `limit` (or no descriptor left to list with) means at most one is free: the next
    // connection takes it, and the ones after it are dropped.
    const count = probe.count();
    if (count === undefined) return;
    if (count >= limit) {
      begin('EMFILE', 'count');
      return;
    }
    // Count again once half the headroom left has gone to new connections: a few counts on the
    // way to the limit (about log2 of the margin), not one per connection, so that a server
    // holding a million descriptors does not list them for every handshake.
    nextCount = open + Math.max(1, Math.floor((limit - count) / 2));
  });
}

function hasAny(loggers: Logger | readonly Logger[] | undefined): boolean {
  return Array.isArray(loggers) ? loggers.length > 0 : loggers !== undefined;
}
