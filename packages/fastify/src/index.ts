/**
 * @wsgate/fastify — the wsgate handshake checks as a Fastify 5 plugin on @fastify/websocket 11.
 *
 * This file only translates: Fastify request → @wsgate/core decision → Fastify reply or ws.
 * Statuses, header parsing, negotiation and option rules all live in @wsgate/core.
 *
 * @fastify/websocket owns `'upgrade'` and routes each upgrade through Fastify with a real
 * `ServerResponse` on the socket, so every hook runs before the 101. wsgate adds, on documented
 * ground only:
 * - a prepended `'upgrade'` listener that tags upgrade requests (socket, head, arrival time);
 * - `onRequest` to learn the request's logger, id and client address;
 * - `onRoute` to wrap each `{ websocket: true }`/`wsHandler` route, so core decides before ws;
 * - `onSend` to give a reply to an unclaimed upgrade its mandatory headers, and turn Fastify's 404
 *   into `ENDPOINT_NOT_FOUND`; `onResponse` to log it.
 * One reliance on @fastify/websocket's behaviour is left, with a canary test: it hands `ws` the
 * request object itself, so core shows ws a view of the headers for the synchronous span of the
 * negotiation (restored before any application code runs).
 */
import type { IncomingMessage } from 'node:http';
import fastifyWebsocket, { type WebsocketPluginOptions } from '@fastify/websocket';
import { createGate, type Gate, pathOf, type WsGateOptions } from '@wsgate/core';
import {
  type CloseOptions,
  checkWsSettings,
  claimUpgrade,
  closeAfterFlush,
  drainServer,
  type EndpointHandle,
  endpointHandle,
  type FrameworkRequest,
  isProtocolError,
  lazyFrameworkRequest,
  limitServerConnections,
  missingRequiredHeaders,
  notFoundError,
  type ReservedWsOption,
  readRequest,
  registerEndpoint,
  routeTaggedUpgrades,
  settleHandshake,
  stopRoutingTaggedUpgrades,
  tagUpgrades,
  type UpgradeConnection,
  type UpgradeListener,
  upgradeConnectionOf,
  wsServerOptions,
} from '@wsgate/core/node';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
} from 'fastify';
import fp from 'fastify-plugin';
import type { WebSocket } from 'ws';

export { HandshakeError, type HandshakeRecord, type Logger } from '@wsgate/core';
export type { CloseOptions, EndpointHandle } from '@wsgate/core/node';

/** ws settings wsgate leaves to you (the handshake-related ones are core's). */
export type WsSettings = Omit<NonNullable<WebsocketPluginOptions['options']>, ReservedWsOption>;

/** The @fastify/websocket options wsgate passes on when it registers @fastify/websocket. */
export interface WebSocketPluginSettings {
  /**
   * Handles an error of an open connection (@fastify/websocket's `errorHandler`): an error the
   * route's handler threw, or a peer breaking the protocol.
   * @default a protocol error is logged by wsgate (info, with the connection's identity) and ws
   *   closes the connection with its close code (1002, 1007, 1009); an error the handler threw is
   *   logged with `request.log.error` and the connection closed with 1011
   */
  readonly errorHandler?: NonNullable<WebsocketPluginOptions['errorHandler']>;
  /**
   * Runs on `fastify.close()` (@fastify/websocket's `preClose`).
   * @default drains: new handshakes get `503 SERVER_SHUTTING_DOWN`, every open connection closes
   *   with 1001, then ws's server closes
   */
  readonly preClose?: NonNullable<WebsocketPluginOptions['preClose']>;
}

/**
 * Options of the plugin: core's options as the defaults of every WebSocket route (the same object
 * works with every wsgate adapter), plus ws settings and @fastify/websocket's. Hooks such as
 * `beforeUpgrade` receive the Fastify request.
 */
