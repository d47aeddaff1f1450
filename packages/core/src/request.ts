import type { IncomingMessage } from 'node:http';
import { RequestHeaders } from './headers.js';

/**
 * Where a request reached the application: Node's `'upgrade'` event, or the normal `'request'`
 * path (a plain GET, or a handshake whose `Upgrade`/`Connection` headers a proxy removed).
 */
export type Arrival = 'upgrade' | 'request';

/** The framework-free view of a request that core decides on. */
export interface HandshakeRequest {
  /** The request method as received, e.g. `GET`. */
  readonly method: string;
  /** The request target as received, e.g. `/chat?room=1`. */
  readonly url: string;
  /** The HTTP version, e.g. `1.1`. */
  readonly httpVersion: string;
  /** The headers as they arrived (duplicates and spellings kept). */
  readonly headers: RequestHeaders;
  /** Where it arrived. */
  readonly arrival: Arrival;
  /** The peer address, if known. */
  readonly remoteAddress?: string | undefined;
  /** Whether the connection is TLS (used for same-origin default ports). */
  readonly secure?: boolean | undefined;
}

/**
 * Reads a Node `IncomingMessage` into a {@link HandshakeRequest}.
 *
 * @param req - The request from `'request'` or `'upgrade'`.
 * @param arrival - Which of the two events delivered it.
 *
 * @example
 * ```ts
 * server.on('upgrade', (req, socket, head) => {
 *   const request = readRequest(req, 'upgrade');
 * });
 * ```
 */
export function readRequest(req: IncomingMessage, arrival: Arrival): HandshakeRequest {
  // Express rewrites `req.url` below a mount path and keeps the request target in `originalUrl`.
  const original = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
  const socket = req.socket as (IncomingMessage['socket'] & { encrypted?: boolean }) | null;
  return {
    method: req.method ?? 'GET',
    url: typeof original === 'string' ? original : (req.url ?? '/'),
    httpVersion: req.httpVersion,
    // An in-process request object (@fastify/websocket's injectWS) has only `headers`.
    headers: Array.isArray(req.rawHeaders)
      ? new RequestHeaders(req.rawHeaders)
      : RequestHeaders.fromObject(req.headers ?? {}),
    arrival,
    remoteAddress: socket?.remoteAddress,
    secure: socket?.encrypted === true,
  };
}

/** The path of a request target, without the query string. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
