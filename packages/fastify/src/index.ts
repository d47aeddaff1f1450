/**
 * @wsgate/fastify — the wsgate handshake checks as a Fastify 5 plugin on @fastify/websocket 11.
 *
 * This file only translates: Fastify request → @wsgate/core decision → Fastify reply or ws.
 * Statuses, header parsing, negotiation and option rules all live in @wsgate/core.
 *
 * The plugin registers @fastify/websocket itself (so that ws gets core's `handleProtocols` and
 * only the permessage-deflate offers core accepted) and keeps its model: @fastify/websocket owns
 * `'upgrade'` and routes each upgrade through Fastify with `fastify.routing(req, res)`, so every
 * hook runs before the 101. Three hooks-in, no policy:
 * - `fastify.routing` is wrapped to hand that response to core's `holdUpgradeResponse` (a reply an
 *   auth hook sends is completed, flushed and logged; an unrouted upgrade gets `ENDPOINT_NOT_FOUND`);
 * - `onRoute` wraps @fastify/websocket's handler of each `{ websocket: true }`/`wsHandler` route
 *   so that core decides before @fastify/websocket calls `wss.handleUpgrade`;
 * - `onRequest` tells core the request's logger and id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifyWebsocket, { type WebsocketPluginOptions } from '@fastify/websocket';
import {
  checkWsSettings,
  createGate,
  holdUpgradeResponse,
  isProtocolError,
  pathOf,
  type ReservedWsOption,
  settleHandshake,
  upgradeConnectionOf,
  type WsGateOptions,
  wsServerOptions,
} from '@wsgate/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import type { WebSocket } from 'ws';

export { HandshakeError, type HandshakeRecord, type Logger } from '@wsgate/core';

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
   * @example (error, socket, request) => { request.log.warn({ err: error }); socket.close(1011); }
   */
  readonly errorHandler?: NonNullable<WebsocketPluginOptions['errorHandler']>;
  /**
   * Runs on `fastify.close()` (@fastify/websocket's `preClose`).
   * @default closes every open connection
   */
  readonly preClose?: NonNullable<WebsocketPluginOptions['preClose']>;
  /**
   * Settings for the shared `ws` server, e.g. `{ maxPayload: 1 << 20 }`.
   * @default {}
   */
  readonly options?: WsSettings;
}

/**
 * Options of the plugin: core's options as the defaults of every WebSocket route (the same object
 * works with every wsgate adapter), plus @fastify/websocket's. Hooks such as `beforeUpgrade`
 * receive the Fastify request.
 */
export interface WsGatePluginOptions extends WsGateOptions<FastifyRequest> {
  /**
   * Options for @fastify/websocket, which this plugin registers (do not register it yourself).
   * @default {}
   * @example { options: { maxPayload: 1 << 20 }, errorHandler: (err, socket) => socket.terminate() }
   */
  readonly websocket?: WebSocketPluginSettings | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * wsgate options of this WebSocket route, on top of the plugin's options.
     * A route with its own HTTP `handler` next to `wsHandler` passes plain requests to it
     * (`plainRequests: 'pass'`) unless set here.
     * @example { protocols: ['chat.v2', 'chat.v1'], requireProtocol: true }
     */
    wsgate?: WsGateOptions<FastifyRequest> | undefined;
  }
  interface FastifyRequest {
    /** What the route's `beforeUpgrade` hook returned for this connection (`null` before that). */
    wsContext: unknown;
  }
}

const PACKAGE = '@wsgate/fastify';
const ADAPTER = { framework: 'fastify', packageName: PACKAGE } as const;
type Handler = (
  this: FastifyInstance,
  request: FastifyRequest,
  reply: Parameters<RouteHandlerMethod>[1],
) => unknown;