export interface WsGatePluginOptions extends WsGateOptions<FastifyRequest> {
  /**
   * Settings for the `ws` server, e.g. `{ maxPayload: 1 << 20 }` (the same option as in the
   * Express and Koa adapters). Ignored when another plugin registered @fastify/websocket first.
   * @default {}
   */
  readonly ws?: WsSettings | undefined;
  /**
   * Options for @fastify/websocket, which this plugin registers unless another plugin did first.
   * @default {}
   */
  readonly websocket?: WebSocketPluginSettings | undefined;
  /**
   * The most open WebSocket connections the whole server holds, across all its routes; a
   * handshake beyond it gets `503 TOO_MANY_CONNECTIONS` with `Retry-After` (`maxConnections`
   * limits each route).
   * @default no limit
   */
  readonly maxServerConnections?: number | undefined;
}

/** The wsgate decoration of the Fastify instance. */
export interface WsGateDecoration {
  /** Each WebSocket route's handle (its open connections and `close()`), by route path. */
  readonly endpoints: ReadonlyMap<string, EndpointHandle<WebSocket>>;
  /**
   * Drains every WebSocket route: new handshakes get `503 SERVER_SHUTTING_DOWN`, open connections
   * close with `code` (1001 by default). `fastify.close()` does this by default (the plugin's
   * `preClose`).
   */
  drain(options?: CloseOptions): Promise<void>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * wsgate options of this WebSocket route, on top of the plugin's options.
     * A route with its own HTTP `handler` next to `wsHandler` passes plain requests to it
     * (`plainRequests: 'pass'`) unless set here. `false` leaves the route to @fastify/websocket
     * alone (another library's endpoint, e.g. GraphQL over WebSocket).
     * @example { protocols: ['chat.v2', 'chat.v1'], requireProtocol: true }
     */
    wsgate?: WsGateOptions<FastifyRequest> | false | undefined;
  }
  interface FastifyRequest {
    /** What the route's `beforeUpgrade` hook returned for this connection (`null` before that). */
    wsContext: unknown;
  }
  interface FastifyInstance {
    /** wsgate's endpoints. */
    wsgate: WsGateDecoration;
  }
}

