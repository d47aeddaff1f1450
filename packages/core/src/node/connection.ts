/**
 * What wsgate does for a WebSocket once the 101 is sent. For now: every open WebSocket has an
 * `'error'` listener, so no client can crash the process with a bad frame.
 */
import { type ConnectionErrorRecord, type Logger, reportConnectionError } from '../logging.js';

/** The part of a `ws` `WebSocket` core uses (core does not depend on ws). */
export interface OpenWebSocket {
  on(event: 'error', listener: (error: Error) => void): unknown;
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
