/**
 * One structured record per handshake outcome, with the same fields in every framework, sent to a
 * pino-compatible logger and published on a `node:diagnostics_channel` channel.
 */
import { channel } from 'node:diagnostics_channel';
import type { Finding } from './diagnosis.js';

/**
 * The logger wsgate writes to. pino loggers and Fastify's `request.log` satisfy it as they are:
 * object first, then a short static message.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The name of the `node:diagnostics_channel` channel every handshake record is published on. */
export const HANDSHAKE_CHANNEL = 'wsgate:handshake';

/** The log message of an accepted handshake. */
export const ACCEPTED_MESSAGE = 'websocket handshake accepted';
/** The log message of a rejected handshake. */
export const REJECTED_MESSAGE = 'websocket handshake rejected';

/**
 * The record logged (and published) once per handshake. Field names are fixed so that one
 * dashboard query works for every framework.
 */
export interface HandshakeRecord {
  /** Whether the handshake got its 101. */
  readonly outcome: 'accepted' | 'rejected';
  /** The HTTP status sent (101 when accepted). */
  readonly status: number;
  /** The rejection code; absent when accepted. */
  readonly code?: string | undefined;
  /** The request method as received (`GET`; another one is rejected `METHOD_NOT_ALLOWED`). */
  readonly method?: string | undefined;
  /** The request's HTTP version (`1.1`). */
  readonly httpVersion?: string | undefined;
  /** `http` or `https`, as the framework resolved it (its trust-proxy setting applied), else the connection's. */
  readonly scheme?: string | undefined;
  /** The host name the request was addressed to (the framework's, else a well-formed `Host`), lower-case, no port. */
  readonly host?: string | undefined;
  /** The request path (no query string: it may carry tickets). */
  readonly path: string;
  /**
   * The endpoint's route pattern as the framework matched it (`/rooms/:id`): a bounded value for
   * metrics. Absent for upgrades no endpoint claimed.
   */
  readonly route?: string | undefined;
  /** `express`, `koa`, `fastify`, or `core`. */
  readonly framework: string;
  /** Where the request arrived: `upgrade` or `request`. */
  readonly arrival: 'upgrade' | 'request';
  /** The negotiated subprotocol. */
  readonly protocol?: string | undefined;
  /** The request's `Origin`, normalised when it parsed. */
  readonly origin?: string | undefined;
  /** The client address as the framework reports it (`req.ip`, `ctx.ip`, `request.ip`). */
  readonly remoteAddress?: string | undefined;
  /** The TCP peer (a proxy), when it differs from `remoteAddress`. */
  readonly peerAddress?: string | undefined;
  /** Time from the request reaching wsgate to the outcome, in milliseconds. */
  readonly durationMs: number;
  /** The diagnosed intermediary's id (`nginx`, `apache`, …). */
  readonly proxy?: string | undefined;
  /** The diagnosed client's id (`browser-tab`, `postman`, …). */
  readonly client?: string | undefined;
  /** Evidence and fixes behind `proxy` and `client`. */
  readonly diagnosis?:
    | { readonly proxy?: Finding | undefined; readonly client?: Finding | undefined }
    | undefined;
  /** What went wrong with this request (never hidden in the log). */
  readonly detail?: string | undefined;
  /** What to change. */
  readonly hint?: string | undefined;
  /** Other checks that failed after the deciding one. */
  readonly otherFailures?: readonly string[] | undefined;
  /** The permessage-deflate offers handed to the WebSocket server. */
  readonly extensions?: string | undefined;
  /** The framework's request id, where it has one. */
  readonly requestId?: string | undefined;
  /**
   * The request's W3C `traceparent`, when exactly one well-formed header arrived (validated by
   * core: lower-case hex fields, no all-zero ids), for tracers such as `@wsgate/otel`.
   */
  readonly traceparent?: string | undefined;
  /** The request's W3C `tracestate` (only with `traceparent`; dropped over 512 characters). */
  readonly tracestate?: string | undefined;
  /** The error behind a server fault. */
  readonly err?: unknown;
}

const handshakeChannel = channel(HANDSHAKE_CHANNEL);

/**
 * Logs a record at the right level (server faults at error, everything else at info) to each
 * logger given, and publishes it once on {@link HANDSHAKE_CHANNEL}. A logger that throws never
 * breaks the handshake.
 */
export function reportHandshake(
  record: HandshakeRecord,
  loggers: Logger | readonly Logger[] | undefined,
  serverFault: boolean,
): void {
  if (handshakeChannel.hasSubscribers) handshakeChannel.publish(record);
  eachLogger(loggers, (logger) => {
    if (record.outcome === 'accepted') logger.info(record, ACCEPTED_MESSAGE);
    else if (serverFault) logger.error(record, REJECTED_MESSAGE);
    else logger.info(record, REJECTED_MESSAGE);
  });
}