const PACKAGE = '@wsgate/fastify';
const ADAPTER = {
  framework: 'fastify',
  packageName: PACKAGE,
  extraOptions: ['ws', 'websocket', 'maxServerConnections'],
} as const;
type Handler = (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown;

/** What Fastify resolved for a request: client address, host and scheme (its `trustProxy` applied). */
function frameworkOf(request: FastifyRequest): FrameworkRequest {
  return {
    route: request.routeOptions.url,
    clientAddress: request.ip,
    site: request.hostname ? { hostname: request.hostname, protocol: request.protocol } : undefined,
  };
}

const plugin: FastifyPluginAsync<WsGatePluginOptions> = async (fastify, options) => {
  // Fastify mixes its register options into the plugin's options.
  const {
    websocket: settings = {},
    ws: wsSettings,
    maxServerConnections,
    prefix: _p,
    logLevel: _l,
    logSerializers: _s,
    ...defaults
  } = (options ?? {}) as WsGatePluginOptions & Record<'prefix' | 'logLevel' | 'logSerializers', unknown>;
  // Names the framework and renders rejections for upgrades no route claimed.
  const defaultGate = createGate<FastifyRequest>(
    { ...defaults, logger: defaults.logger ?? fastify.log },
    ADAPTER,
  );
  if (typeof settings !== 'object' || settings === null) {
    throw new TypeError(`${PACKAGE}: option \`websocket\` must be an object of @fastify/websocket options`);
  }
  checkWsSettings(wsSettings, PACKAGE, 'ws');
  if ('options' in settings) {
    throw new TypeError(
      `${PACKAGE}: option \`websocket.options\` moved to \`ws\` (the same name in every adapter)`,
    );
  }
  if (fastify.hasDecorator('wsgate')) {
    throw new Error(`${PACKAGE}: the plugin is already registered on this instance; register it once`);
  }
  // What no request of Fastify's carries a `request.log` for (a malformed handshake answered on
  // arrival, the router's own 400/414, the server's descriptor and TLS records) goes to the
  // plugin's `logger`, else to Fastify's own (the default gate's logger).
  tagUpgrades(fastify.server, {
    logger: defaultGate.options.logger,
    framework: 'fastify',
    production: defaultGate.options.production,
  });
  if (maxServerConnections !== undefined)
    limitServerConnections(fastify.server, maxServerConnections, PACKAGE);
  const endpoints = new Map<string, EndpointHandle<WebSocket>>();
  fastify.decorate('wsgate', {
    endpoints,
    drain: (closeOptions?: CloseOptions) => drainServer(fastify.server, closeOptions),
  });
  fastify.decorateRequest('wsContext', null);

  // Where @fastify/websocket is already registered (another plugin's GraphQL route, say), share
  // it: core decides before ws on wsgate's routes, and leaves the other routes alone.
  const upgradeListeners = new Set(fastify.server.listeners('upgrade'));
  if (!fastify.hasDecorator('websocketServer')) {
    const { noServer: _, ...handshake } = wsServerOptions(true);
    await fastify.register(fastifyWebsocket, {
      errorHandler: defaultErrorHandler,
      // fastify.close(): refuse new handshakes, close every open connection with 1001 ("going
      // away", which clients retry) rather than @fastify/websocket's 1005, then close ws's server.
      preClose: async function (this: FastifyInstance) {
        await drainServer(this.server);
        await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
      },
      ...settings,
      options: { ...wsSettings, ...handshake },
    });
  }

  // @fastify/websocket's own 'upgrade' listener, which a handshake pipelined behind a response still
  // being written is handed to once that response is done: the one its registration just added,
  // or, where another plugin registered it first, the one named as in its source (`onUpgrade`).
  const listeners = fastify.server.listeners('upgrade') as UpgradeListener[];
  const router =
    listeners.find((listener) => !upgradeListeners.has(listener)) ??
    listeners.find((listener) => listener.name === 'onUpgrade');
  if (router) {
    routeTaggedUpgrades(fastify.server, router);
    fastify.addHook('preClose', (done) => {
      stopRoutingTaggedUpgrades(fastify.server);
      done();
    });
  }

  // Core's acceptance callback, run by ws's 'connection' before @fastify/websocket calls the route.
  const opening = new WeakMap<IncomingMessage, (ws: WebSocket) => void>();
  fastify.websocketServer.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    opening.get(req)?.(ws);
    opening.delete(req);
  });

  fastify.addHook('onRequest', (request, _reply, done) => {
    const connection = upgradeConnectionOf(request.raw);
    if (connection) {
      // Fastify's hooks see it: its onResponse logs what no route claimed (core logs only what
      // Fastify's router answers before any hook).
      connection.routed = true;
      connection.logger = defaults.logger ?? request.log;
      connection.requestId = request.id;
      // Read only if no endpoint claims the request (its record): the endpoint reads its own.
      connection.framework = lazyFrameworkRequest({ route: request.routeOptions.url }, () =>
        frameworkOf(request),
      );
    }
    done();
  });

  // A reply to an upgrade no route claimed (an auth hook's 401, Fastify's 404): real HTTP, with
  // the headers its status requires; Fastify's 404 becomes wsgate's ENDPOINT_NOT_FOUND.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const connection = unclaimed(request);
    if (!connection) return done(null, payload);
    // A reply from a hook that ran before wsgate's onRequest (an auth hook registered first):
    // Fastify's onResponse, where it is logged, follows.
    connection.routed = true;
    // @fastify/websocket destroys the socket after this response: say so.
    reply.header('Connection', 'close');
    if (reply.statusCode === 404) {
      const response = defaultGate.render(notFound(request, connection), handshakeOf(request, connection));
      for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
      reply.code(response.status).headers({ ...response.headers, Connection: 'close' });
      return done(null, response.body);
    }
    for (const [name, value] of missingRequiredHeaders(reply.statusCode, (name) => reply.hasHeader(name))) {
      reply.header(name, value);
    }
    done(null, payload);
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    const connection = unclaimed(request);
    if (connection) {
      connection.claimed = true;
      // @fastify/websocket closes it too, unless a hook answered before its own onRequest ran.
      closeAfterFlush(connection.socket);
      const handshake = handshakeOf(request, connection);
      const extras = { startedAt: connection.startedAt, requestId: request.id, logger: connection.logger };
      const decision = notFoundDecisions.get(connection);
      if (decision) defaultGate.report(handshake, decision, extras);
      else defaultGate.reportResponse(handshake, reply.statusCode, extras);
    }
    done();
  });

  const notFoundDecisions = new WeakMap<UpgradeConnection, ReturnType<Gate<unknown>['reject']>>();
  function notFound(request: FastifyRequest, connection: UpgradeConnection) {
    const error = notFoundError(request.method, request.url);
    const decision = defaultGate.reject(error);
    notFoundDecisions.set(connection, decision);
    return decision;
  }

  fastify.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (methods.every((method) => method === 'HEAD')) return;
    const original = route.handler as Handler;
    if (!route.websocket && !route.wsHandler) {
      // An upgrade to an HTTP-only route: @fastify/websocket would answer 101 and close at once.
      route.handler = function (this: FastifyInstance, request, reply) {
        if (upgradeConnectionOf(request.raw)) return reply.callNotFound();
        return original.call(this, request, reply);
      } as Handler as RouteHandlerMethod;
      return;
    }
    if (route.config?.wsgate === false) {
      // Not wsgate's: @fastify/websocket answers it as it would without wsgate.
      route.handler = function (this: FastifyInstance, request, reply) {
        claimUpgrade(request.raw);
        return original.call(this, request, reply);
      } as Handler as RouteHandlerMethod;
      return;
    }
    const hasHttpHandler = !route.websocket;
    const gate = createGate<FastifyRequest>(
      { ...defaults, ...(hasHttpHandler ? { plainRequests: 'pass' } : {}), ...route.config?.wsgate },
      ADAPTER,
    );
    // A route made with websocket(options, handler) carries its handle: bind it to this gate.
    const declared = (route.config as Record<symbol, unknown> | undefined)?.[kEndpoint] as
      | DeclaredEndpoint
      | undefined;
    const connections = declared?.connections ?? new Set<WebSocket>();
    const handle = endpointHandle(gate as Gate<never>, connections);
    declared?.bind(handle);
    endpoints.set(route.url, handle);
    registerEndpoint(fastify.server, handle as EndpointHandle<unknown>);
    route.handler = function (this: FastifyInstance, request, reply) {
      const connection = claimUpgrade(request.raw);
      if (connection) reply.hijack();
      // Resolves with the HTTP handler's result, or with `reply`: a thenable that settles once the
      // response is sent (Fastify's `return reply`).
      let passed: unknown;
      return settleHandshake<FastifyRequest, WebSocket>({
        gate,
        request,
        req: request.raw,
        framework: frameworkOf(request),
        upgrade: connection,
        // ws's 101 stays @fastify/websocket's: its handler calls wss.handleUpgrade and the route.
        server: {
          handleUpgrade: (view, _socket, _head, opened) => {
            opening.set(request.raw, (ws) => {
              restore();
              connections.add(ws);
              ws.once('close', () => connections.delete(ws));
              opened(ws);
            });
            const restore = showToWs(request.raw, view);
            try {
              original.call(this, request, reply);
            } finally {
              restore();
            }
          },
        },
        respond: (response) => reply.code(response.status).headers(response.headers).send(response.body),
        pass: () => {
          passed = original.call(this, request, reply);
        },
        onOpen: (_ws, context) => {
          request.wsContext = context;
        },
        requestId: request.id,
        logger: gate.options.logger ?? request.log,
      }).then(() => passed ?? reply);
    } as Handler as RouteHandlerMethod;
  });
};

