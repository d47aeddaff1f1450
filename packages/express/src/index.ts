/**
 * @wsgate/express — WebSocket endpoints for Express 4 and 5.
 *
 * This file only translates: Express request → @wsgate/core decision → Express response or ws.
 * Statuses, header parsing, negotiation and option rules all live in @wsgate/core.
 *
 * Upgrade requests run through the Express app (core's dispatcher emits them on the server's
 * request path with a real `ServerResponse` on the socket), so every middleware registered before
 * the endpoint runs before the 101 and sees the same objects as on any request.
 */
import type { Server } from 'node:http';
import { createGate, type Gate, type HttpResponse, type WsGateOptions } from '@wsgate/core';
import {
  adoptUpgradeRequest,
  attachUpgradeDispatch,
  type CloseOptions,
  checkDispatchSettings,
  checkWsSettings,
  type DispatchSettings,
  drainServer,
  type EndpointHandle,
  endpointHandle,
  type FrameworkRequest,
  lazyFrameworkRequest,
  type ReservedWsOption,
  serverOf,
  settleHandshake,
  upgradeConnectionOf,
  wsServerOptions,
} from '@wsgate/core/node';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

export { HandshakeError, type HandshakeRecord, type Logger } from '@wsgate/core';
export type { CloseOptions, DispatchSettings } from '@wsgate/core/node';

/** ws settings wsgate leaves to you (the handshake-related ones are core's). */
export type WsSettings = Omit<ServerOptions, ReservedWsOption>;

/**
 * Options of {@link websocket}: core's options (the same object works with every wsgate adapter),
 * plus ws settings. Hooks receive the Express request.
 *
 * @typeParam TContext - What `beforeUpgrade` returns: the connection handler's `context`.
 */
export interface WebSocketOptions<TContext = undefined> extends WsGateOptions<Request, TContext> {
  /**
   * Settings for the endpoint's `ws` server, e.g. `{ maxPayload: 1 << 20 }`.
   * @default {}
   */
  readonly ws?: WsSettings | undefined;
}

/**
 * Called for every accepted connection.
 *
 * @param ws - The open WebSocket.
 * @param req - The Express request, with whatever earlier middleware set on it.
 * @param context - What the `beforeUpgrade` hook returned.
 */
export type ConnectionHandler<TContext = undefined> = (
  ws: WebSocket,
  req: Request,
  context: TContext,
) => void;

/** The Express handler of a WebSocket endpoint, with its connections and a `close()`. */
export interface WebSocketEndpoint extends RequestHandler, EndpointHandle<WebSocket> {
  /**
   * The endpoint's ws server. The request its events carry (`'headers'`, `'connection'`) is
   * core's view of the handshake — `headers` (with the negotiated subprotocol and extensions),
   * `method`, `url`, `socket`, `httpVersion` — not the framework's request: the connection
   * handler gets that one.
   */
  readonly wss: WebSocketServer;
  /** The endpoint's gate (its validated options). */
  readonly gate: Gate<Request>;
}

const PACKAGE = '@wsgate/express';
const ADAPTER = { framework: 'express', packageName: PACKAGE, extraOptions: ['ws'] } as const;

/** Names the framework in the records of upgrades no endpoint claimed. */
let sharedGate: Gate<never> | undefined;
const appGate = () => {
  sharedGate ??= createGate<never>({}, ADAPTER);
  return sharedGate;
};

/** What Express resolved for a request: its client address, host and scheme (trust proxy applied). */
function frameworkOf(req: Request): FrameworkRequest {
  const hostname = req.hostname;
  const route: unknown = req.route?.path;
  return {
    url: req.originalUrl,
    route: typeof route === 'string' ? req.baseUrl + route : undefined,
    clientAddress: req.ip,
    site: hostname ? { hostname, protocol: req.protocol } : undefined,
  };
}

/**
 * A WebSocket endpoint as an Express handler: mount it with `app.get(path, …)`, after any
 * middleware that must run before the 101.
 *
 * @example
 * ```ts
 * app.get('/chat', websocket({ protocols: ['chat.v2', 'chat.v1'] }, (ws) => {
 *   ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
 * }));
 * ```
 */
