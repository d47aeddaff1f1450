/**
 * The handle of one WebSocket endpoint, the same in every adapter: its open connections and a
 * `close()` that refuses new handshakes and closes the open ones.
 */
import type { Gate } from '../gate.js';
import { closingBy, type OpenWebSocket } from './connection.js';

/** The part of a `ws` `WebSocket` the endpoint handle uses. */
export interface ClosableWebSocket extends OpenWebSocket {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** Options of {@link EndpointHandle.close}. */
export interface CloseOptions {
  /**
   * The close code sent to every open connection: 1001 (going away) or 1012 (service restart).
   * @default 1001
   */
  readonly code?: number | undefined;
  /** The close reason sent with it (at most 123 bytes). */
  readonly reason?: string | undefined;
  /**
   * How long connections get to finish their closing handshake before they are terminated.
   * @default 5000
   */
  readonly timeoutMs?: number | undefined;
}

/** What every adapter's endpoint exposes. */
export interface EndpointHandle<TSocket> {
  /** The open connections of this endpoint. */
  readonly connections: ReadonlySet<TSocket>;
  /**
   * Refuses new handshakes (`503 SERVER_SHUTTING_DOWN` with `Retry-After`), closes every open
   * connection with `code`, terminates those still open after `timeoutMs`, and resolves once all
   * are closed.
   */
  close(options?: CloseOptions): Promise<void>;
}

const OPEN_OR_CLOSING = new Set([0, 1, 2]);

/**
 * Builds the handle of an endpoint from its gate and the set of its open connections (ws's
 * `WebSocketServer#clients`).
 */
export function endpointHandle<TSocket extends ClosableWebSocket>(
  gate: Gate<never>,
  connections: ReadonlySet<TSocket>,
): EndpointHandle<TSocket> {
  return {
    connections,
    async close(options: CloseOptions = {}) {
      gate.shutDown();
      const code = options.code ?? 1001;
      const timeoutMs = options.timeoutMs ?? 5_000;
      const open = [...connections].filter((ws) => OPEN_OR_CLOSING.has(ws.readyState));
      await Promise.all(
        open.map(
          (ws) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => ws.terminate(), timeoutMs);
              timer.unref();
              ws.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              closingBy(ws, 'drain');
              ws.close(code, options.reason);
            }),
        ),
      );
    },
  };
}