const kEndpoint = Symbol.for('@wsgate/fastify.endpoint');

/**
 * Called for every accepted connection (the same shape as in the Express and Koa adapters).
 *
 * @param socket - The open WebSocket.
 * @param request - The Fastify request, with whatever earlier hooks set on it.
 * @param context - What the `beforeUpgrade` hook returned.
 */
export type ConnectionHandler<TContext = undefined> = (
  this: FastifyInstance,
  socket: WebSocket,
  request: FastifyRequest,
  context: TContext,
) => unknown;

/** The route options {@link websocket} returns, with the endpoint's handle. */
export interface WebSocketRoute extends EndpointHandle<WebSocket> {
  readonly websocket: true;
  readonly config: { readonly wsgate: WsGateOptions<FastifyRequest> };
  readonly handler: (this: FastifyInstance, socket: WebSocket, request: FastifyRequest) => unknown;
}

interface DeclaredEndpoint {
  readonly connections: Set<WebSocket>;
  bind(handle: EndpointHandle<WebSocket>): void;
}

/**
 * A WebSocket route's options, the way the Express and Koa adapters declare an endpoint:
 * `app.get(path, websocket(options, handler))`. The handler gets `(socket, request, context)`,
 * `context` typed from `beforeUpgrade`; the returned object is also the endpoint's handle
 * (`connections`, `close()`) once the route is registered. Plain `{ websocket: true }` routes work
 * as well (their context is `request.wsContext`).
 *
 * @example
 * ```ts
 * app.get('/chat', websocket({ protocols: ['chat.v2'] }, (socket, request, context) => {
 *   socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
 * }));
 * ```
 */
