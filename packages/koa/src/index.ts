/**
 * @wsgate/koa — WebSocket endpoints for Koa 2 and 3.
 *
 * This file only translates: Koa context → @wsgate/core decision → Koa response or ws.
 * Statuses, header parsing, negotiation and option rules all live in @wsgate/core.
 *
 * Upgrade requests run through the Koa app (core's dispatcher emits them on the server's request
 * path with a real `ServerResponse` on the socket), so every middleware registered before the
 * endpoint runs before the 101, and a response it sets (`ctx.status = 401`, `ctx.throw(401)`)
 * reaches the client as it was set.
 */
import type { Server as HttpServer } from 'node:http';
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
import type { DefaultContext, DefaultState, Middleware, ParameterizedContext } from 'koa';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

export { HandshakeError, type HandshakeRecord, type Logger } from '@wsgate/core';
export type { CloseOptions, DispatchSettings } from '@wsgate/core/node';

/** ws settings wsgate leaves to you (the handshake-related ones are core's). */
export type WsSettings = Omit<ServerOptions, ReservedWsOption>;

/**
 * Options of {@link websocket}: core's options (the same object works with every wsgate adapter),
 * plus ws settings. Hooks such as `beforeUpgrade` receive the Koa context.
 *
 * @typeParam TContext - What `beforeUpgrade` returns: the connection handler's `context`.
 * @typeParam StateT - The type of `ctx.state` (what earlier middleware sets).
 * @typeParam ContextT - Custom properties of the Koa context.
 */
