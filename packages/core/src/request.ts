import type { RequestHeaders } from './headers.js';

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
  /**
   * The client's address as the framework reports it (`req.ip`, `ctx.ip`, `request.ip`: the
   * forwarded client under the framework's own trust-proxy setting), else the peer address.
   */
  readonly remoteAddress?: string | undefined;
  /** The TCP peer's address (the proxy, behind one), when it differs from `remoteAddress`. */
  readonly peerAddress?: string | undefined;
  /** Whether the connection to this server is TLS. */
  readonly secure?: boolean | undefined;
  /**
   * The host name and scheme the framework resolved for the request, its trust-proxy setting
   * applied (`X-Forwarded-Host`/`-Proto` only when it trusts the peer). The same-origin policy
   * compares against these; without them, against `Host` and the connection.
   */
  readonly site?: Site | undefined;
  /** The endpoint's route pattern as the framework matched it (`/rooms/:id`), if an endpoint did. */
  readonly route?: string | undefined;
}

/** The host name and scheme a request was addressed to, as the framework resolved them. */
export interface Site {
  /** The host name without port, e.g. `example.com` (`req.hostname`, `ctx.hostname`, `request.hostname`). */
  readonly hostname: string;
  /** `https` or `http` (`req.protocol`, `ctx.protocol`, `request.protocol`). */
  readonly protocol: string;
}

/** The path of a request target, without the query string. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