/** Writes to each logger given; a logger that throws never breaks a handshake or a connection. */
export function eachLogger(
  loggers: Logger | readonly Logger[] | undefined,
  write: (logger: Logger) => void,
): void {
  if (!loggers) return;
  for (const logger of Array.isArray(loggers) ? loggers : [loggers as Logger]) {
    try {
      write(logger);
    } catch {
      // A broken logger must not turn into a hung or crashed handshake.
    }
  }
}

/** The log message of an error on an open WebSocket (a client breaking the protocol, mostly). */
export const CONNECTION_ERROR_MESSAGE = 'websocket connection error';

/**
 * The record logged when an open WebSocket reports an error: the connection's identity (the same
 * field names as {@link HandshakeRecord}), what went wrong, and the close code sent for it.
 */
export interface ConnectionErrorRecord {
  /** The request path of the handshake. */
  readonly path: string;
  /** The endpoint's route pattern. */
  readonly route?: string | undefined;
  /** `express`, `koa`, `fastify`, or `core`. */
  readonly framework: string;
  /** The peer address. */
  readonly remoteAddress?: string | undefined;
  /** The framework's request id of the handshake, where it has one. */
  readonly requestId?: string | undefined;
  /** The negotiated subprotocol. */
  readonly protocol?: string | undefined;
  /** ws's error code (`WS_ERR_UNEXPECTED_RSV_1`, `WS_ERR_INVALID_UTF8`, …), or `WEBSOCKET_ERROR`. */
  readonly code: string;
  /** The close code the connection is closed with (1002 protocol error, 1007, 1008, 1009). */
  readonly closeCode: number;
  /** The error itself. */
  readonly err: unknown;
}

/**
 * Logs a connection error at info level (a peer that breaks the protocol is a client fault, which
 * never logs at error). A logger that throws is ignored.
 */
export function reportConnectionError(
  record: ConnectionErrorRecord,
  loggers: Logger | readonly Logger[] | undefined,
): void {
  eachLogger(loggers, (logger) => logger.info(record, CONNECTION_ERROR_MESSAGE));
}

/** The name of the `node:diagnostics_channel` channel every connection-end record is published on. */
export const CONNECTION_CHANNEL = 'wsgate:connection';

/** The log message of a connection that ended. */
export const CLOSED_MESSAGE = 'websocket connection closed';

/** Who ended a connection. */
export type ClosedBy = 'client' | 'server' | 'heartbeat' | 'drain' | 'limit';

/**
 * The record logged (and published on {@link CONNECTION_CHANNEL}) once per connection when it ends:
 * the connection's identity (the handshake record's field names), how it ended, and its traffic.
 */
export interface ConnectionRecord {
  readonly path: string;
  /** The endpoint's route pattern (`/rooms/:id`). */
  readonly route?: string | undefined;
  readonly framework: string;
  readonly remoteAddress?: string | undefined;
  readonly requestId?: string | undefined;
  readonly protocol?: string | undefined;
  /** The close code (1006 when the connection ended without a close frame). */
  readonly closeCode: number;
  /** The close reason, if one was sent. */
  readonly closeReason?: string | undefined;
  /** Who ended it: the client, the application (`server`), the heartbeat, a drain, or a limit. */
  readonly closedBy: ClosedBy;
  /** From the 101 to the close, in milliseconds. */
  readonly durationMs: number;
  /** Time since the last frame from the peer, in milliseconds. */
  readonly idleMs: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Bytes read from and written to the socket after the handshake. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** What to change, when the way it ended points at something (a proxy idle timeout). */
  readonly hint?: string | undefined;
}

const connectionChannel = channel(CONNECTION_CHANNEL);

/**
 * Whether a connection-end record has anywhere to go (a logger, or a subscriber to
 * {@link CONNECTION_CHANNEL}): without one it is not built.
 */
export function connectionRecordWanted(loggers: Logger | readonly Logger[] | undefined): boolean {
  return (
    connectionChannel.hasSubscribers || (Array.isArray(loggers) ? loggers.length > 0 : loggers !== undefined)
  );
}

/** Logs a connection-end record at info and publishes it. A logger that throws is ignored. */
export function reportConnection(
  record: ConnectionRecord,
  loggers: Logger | readonly Logger[] | undefined,
): void {
  if (connectionChannel.hasSubscribers) connectionChannel.publish(record);
  eachLogger(loggers, (logger) => logger.info(record, CLOSED_MESSAGE));
}