export function websocket<TContext = undefined>(
  options: WebSocketOptions<TContext>,
  onConnection: ConnectionHandler<TContext>,
): WebSocketEndpoint {
  if (typeof onConnection !== 'function') {
    throw new TypeError(`${PACKAGE}: websocket(options, onConnection) needs a connection handler function`);
  }
  const { ws: wsSettings, ...gateOptions } = options ?? {};
  const gate = createGate<Request>(gateOptions, ADAPTER);
  checkWsSettings(wsSettings, PACKAGE, 'ws');
  const wss = new WebSocketServer({ ...wsSettings, ...wsServerOptions(gate.options.perMessageDeflate) });
  const handle = endpointHandle(gate as Gate<never>, wss.clients);

  const handler = (req: Request, res: Response, next: NextFunction): void => {
    void settleHandshake<Request, WebSocket>({
      gate,
      endpoint: handle,
      request: req,
      req,
      response: res,
      framework: frameworkOf(req),
      server: wss,
      respond: (response: HttpResponse) =>
        res.status(response.status).set(response.headers).send(response.body),
      pass: () => next(),
      onOpen: (ws, context) => onConnection(ws, req, context as TContext),
    }).catch(next);
  };
  return Object.assign(handler, { wss, gate }, handle);
}

/**
 * Server-wide settings, as app-level middleware: register it first (`app.use(wsgate({ logger }))`)
 * and wsgate owns every upgrade request from the first request the app sees — an upgrade to a
 * path no endpoint serves gets `404 ENDPOINT_NOT_FOUND`, a response other middleware writes first
 * is logged with its mandatory headers, and every endpoint without a `logger` of its own logs here.
 *
 * @param settings - `logger`; `leave`: paths (or a predicate) another library's `'upgrade'`
 *   listener on the same server owns; `production`.
 * @example
 * ```ts
 * app.use(wsgate({ logger: pino() }));
 * app.get('/chat', websocket({}, (ws) => ws.send('hi')));
 * ```
 */
export function wsgate(settings: DispatchSettings = {}): RequestHandler {
  checkDispatchSettings(settings, PACKAGE);
  const servers = new WeakSet<Server>();
  return (req, res, next) => {
    const server = serverOf(req);
    if (server && !servers.has(server)) {
      servers.add(server);
      attachUpgradeDispatch(server, { gate: appGate(), settings });
    }
    // The first request of a fresh server arrives here even when it is a handshake.
    // A malformed one is answered there and then, as on the 'upgrade' path.
    if (server && adoptUpgradeRequest(server, req, res) === 'answered') return;
    const connection = upgradeConnectionOf(req);
    // Read only if no endpoint claims the request (its record): the endpoint reads its own.
    if (connection)
      connection.framework = lazyFrameworkRequest({ url: req.originalUrl }, () =>
        frameworkOf(req as Request),
      );
    next();
  };
}

/**
 * Drains a server for a restart or shutdown: new handshakes get `503 SERVER_SHUTTING_DOWN` with
 * `Retry-After`, every endpoint closes its open connections with `code` (1001 by default, 1012 for
 * a restart), terminates those still open after `timeoutMs`, and the promise resolves once all are
 * closed. Then call `server.close()`.
 *
 * @example
 * ```ts
 * process.once('SIGTERM', async () => {
 *   await drain(server, { code: 1012, timeoutMs: 10_000 });
 *   server.close();
 * });
 * ```
 */
export function drain(server: Server, options?: CloseOptions): Promise<void> {
  return drainServer(server, options);
}

/**
 * Installs wsgate's upgrade handling on a server before its first request, with the same
 * settings as {@link wsgate}. Use it where the app-level middleware cannot run first, e.g. when
 * the very first request to a fresh server may be an upgrade to a path no endpoint serves.
 *
 * @example
 * ```ts
 * const server = app.listen(3000);
 * attach(server, { logger, leave: ['/graphql'] });
 * ```
 */
export function attach(server: Server, settings: DispatchSettings = {}): void {
  checkDispatchSettings(settings, PACKAGE);
  attachUpgradeDispatch(server, { gate: appGate(), settings });
}
