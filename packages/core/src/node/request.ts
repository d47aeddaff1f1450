/**
 * Reading a Node `IncomingMessage` into the framework-free {@link HandshakeRequest} core decides on.
 */
import type { IncomingMessage } from 'node:http';
import { RequestHeaders } from '../headers.js';
import type { Arrival, HandshakeRequest, Site } from '../request.js';

/** What the framework knows about a request beyond the Node object (its trust-proxy setting applied). */
export interface FrameworkRequest {
  /** The request target before any mount-path rewrite (Express's `originalUrl`). */
  readonly url?: string | undefined;
  /** The client address (`req.ip`, `ctx.ip`, `request.ip`). */
  readonly clientAddress?: string | undefined;
  /** The host name and scheme the framework resolved. */
  readonly site?: Site | undefined;
  /** The endpoint's route pattern as the framework matched it (`/rooms/:id`), for bounded metrics. */
  readonly route?: string | undefined;
}

/**
 * A {@link FrameworkRequest} whose client address and site are resolved the first time one of
 * them is read: for what an adapter's app-level middleware records about every upgrade request,
 * which only the outcomes no endpoint claims read (the framework's client-address and host
 * getters cost tens of µs). The request target and route are taken now: routing changes them.
 *
 * @param now - The request target and route as they are now.
 * @param resolve - Reads the client address and site from the framework's request; called at most once.
 */
export function lazyFrameworkRequest(
  now: Pick<FrameworkRequest, 'url' | 'route'>,
  resolve: () => Pick<FrameworkRequest, 'clientAddress' | 'site'>,
): FrameworkRequest {
  let resolved: Pick<FrameworkRequest, 'clientAddress' | 'site'> | undefined;
  const get = () => {
    resolved ??= resolve();
    return resolved;
  };
  return {
    url: now.url,
    route: now.route,
    get clientAddress() {
      return get().clientAddress;
    },
    get site() {
      return get().site;
    },
  };
}

/**
 * Reads a Node `IncomingMessage` into a {@link HandshakeRequest}.
 *
 * @param req - The request from `'request'` or `'upgrade'`.
 * @param arrival - Which of the two events delivered it.
 * @param framework - What the framework resolved for it (client address, host, scheme).
 *
 * @example
 * ```ts
 * const handshake = readRequest(req, 'upgrade', { clientAddress: req.ip });
 * ```
 */
export function readRequest(
  req: IncomingMessage,
  arrival: Arrival,
  framework: FrameworkRequest = {},
): HandshakeRequest {
  const socket = req.socket as (IncomingMessage['socket'] & { encrypted?: boolean }) | null;
  const peer = socket?.remoteAddress;
  const client = framework.clientAddress ?? peer;
  return {
    method: req.method ?? 'GET',
    url: framework.url ?? req.url ?? '/',
    httpVersion: req.httpVersion,
    // An in-process request object (@fastify/websocket's injectWS) has only `headers`.
    headers: Array.isArray(req.rawHeaders)
      ? new RequestHeaders(req.rawHeaders)
      : RequestHeaders.fromObject(req.headers ?? {}),
    arrival,
    remoteAddress: client,
    peerAddress: peer !== client ? peer : undefined,
    secure: socket?.encrypted === true,
    site: framework.site,
    route: framework.route,
  };
}
