/**
 * The load generator: raw TCP handshakes at a fixed concurrency, idle connections, and echo
 * round-trips. Everything is bounded in count and in time, and targets loopback only.
 *
 * Handshakes use raw `net` sockets with prebuilt request bytes, so the client costs the same for
 * every server and malformed requests are possible. A 101 is followed by a close frame and the
 * close handshake; any other response is read to its end (Content-Length, chunked, or the
 * server closing) and the socket is closed.
 */
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { ALLOWED_ORIGIN, CHAT_PATH, CLIENT_CLOSE_FRAME, HANDSHAKES } from './requests.mjs';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/**
 * Parses a response head: status, and the headers the load generator needs.
 * @returns {{ status: number, headers: Map<string, string> }}
 */
function parseHead(text) {
  const lines = text.split('\r\n');
  const status = Number(lines[0]?.slice(9, 12));
  const headers = new Map();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers };
}

/**
 * One handshake on a fresh connection. Resolves (never rejects) with the status (0 when the
 * connection failed or closed before a response), the time to the complete response head (101)
 * or the complete response (anything else), and the negotiated subprotocol.
 */
function handshakeOnce(target, request, sockets) {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ port: target.port, host: target.host, noDelay: true });
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    let result;
    let bodyNeeded = -1; // -1: head not complete yet
    let chunked = false;
    const finish = () => {
      if (!result) return;
      socket.destroy();
    };
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      if (!result) result = { status: 0, latencyMs: performance.now() - started, protocol: undefined };
      resolve(result);
    });
    socket.on('data', (chunk) => {
      if (result && result.status === 101) return; // the server's close frame; wait for its FIN
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (bodyNeeded === -1) {
        const end = buffered.indexOf(CRLFCRLF);
        if (end === -1) return;
        const head = parseHead(buffered.toString('latin1', 0, end));
        buffered = buffered.subarray(end + 4);
        if (head.status === 101) {
          result = {
            status: 101,
            latencyMs: performance.now() - started,
            protocol: head.headers.get('sec-websocket-protocol'),
          };
          // Close the WebSocket properly; the server answers with its close frame and ends.
          socket.write(CLIENT_CLOSE_FRAME);
          return;
        }
        chunked = /chunked/i.test(head.headers.get('transfer-encoding') ?? '');
        const length = head.headers.get('content-length');
        bodyNeeded = length === undefined ? Number.POSITIVE_INFINITY : Number(length);
        result = { status: head.status, latencyMs: 0, protocol: undefined };
      }
      const complete = chunked
        ? buffered.length >= 5 && buffered.subarray(buffered.length - 5).equals(CHUNKED_END)
        : buffered.length >= bodyNeeded;
      if (complete) {
        result.latencyMs = performance.now() - started;
        finish();
      }
    });
    socket.on('end', () => {
      // The server closed: a response without framing ends here.
      if (result && result.status !== 101 && result.latencyMs === 0) {
        result.latencyMs = performance.now() - started;
      }
    });
    socket.write(request);
  });
}

/**
 * Opens and closes `count` connections, `concurrency` at a time, each sending `scenario`'s
 * request. Stops at `timeoutMs` (open sockets destroyed; `completed` tells how far it got).
 *
 * @param {{ port: number, host?: string }} target
 * @param {{ scenario: keyof typeof HANDSHAKES, count: number, concurrency?: number, timeoutMs?: number }} options
 */
