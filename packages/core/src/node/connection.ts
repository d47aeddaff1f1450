/**
 * What wsgate does for a WebSocket once the 101 is sent: an `'error'` listener on every one (no
 * client can crash the process with a bad frame), the heartbeat, and one record when it ends.
 */
import type { Duplex } from 'node:stream';
import {
  type ClosedBy,
  type ConnectionErrorRecord,
  type ConnectionRecord,
  connectionRecordWanted,
  type Logger,
  reportConnection,
  reportConnectionError,
} from '../logging.js';

/** The part of a `ws` `WebSocket` core uses (core does not depend on ws). */
export interface OpenWebSocket {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The part of a `ws` `WebSocket` the supervision uses. */
export interface SupervisedWebSocket extends OpenWebSocket {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'pong' | 'ping', listener: () => void): unknown;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  once(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  ping(): void;
  terminate(): void;
  close(code?: number, reason?: string): void;
  send(...args: never[]): void;
}

/**
 * The close code `ws` sends for each of its documented error codes (ws's `Receiver` closes the
 * connection itself; this is for the record). Anything unlisted is a protocol error.
 */
const CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
};

/** The close code for a ws error code: 1007, 1008, 1009, or 1002 (protocol error). */
export function closeCodeOf(code: string): number {
  return CLOSE_CODES[code] ?? 1002;
}

/**
 * Whether an error an open WebSocket emitted is ws's report of a peer breaking the protocol
 * (a `WS_ERR_*` code, ws's documented error codes), which {@link watchErrors} has logged.
 */
export function isProtocolError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

/** Who an open connection is, for its records. */
export type ConnectionIdentity = Omit<ConnectionErrorRecord, 'code' | 'closeCode' | 'err'>;

/**
 * Adds wsgate's `'error'` listener to an open WebSocket: the error is logged with the
 * connection's identity; `ws` has already closed the connection with the matching code. Without a
 * listener, Node's EventEmitter throws the error and the process exits (`Invalid WebSocket frame:
 * RSV1 must be clear`). The application may add listeners of its own.
 */
export function watchErrors(
  ws: OpenWebSocket,
  identity: ConnectionIdentity,
  loggers: Logger | readonly Logger[] | undefined,
): void {
  ws.on('error', (error) => {
    const raw = (error as { code?: unknown }).code;
    const code = typeof raw === 'string' && raw !== '' ? raw : 'WEBSOCKET_ERROR';
    reportConnectionError({ ...identity, code, closeCode: closeCodeOf(code), err: error }, loggers);
  });
}

/** How an open connection is supervised. */
export interface Supervision {
  /** The heartbeat interval, or `false`. */
  readonly heartbeatMs: number | false;
  /** The raw socket under the WebSocket (its byte counters). */
  readonly socket: Duplex;
  /** Where the connection-end record goes. */
  readonly loggers: Logger | readonly Logger[] | undefined;
}

interface Watched {
  closedBy: ClosedBy | undefined;
}

const watched = new WeakMap<object, Watched>();

/**
 * Marks who is about to close a connection (an endpoint's drain, a limit), for its record. A
 * connection wsgate does not supervise is left alone.
 */
export function closingBy(ws: object, who: ClosedBy): void {
  const entry = watched.get(ws);
  if (entry && entry.closedBy === undefined) entry.closedBy = who;
}

/** Idle times that match a common proxy or load balancer timeout, with what to change. */
const IDLE_TIMEOUTS: ReadonlyArray<readonly [ms: number, hint: string]> = [
  [60_000, "nginx's proxy_read_timeout (60 s by default) or an AWS ALB's idle timeout (60 s)"],
  [100_000, "Cloudflare's idle timeout (100 s)"],
  [300_000, "Apache's ProxyTimeout/Timeout (300 s by default in some distributions)"],
];

/**
 * The shortest silence the hint is given for: below it, a connection that ends without a close
 * frame is more likely a peer that left (a crashed or killed client) than a timer on the way. A
 * proxy timer can fire up to 300 ms early (nginx's lazy timer updates), so a 2 s timeout is seen
 * as 1.7 s or more.
 */
export const IDLE_HINT_MIN_MS = 1_500;

/**
 * The hint for a connection that ended with no close frame after `quietMs` without traffic either
 * way (an idle timeout counts both directions: nginx resets its timer on any event of the tunnel,
 * Apache's and load balancers' are idle timeouts).
 */