/** ws options that would let ws (or another server) decide handshakes core decides. */
const plugin: FastifyPluginAsync<WsGatePluginOptions> = async (fastify, options) => {
  // Fastify mixes its register options into the plugin's options.
  const {
    websocket: settings = {},
    prefix: _p,
    logLevel: _l,
    logSerializers: _s,
    ...defaults
  } = (options ?? {}) as WsGatePluginOptions & Record<'prefix' | 'logLevel' | 'logSerializers', unknown>;
  // Answers upgrades no route claimed; logs to fastify.log when no hook told core the request's log.
  const defaultGate = createGate<FastifyRequest>(
    { ...defaults, logger: defaults.logger ?? fastify.log },
    ADAPTER,
  );
  if (typeof settings !== 'object' || settings === null) {
    throw new TypeError(`${PACKAGE}: option \`websocket\` must be an object of @fastify/websocket options`);
  }
  checkWsSettings(settings.options, PACKAGE, 'websocket.options');
  if (fastify.hasRequestDecorator('wsContext')) {
    throw new Error(`${PACKAGE}: the plugin is already registered on this instance; register it once`);
  }
  if (fastify.hasDecorator('websocketServer')) {
    throw new Error(
      `${PACKAGE}: @fastify/websocket is already registered. Register only @wsgate/fastify (it registers @fastify/websocket) and pass @fastify/websocket's options as \`websocket\`.`,
    );
  }
  const { noServer: _, ...handshake } = wsServerOptions(true);
  await fastify.register(fastifyWebsocket, {
    errorHandler: defaultErrorHandler,
    ...settings,
    options: { ...settings.options, ...handshake },
  });
  fastify.decorateRequest('wsContext', null);

  // Core's acceptance callback, run by ws's 'connection' before @fastify/websocket calls the route.
  const opening = new WeakMap<IncomingMessage, (ws: WebSocket) => void>();
  fastify.websocketServer.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    opening.get(req)?.(ws);
    opening.delete(req);
  });
  const requests = new WeakMap<IncomingMessage, FastifyRequest>();

  const server = fastify.server;
  const routing = fastify.routing;
  fastify.routing = function (this: FastifyInstance, req: IncomingMessage, res: ServerResponse) {
    // @fastify/websocket routes an upgrade with a response it assigned to the upgrade socket.
    if (res.socket && req.headers.upgrade !== undefined && upgradeConnectionOf(req) === undefined) {
      holdUpgradeResponse({ server, req, res, socket: res.socket, gate: defaultGate });
      // @fastify/websocket destroys the socket in onResponse; core owns it now (it flushes the
      // response, or leaves the socket to another 'upgrade' listener on the server).
      res.once('finish', () => {
        const request = requests.get(req);
        if (request) request.ws = false;
      });
    }
    routing.call(this, req, res);
  };

  fastify.addHook('onRequest', (request, _reply, done) => {
    const connection = upgradeConnectionOf(request.raw);
    if (connection) {
      connection.logger = defaults.logger ?? request.log;
      connection.requestId = request.id;
      requests.set(request.raw, request);
    }
    done();
  });

  fastify.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (methods.every((method) => method === 'HEAD')) return;
    const original = route.handler as Handler;
    if (!route.websocket && !route.wsHandler) {
      // An upgrade to an HTTP-only route: @fastify/websocket would answer 101 and close at once.
      route.handler = function (this: FastifyInstance, request, reply) {
        if (request.ws && upgradeConnectionOf(request.raw)) return reply.callNotFound();
        return original.call(this, request, reply);
      } as Handler as RouteHandlerMethod;
      return;
    }
    const hasHttpHandler = !route.websocket;
    const gate = createGate<FastifyRequest>(
      { ...defaults, ...(hasHttpHandler ? { plainRequests: 'pass' } : {}), ...route.config?.wsgate },
      ADAPTER,
    );
    route.handler = function (this: FastifyInstance, request, reply) {
      if (upgradeConnectionOf(request.raw)) reply.hijack();
      // Resolves with the HTTP handler's result, or with `reply`: a thenable that settles once the
      // response is sent (Fastify's `return reply`).
      let passed: unknown;
      return settleHandshake<FastifyRequest, WebSocket>({
        gate,
        request,
        req: request.raw,
        // ws's 101 stays @fastify/websocket's: its handler calls wss.handleUpgrade and the route.
        server: {
          handleUpgrade: (req, _socket, _head, opened) => {
            opening.set(req, opened);
            original.call(this, request, reply);
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
        installDispatcher: false,
      }).then(() => passed ?? reply);
    } as Handler as RouteHandlerMethod;
  });
};

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
 * The wsgate plugin: register it once, before your routes, instead of `@fastify/websocket`.
 * Every `{ websocket: true }` (or `wsHandler`) route then gets core's checks before the 101;
 * per-route options go in the route's `config.wsgate`. Records are logged through `request.log`.
 *
 * @example
 * ```ts
 * await app.register(wsgate, { origins: ['https://app.example.com'] });
 * app.get('/chat', { websocket: true, config: { wsgate: { protocols: ['chat.v2'] } } }, (socket) => {
 *   socket.on('message', (data) => socket.send(data));
 * });
 * ```
 */
export const wsgate = fp(plugin, { fastify: '5.x', name: PACKAGE });
export default wsgate;