export interface WebSocketOptions<TContext = undefined, StateT = DefaultState, ContextT = DefaultContext>
  extends WsGateOptions<ParameterizedContext<StateT, ContextT>, TContext> {
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
 * @param ctx - The Koa context, with whatever earlier middleware set on `ctx.state`. Read from it;
 *   the HTTP response is over (the socket now speaks WebSocket).
 * @param context - What the `beforeUpgrade` hook returned.
 */
export type ConnectionHandler<TContext = undefined, StateT = DefaultState, ContextT = DefaultContext> = (
  ws: WebSocket,
  ctx: ParameterizedContext<StateT, ContextT>,
  context: TContext,
) => void;

/** The Koa middleware of a WebSocket endpoint, with its connections and a `close()`. */
export interface WebSocketEndpoint<StateT = DefaultState, ContextT = DefaultContext>
  extends Middleware<StateT, ContextT>,
    EndpointHandle<WebSocket> {
  /**
   * The endpoint's ws server. The request its events carry (`'headers'`, `'connection'`) is
   * core's view of the handshake — `headers` (with the negotiated subprotocol and extensions),
   * `method`, `url`, `socket`, `httpVersion` — not the framework's request: the connection
   * handler gets that one.
   */
  readonly wss: WebSocketServer;
  /** The endpoint's gate (its validated options). */
  readonly gate: Gate<ParameterizedContext<StateT, ContextT>>;
}

const PACKAGE = '@wsgate/koa';
const ADAPTER = { framework: 'koa', packageName: PACKAGE, extraOptions: ['ws'] } as const;

/** Names the framework in the records of upgrades no endpoint claimed. */
let sharedGate: Gate<never> | undefined;
const appGate = () => {
  sharedGate ??= createGate<never>({}, ADAPTER);
  return sharedGate;
};

/** Sends one of core's responses the Koa way: Koa's respond writes it after the middleware. */
function respondWith(ctx: ParameterizedContext<unknown, unknown>, response: HttpResponse): void {
  ctx.status = response.status;
  ctx.set(response.headers);
  ctx.body = response.body;
}

/** What Koa resolved for a request: its client address, host and scheme (`app.proxy` applied). */
function frameworkOf(ctx: ParameterizedContext<unknown, unknown>, path?: string): FrameworkRequest {
  const hostname = ctx.hostname;
  // @koa/router's documented `ctx._matchedRoute`, or the endpoint's own path.
  const matched: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return {
    url: ctx.originalUrl,
    route: typeof matched === 'string' ? matched : path,
    clientAddress: ctx.ip,
    site: hostname ? { hostname, protocol: ctx.protocol } : undefined,
  };
}

/**
 * A WebSocket endpoint as Koa middleware. Register it after any middleware that must run before
 * the 101 (auth, sessions, rate limits).
 *
 * - `websocket(path, options, onConnection)` serves requests whose `ctx.path` is exactly `path`
 *   and hands every other request to the next middleware: `app.use(websocket('/chat', …))`.
 * - `websocket(options, onConnection)` serves every request that reaches it: use it where a router
 *   already matched the path, `router.get('/chat', websocket(…))`.
 *
 * A request that is not a handshake (a plain POST, or a plain GET with `plainRequests: 'pass'`)
 * goes on to the next middleware; a handshake gets its 101 or a rejection from @wsgate/core.
 *
 * @example
 * ```ts
 * app.use(websocket('/chat', { protocols: ['chat.v2', 'chat.v1'] }, (ws, ctx) => {
 *   ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
 * }));
 * ```
 * @example
 * ```ts
 * router.get('/chat', websocket({ protocols: ['chat.v2', 'chat.v1'] }, (ws, ctx) => {
 *   ws.send(`hello ${ctx.state.user.name}`);
 * }));
 * ```
 */
export function websocket<TContext = undefined, StateT = DefaultState, ContextT = DefaultContext>(
  path: string,
  options: WebSocketOptions<TContext, StateT, ContextT>,
  onConnection: ConnectionHandler<TContext, StateT, ContextT>,
): WebSocketEndpoint<StateT, ContextT>;
export function websocket<TContext = undefined, StateT = DefaultState, ContextT = DefaultContext>(
  options: WebSocketOptions<TContext, StateT, ContextT>,
  onConnection: ConnectionHandler<TContext, StateT, ContextT>,
): WebSocketEndpoint<StateT, ContextT>;
export function websocket<TContext, StateT, ContextT>(
  pathOrOptions: string | WebSocketOptions<TContext, StateT, ContextT>,
  optionsOrHandler:
    | WebSocketOptions<TContext, StateT, ContextT>
    | ConnectionHandler<TContext, StateT, ContextT>,
  handler?: ConnectionHandler<TContext, StateT, ContextT>,
): WebSocketEndpoint<StateT, ContextT> {
  const path = typeof pathOrOptions === 'string' ? pathOrOptions : undefined;
  const options = path === undefined ? pathOrOptions : optionsOrHandler;
  const onConnection = path === undefined ? optionsOrHandler : handler;
  if (path !== undefined && !path.startsWith('/')) {
    throw new TypeError(`${PACKAGE}: websocket(path, …) needs a path starting with "/", got "${path}"`);
  }
  if (typeof onConnection !== 'function') {
    throw new TypeError(`${PACKAGE}: websocket(options, onConnection) needs a connection handler function`);
  }
  type Ctx = ParameterizedContext<StateT, ContextT>;
  const { ws: wsSettings, ...gateOptions } = (options ?? {}) as WebSocketOptions<TContext, StateT, ContextT>;
  const gate = createGate<Ctx>(gateOptions, ADAPTER);
  checkWsSettings(wsSettings, PACKAGE, 'ws');
  const wss = new WebSocketServer({ ...wsSettings, ...wsServerOptions(gate.options.perMessageDeflate) });
  const connect = onConnection as ConnectionHandler<TContext, StateT, ContextT>;
  const handle = endpointHandle(gate as Gate<never>, wss.clients);

  const middleware = async (ctx: Ctx, next: () => Promise<unknown>): Promise<void> => {
    // Own the server's upgrades from the first request of any kind (not only this path's).
    const server = serverOf(ctx.req);
    if (server) attachUpgradeDispatch(server, { gate: gate as Gate<never> });
    if (path !== undefined && ctx.path !== path) return void (await next());
    let passed = false;
    let responded = false;
    await settleHandshake<Ctx, WebSocket>({
      gate,
      endpoint: handle,
      request: ctx,
      req: ctx.req,
      response: ctx.res,
      // Koa's respond ends the (detached) response after the middleware that runs after
      // `await next()`, so that access loggers (koa-logger) see its 'finish'.
      frameworkEndsResponse: true,
      framework: frameworkOf(ctx as ParameterizedContext<unknown, unknown>, path),
      server: wss,
      respond: (response: HttpResponse) => {
        responded = true;
        respondWith(ctx, response);
      },
      pass: () => {
        passed = true;
      },
      onOpen: (ws, context) => connect(ws, ctx, context as TContext),
    });
    if (passed) return void (await next());
    if (responded) return;
    // The socket was answered or handed to ws directly, and core set the response's status to
    // what was sent (middleware reading ctx.status after `await next()` sees it). On the upgrade
    // path the response is detached: Koa's respond ends it, writing nothing. On the request path
    // without adoption the socket is ws's: Koa must not write a response on it.
    if (!upgradeConnectionOf(ctx.req)) ctx.respond = false;
  };
  return Object.assign(middleware, { wss, gate }, handle) as WebSocketEndpoint<StateT, ContextT>;
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
 * app.use(websocket('/chat', {}, (ws) => ws.send('hi')));
 * ```
 */
export function wsgate(settings: DispatchSettings = {}): Middleware {
  checkDispatchSettings(settings, PACKAGE);
  const servers = new WeakSet<HttpServer>();
  return async (ctx, next) => {
    const server = serverOf(ctx.req);
    if (server && !servers.has(server)) {
      servers.add(server);
      attachUpgradeDispatch(server, { gate: appGate(), settings });
    }
    // The first request of a fresh server arrives here even when it is a handshake.
    // A malformed one is answered there and then, as on the 'upgrade' path, through Koa's respond.
    if (
      server &&
      adoptUpgradeRequest(server, ctx.req, ctx.res, (response) => respondWith(ctx, response)) === 'answered'
    )
      return;
    const connection = upgradeConnectionOf(ctx.req);
    // Read only if no endpoint claims the request (its record): the endpoint reads its own.
    if (connection)
      connection.framework = lazyFrameworkRequest({ url: ctx.originalUrl }, () => frameworkOf(ctx));
    await next();
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
export function drain(server: HttpServer, options?: CloseOptions): Promise<void> {
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
export function attach(server: HttpServer, settings: DispatchSettings = {}): void {
  checkDispatchSettings(settings, PACKAGE);
  attachUpgradeDispatch(server, { gate: appGate(), settings });
}