export function idleHint(quietMs: number, heartbeatMs: number | false): string | undefined {
  if (quietMs < IDLE_HINT_MIN_MS) return undefined;
  const seconds = quietMs < 10_000 ? Math.round(quietMs / 100) / 10 : Math.round(quietMs / 1000);
  const match = IDLE_TIMEOUTS.find(([ms]) => Math.abs(quietMs - ms) <= ms * 0.05);
  const which = match
    ? `, likely ${match[1]}`
    : `, set to about ${seconds} s: nginx's proxy_read_timeout, Apache's ProxyTimeout or Timeout (the larger of the two), HAProxy's timeout tunnel or a load balancer's idle timeout`;
  const keep =
    heartbeatMs === false
      ? 'Turn the heartbeat on (heartbeatMs) with an interval below that timeout'
      : `Keep heartbeatMs (now ${heartbeatMs} ms) below that timeout, or raise the timeout`;
  return `The connection ended without a close frame after ${seconds} s without traffic either way: an idle timeout on the way${which}. ${keep}.`;
}

/**
 * Supervises an open WebSocket until it ends: pings it every `heartbeatMs` and terminates a peer
 * that stayed silent for a whole interval after a ping (pongs and any other frame count as
 * liveness), counts its traffic, and logs one {@link ConnectionRecord} when it closes, saying who
 * closed it. `ws.send`, `ws.close` and `ws.terminate` are wrapped on the instance to count
 * messages out and to tell a close the application asked for from one the client sent.
 */
export function superviseConnection(
  ws: SupervisedWebSocket,
  identity: ConnectionIdentity,
  supervision: Supervision,
): void {
  const { socket, heartbeatMs } = supervision;
  const raw = socket as Duplex & { bytesRead?: number; bytesWritten?: number };
  const readAtOpen = raw.bytesRead ?? 0;
  const writtenAtOpen = raw.bytesWritten ?? 0;
  const openedAt = performance.now();
  const entry: Watched = { closedBy: undefined };
  watched.set(ws, entry);
  let lastInbound = openedAt;
  let lastOutbound = openedAt;
  let alive = true;
  let messagesIn = 0;
  let messagesOut = 0;
  const heard = () => {
    alive = true;
    lastInbound = performance.now();
  };
  ws.on('pong', heard);
  ws.on('ping', heard);
  ws.on('message', () => {
    messagesIn++;
    heard();
  });

  const send = ws.send;
  ws.send = function (this: SupervisedWebSocket, ...args: never[]) {
    messagesOut++;
    lastOutbound = performance.now();
    return send.apply(this, args);
  } as SupervisedWebSocket['send'];
  const close = ws.close;
  ws.close = function (this: SupervisedWebSocket, code?: number, reason?: string) {
    // ws answers a client's close frame by calling close() itself; only a close nobody received
    // a frame for is the server's (ws's `_closeFrameReceived`: see the canary in connection.test.ts).
    if ((this as { _closeFrameReceived?: unknown })._closeFrameReceived !== true) closingBy(this, 'server');
    return close.call(this, code, reason);
  };
  const terminate = ws.terminate;
  ws.terminate = function (this: SupervisedWebSocket) {
    closingBy(this, 'server');
    return terminate.call(this);
  };

  const timer =
    heartbeatMs === false
      ? undefined
      : setInterval(() => {
          if (!alive) {
            closingBy(ws, 'heartbeat');
            terminate.call(ws);
            return;
          }
          alive = false;
          lastOutbound = performance.now();
          try {
            ws.ping();
          } catch {
            // Not open any more: the close event ends the supervision.
          }
        }, heartbeatMs);
  timer?.unref();

  ws.once('close', (code, reason) => {
    if (timer) clearInterval(timer);
    if (!connectionRecordWanted(supervision.loggers)) return;
    const now = performance.now();
    const closedBy = entry.closedBy ?? 'client';
    const quietMs = Math.round(now - Math.max(lastInbound, lastOutbound));
    // Every field written out: an object spread followed by more properties takes V8's slow path
    // (tens of µs a record on Node 20, packages/bench).
    const record: ConnectionRecord = {
      path: identity.path,
      route: identity.route,
      framework: identity.framework,
      remoteAddress: identity.remoteAddress,
      requestId: identity.requestId,
      protocol: identity.protocol,
      closeCode: code,
      closeReason: reason.length > 0 ? reason.toString('utf8') : undefined,
      closedBy,
      durationMs: Math.round(now - openedAt),
      idleMs: Math.round(now - lastInbound),
      messagesIn,
      messagesOut,
      bytesIn: (raw.bytesRead ?? 0) - readAtOpen,
      bytesOut: (raw.bytesWritten ?? 0) - writtenAtOpen,
      hint: code === 1006 && closedBy === 'client' ? idleHint(quietMs, heartbeatMs) : undefined,
    };
    reportConnection(record, supervision.loggers);
  });
}