export async function runHandshakes(target, options) {
  const { scenario, count, concurrency = 64, timeoutMs = 60_000 } = options;
  const host = target.host ?? '127.0.0.1';
  const request = HANDSHAKES[scenario].build(`${host}:${target.port}`);
  const latencies = new Float64Array(count);
  /** @type {Record<number, number>} */
  const statuses = {};
  /** @type {Record<string, number>} */
  const protocols = {};
  const sockets = new Set();
  let started = 0;
  let completed = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const socket of sockets) socket.destroy();
  }, timeoutMs);
  const begin = performance.now();
  const worker = async () => {
    while (started < count && !timedOut) {
      started++;
      const { status, latencyMs, protocol } = await handshakeOnce(
        { host, port: target.port },
        request,
        sockets,
      );
      if (timedOut) break;
      latencies[completed++] = latencyMs;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (protocol !== undefined) protocols[protocol] = (protocols[protocol] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const elapsedMs = performance.now() - begin;
  clearTimeout(timer);
  return {
    scenario,
    count,
    completed,
    timedOut,
    elapsedMs,
    statuses,
    protocols,
    latencies: latencies.subarray(0, completed),
  };
}

/**
 * Opens `count` accepted WebSocket connections (`concurrency` handshakes at a time) and keeps them
 * open until `close()`. Stops opening at `timeoutMs` or at the first failure (e.g. file
 * descriptors or ephemeral ports running out), so `opened` may be lower than `count`.
 */
export async function openIdle(target, { count, concurrency = 64, timeoutMs = 60_000 }) {
  const host = target.host ?? '127.0.0.1';
  const request = HANDSHAKES.accepted.build(`${host}:${target.port}`);
  const open = new Set();
  let started = 0;
  let failure;
  const deadline = performance.now() + timeoutMs;
  const openOne = () =>
    new Promise((resolve) => {
      const socket = connect({ port: target.port, host, noDelay: true });
      let buffered = Buffer.alloc(0);
      let upgraded = false;
      socket.on('error', (error) => {
        failure ??= error.code ?? error.message;
      });
      socket.on('close', () => {
        open.delete(socket);
        if (!upgraded) {
          failure ??= 'closed before 101';
          resolve();
        }
      });
      socket.on('data', (chunk) => {
        if (upgraded) return;
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf(CRLFCRLF);
        if (end === -1) return;
        if (buffered.toString('latin1', 9, 12) !== '101') {
          failure ??= `status ${buffered.toString('latin1', 9, 12)}`;
          socket.destroy();
          return;
        }
        upgraded = true;
        open.add(socket);
        resolve();
      });
      socket.write(request);
    });
  const begin = performance.now();
  const worker = async () => {
    while (started < count && failure === undefined && performance.now() < deadline) {
      started++;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return {
    opened: open.size,
    failure: failure ?? (open.size < count ? 'timed out' : undefined),
    elapsedMs: performance.now() - begin,
    close: () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}

/**
 * Opens `connections` WebSockets (ws clients) for echo round-trips. Each `run(roundTrips)` has
 * every connection send a small message and wait for its echo, one in flight per connection,
 * `roundTrips` in all, spread evenly. Bounded by `timeoutMs` from the open.
 *
 * @param {{ port: number, host?: string }} target
 * @param {{ connections: number, size?: number, timeoutMs?: number }} options
 */
export async function openEcho(target, { connections, size = 32, timeoutMs = 60_000 }) {
  const host = target.host ?? '127.0.0.1';
  const url = `ws://${host}:${target.port}${CHAT_PATH}`;
  const payload = Buffer.alloc(size, 'x');
  const clients = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, ['chat.v2'], { origin: ALLOWED_ORIGIN, perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  /** @type {number[]} */
  const latencies = [];
  let completed = 0;
  let mismatched = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const ws of clients) ws.terminate();
  }, timeoutMs);
  /** Per connection: round-trips left in this run, when the last message left, run done. */
  const state = clients.map(() => ({ left: 0, sentAt: 0, done: () => {} }));
  const next = (i) => {
    const st = state[i];
    if (st.left === 0 || timedOut) {
      st.done();
      return;
    }
    st.left--;
    st.sentAt = performance.now();
    clients[i].send(payload);
  };
  clients.forEach((ws, i) => {
    ws.on('message', (data) => {
      latencies.push(performance.now() - state[i].sentAt);
      completed++;
      if (data.length !== size) mismatched++;
      next(i);
    });
    ws.once('close', () => {
      state[i].left = 0;
      state[i].done();
    });
  });
  const split = (total, parts, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0);
  return {
    /** @param {number} roundTrips */
    run: async (roundTrips) => {
      const startedAt = performance.now();
      const before = completed;
      await Promise.all(
        clients.map(
          (_, i) =>
            new Promise((resolve) => {
              state[i].left = split(roundTrips, connections, i);
              state[i].done = resolve;
              next(i);
            }),
        ),
      );
      return { completed: completed - before, elapsedMs: performance.now() - startedAt };
    },
    stats: () => ({ completed, mismatched, timedOut, latencies }),
    close: () => {
      clearTimeout(timer);
      for (const ws of clients) ws.terminate();
    },
  };
}

/**
 * Echo round-trips after the handshake on fresh connections (see {@link openEcho}).
 *
 * @param {{ port: number, host?: string }} target
 * @param {{ connections: number, roundTrips: number, size?: number, timeoutMs?: number }} options
 */
export async function runEcho(target, options) {
  const session = await openEcho(target, options);
  try {
    const { elapsedMs } = await session.run(options.roundTrips);
    return { ...session.stats(), elapsedMs };
  } finally {
    session.close();
  }
}