export function websocket<TContext = undefined>(
  options: WsGateOptions<FastifyRequest, TContext>,
  handler: ConnectionHandler<TContext>,
): WebSocketRoute {
  if (typeof handler !== 'function') {
    throw new TypeError(`${PACKAGE}: websocket(options, handler) needs a connection handler function`);
  }
  const connections = new Set<WebSocket>();
  let bound: EndpointHandle<WebSocket> | undefined;
  const declared: DeclaredEndpoint = {
    connections,
    bind: (handle) => {
      bound = handle;
    },
  };
  return {
    websocket: true,
    config: {
      wsgate: options as WsGateOptions<FastifyRequest>,
      [kEndpoint]: declared,
    } as WebSocketRoute['config'],
    handler(this: FastifyInstance, socket, request) {
      return handler.call(this, socket, request, request.wsContext as TContext);
    },
    connections,
    close: (closeOptions) => {
      if (!bound) throw new Error(`${PACKAGE}: close() before the route was registered`);
      return bound.close(closeOptions);
    },
  };
}

/** The tagged upgrade connection of a request no route claimed yet. */
function unclaimed(request: FastifyRequest): UpgradeConnection | undefined {
  const connection = upgradeConnectionOf(request.raw);
  return connection && !connection.claimed ? connection : undefined;
}

function handshakeOf(request: FastifyRequest, connection: UpgradeConnection) {
  return readRequest(request.raw, 'upgrade', connection.framework);
}

/**
 * @fastify/websocket hands `ws` the request object itself, and ws reads the handshake from its
 * headers synchronously inside `handleUpgrade`: for that span, the request carries the headers of
 * core's view (the chosen subprotocol, the accepted deflate offers). Returns the restore, which
 * runs before any application code (ws's `'connection'`) and again when the call returns.
 */
function showToWs(req: IncomingMessage, view: IncomingMessage): () => void {
  const own = req.headers;
  req.headers = view.headers;
  return () => {
    req.headers = own;
  };
}

/**
 * @fastify/websocket's own default logs every error at error level and terminates the socket,
 * which would cut off the close frame ws sends for a protocol error, and log a client's fault as
 * the server's.
 */
function defaultErrorHandler(error: Error, socket: WebSocket, request: FastifyRequest): void {
  if (isProtocolError(error)) return;
  request.log.error({ err: error, path: pathOf(request.url) }, 'websocket connection handler failed');
  socket.close(1011);
}

/**
 * The wsgate plugin: register it once, before your routes, instead of `@fastify/websocket` (or
 * after another plugin registered @fastify/websocket: wsgate then shares it). Every
 * `{ websocket: true }` (or `wsHandler`) route then gets core's checks before the 101; per-route
 * options go in the route's `config.wsgate`. Records are logged through `request.log`.
 *
 * @example
 * ```ts
 * await app.register(wsgate, { origins: ['https://app.example.com'] });
 * app.get('/chat', { websocket: true, config: { wsgate: { protocols: ['chat.v2'] } } }, (socket) => {
 *   socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
 * });
 * ```
 */
export const wsgate = fp(plugin, { fastify: '5.x', name: PACKAGE });
export default wsgate;
