/**
 * @wsgate/koa — WebSocket endpoints for Koa 3.
 *
 * This file only translates: Koa context → @wsgate/core decision → Koa response or ws.
 * Statuses, header parsing, negotiation and option rules all live in @wsgate/core.
 *
 * Upgrade requests run through the Koa app (core's upgrade dispatcher emits them on the server's
 * request path), so every middleware registered before the endpoint runs before the 101, and a
 * response it sets (`ctx.status = 401`, `ctx.throw(401)`) reaches the client as it was set.
 */
import type { Server as HttpServer } from 'node:http';
import { Server } from 'node:net';
import {
  type AttachOptions,
  attachUpgradeDispatch,
  checkWsSettings,
  createGate,
  type Gate,
  type HttpResponse,
  type ReservedWsOption,
  settleHandshake,
  type WsGateOptions,
  wsServerOptions,
} from '@wsgate/core';
import type { DefaultContext, DefaultState, Middleware, ParameterizedContext } from 'koa';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

export { HandshakeError, type HandshakeRecord, type Logger } from '@wsgate/core';

/** ws settings wsgate leaves to you (the handshake-related ones are core's). */
export type WsSettings = Omit<ServerOptions, ReservedWsOption>;

/**
 * Options of {@link websocket}: core's options (the same object works with every wsgate adapter),
 * plus ws settings. Hooks such as `beforeUpgrade` receive the Koa context.
 *
 * @typeParam StateT - The type of `ctx.state` (what earlier middleware sets).
 * @typeParam ContextT - Custom properties of the Koa context.
 */
export interface WebSocketOptions<StateT = DefaultState, ContextT = DefaultContext>
  extends WsGateOptions<ParameterizedContext<StateT, ContextT>> {
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
export type ConnectionHandler<StateT = DefaultState, ContextT = DefaultContext> = (
  ws: WebSocket,
  ctx: ParameterizedContext<StateT, ContextT>,
  context: unknown,
) => void;

/** The Koa middleware of a WebSocket endpoint, with its ws server for shutdown and broadcasts. */
export interface WebSocketEndpoint<StateT = DefaultState, ContextT = DefaultContext>
  extends Middleware<StateT, ContextT> {
  /** The endpoint's ws server (`wss.clients` lists open connections). */
  readonly wss: WebSocketServer;
  /** The endpoint's gate (its validated options). */
  readonly gate: Gate<ParameterizedContext<StateT, ContextT>>;
}

const PACKAGE = '@wsgate/koa';

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
 *   ws.on('message', (data) => ws.send(data));
 * }));
 * ```
 * @example
 * ```ts
 * router.get('/chat', websocket({ protocols: ['chat.v2', 'chat.v1'] }, (ws, ctx) => {
 *   ws.send(`hello ${ctx.state.user.name}`);
 * }));
 * ```
 */
export function websocket<StateT = DefaultState, ContextT = DefaultContext>(
  path: string,
  options: WebSocketOptions<StateT, ContextT>,
  onConnection: ConnectionHandler<StateT, ContextT>,
): WebSocketEndpoint<StateT, ContextT>;
export function websocket<StateT = DefaultState, ContextT = DefaultContext>(
  options: WebSocketOptions<StateT, ContextT>,
  onConnection: ConnectionHandler<StateT, ContextT>,
): WebSocketEndpoint<StateT, ContextT>;
export function websocket<StateT, ContextT>(
  pathOrOptions: string | WebSocketOptions<StateT, ContextT>,
  optionsOrHandler: WebSocketOptions<StateT, ContextT> | ConnectionHandler<StateT, ContextT>,
  handler?: ConnectionHandler<StateT, ContextT>,
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
  const { ws: wsSettings, ...gateOptions } = (options ?? {}) as WebSocketOptions<StateT, ContextT>;
  const gate = createGate<Ctx>(gateOptions, { framework: 'koa', packageName: PACKAGE });
  checkWsSettings(wsSettings, PACKAGE, 'ws');
  const wss = new WebSocketServer({ ...wsSettings, ...wsServerOptions(gate.options.perMessageDeflate) });

  const middleware = async (ctx: Ctx, next: () => Promise<unknown>): Promise<void> => {
    // Install the dispatcher on the first request of any kind (not only this path's), so that
    // later handshakes reach Koa and responses middleware writes to them are logged here too.
    const server = (ctx.req.socket as { server?: unknown } | null)?.server;
    if (server instanceof Server) attachUpgradeDispatch(server, gate as Gate<never>);
    if (path !== undefined && ctx.path !== path) return void (await next());
    let passed = false;
    let responded = false;
    await settleHandshake<Ctx, WebSocket>({
      gate,
      request: ctx,
      req: ctx.req,
      server: wss,
      respond: (response: HttpResponse) => {
        responded = true;
        ctx.status = response.status;
        ctx.set(response.headers);
        ctx.body = response.body;
      },
      pass: () => {
        passed = true;
      },
      onOpen: (ws, context) => onConnection(ws, ctx, context),
    });
    if (passed) await next();
    // The socket was answered or handed to ws directly: Koa must not write a response after it.
    else if (!responded) ctx.respond = false;
  };
  return Object.assign(middleware, { wss, gate }) as WebSocketEndpoint<StateT, ContextT>;
}

/**
 * Installs wsgate's upgrade handling on a server before its first request. Without it, the first
 * request the app sees installs it, and a handshake rejected by middleware before that (the very
 * first request to a fresh server) is answered by the framework alone: unlogged and without the
 * mandatory headers. Call it when another library adds an `'upgrade'` listener before any request
 * reaches the app, or to log upgrades that reach no endpoint.
 *
 * @param options - `logger` receives the records of upgrades no endpoint claimed.
 * @example
 * ```ts
 * const server = app.listen(3000);
 * attach(server, { logger });
 * ```
 */
export function attach(server: HttpServer, options: AttachOptions = {}): void {
  attachUpgradeDispatch(server, createGate(options, { framework: 'koa', packageName: PACKAGE }));
}
