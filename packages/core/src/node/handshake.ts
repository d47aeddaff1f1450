/**
 * What every adapter's endpoint does with a request it sees: decide it with the endpoint's gate,
 * then answer on the raw socket (a dispatched upgrade) or through the framework (the normal
 * request path), hand an accepted one to ws, or pass a request that is not a handshake on.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HandshakeError } from '../errors.js';
import type { AcceptDecision, Gate, RejectDecision } from '../gate.js';
import type { Logger } from '../logging.js';
import { type HandshakeRequest, pathOf } from '../request.js';
import type { HttpResponse } from '../response.js';
import { type SupervisedWebSocket, superviseConnection, watchErrors } from './connection.js';
import {
  adoptUpgradeRequest,
  attachUpgradeDispatch,
  awaitTurn,
  claimUpgrade,
  EMPTY_HEAD,
  queuedBehindEarlierResponse,
  registerEndpoint,
  serverConnectionLimit,
  serverLogger,
  type UpgradeConnection,
  upgradeConnectionOf,
  upgradesTagged,
} from './dispatcher.js';
import type { EndpointHandle } from './endpoint.js';
import { type FrameworkRequest, readRequest } from './request.js';
import { writeRawResponse } from './socket.js';
import { wsRequestView } from './ws.js';

/** A minimal view of `ws`'s `WebSocketServer` (core does not depend on ws). */
export interface UpgradeHandler<TSocket extends SupervisedWebSocket> {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: TSocket) => void): void;
}

/** Arguments of {@link completeUpgrade}. */
export interface CompleteUpgrade<TRequest, TSocket extends SupervisedWebSocket> {
  readonly gate: Gate<TRequest>;
  /** The application's request (ws sees a view of it with core's decisions; it is not changed). */
  readonly req: IncomingMessage;
  readonly handshake: HandshakeRequest;
  readonly decision: AcceptDecision | RejectDecision;
  /** The WebSocket server that performs the 101 for accepted handshakes. */
  readonly server: UpgradeHandler<TSocket>;
  /** The raw socket and the bytes read past the handshake. */
  readonly socket: Duplex;
  readonly head?: Buffer | undefined;
  readonly startedAt: number;
  readonly requestId?: string | undefined;
  /** Where to log instead of the gate's `logger` option. */
  readonly logger?: Logger | undefined;
  /** Called with the open WebSocket and the `beforeUpgrade` hook's result after the 101 was written. */
  readonly onOpen: (ws: TSocket, context: unknown) => void;
  /** Told the status the socket got (101 or the rejection's). */
  readonly settled?: ((status: number) => void) | undefined;
}

/**
 * Applies a decision on a raw socket: a rejection is written and the socket closed; an acceptance
 * is handed to ws with core's subprotocol and extension offers. Logs exactly one record, including
 * when the client went away during async checks (`CLIENT_DISCONNECTED`, nothing sent).
 */
export function completeUpgrade<TRequest, TSocket extends SupervisedWebSocket>(
  args: CompleteUpgrade<TRequest, TSocket>,
): void {
  const { gate, req, handshake, decision, socket, startedAt, requestId, logger } = args;
  const extras = { startedAt, requestId, logger };
  if (decision.kind === 'accept') socket.once('close', decision.release);
  if (socket.destroyed || !socket.writable || !socket.readable) {
    if (decision.kind === 'accept') decision.release();
    socket.destroy();
    const gone = new HandshakeError('CLIENT_DISCONNECTED', {
      detail: 'the socket closed while the handshake was being checked; nothing was sent',
    });
    gate.report(handshake, { ...gate.reject(gone), origin: decision.origin }, extras);
    return;
  }
  if (decision.kind === 'reject') {
    writeRawResponse(socket, gate.render(decision, handshake));
    args.settled?.(decision.error.status);
    gate.report(handshake, decision, extras);
    return;
  }
  args.server.handleUpgrade(wsRequestView(req, decision), socket, args.head ?? EMPTY_HEAD, (ws) => {
    // Before anything else runs: a bad frame in `head` or right after the 101 is emitted as
    // 'error', which crashes the process when nobody listens.
    const identity = {
      path: pathOf(handshake.url),
      route: handshake.route,
      framework: gate.framework,
      remoteAddress: handshake.remoteAddress,
      requestId,
      protocol: decision.protocol,
    };
    const loggers = logger ?? gate.options.logger;
    watchErrors(ws, identity, loggers);
    superviseConnection(ws, identity, { heartbeatMs: gate.options.heartbeatMs, socket, loggers });
    args.settled?.(101);
    gate.report(handshake, decision, extras);
    try {
      args.onOpen(ws, decision.context);
    } catch (error) {
      // The 101 is sent: close with 1011 (internal error) rather than leave a silent socket.
      (logger ?? gate.options.logger)?.error(
        { err: error, path: pathOf(handshake.url) },
        'websocket connection handler failed',
      );
      (ws as { close?: (code: number) => void }).close?.(1011);
    }
  });
}

/** Arguments of {@link settleHandshake}. */
export interface SettleHandshake<TRequest, TSocket extends SupervisedWebSocket> {
  readonly gate: Gate<TRequest>;
  /** The framework's request (handed to hooks). */
  readonly request: TRequest;
  /** The Node request under it. */
  readonly req: IncomingMessage;
  /** What the framework resolved for the request: client address, host and scheme, request target. */
  readonly framework?: FrameworkRequest | undefined;
  /** The WebSocket server that performs the 101. */
  readonly server: UpgradeHandler<TSocket>;
  /** Sends a response the framework's way (normal request path only). */
  readonly respond: (response: HttpResponse) => void;
  /** Lets the framework's next handler have a request that is not a handshake. */
  readonly pass: () => void;
  /** Called with the open WebSocket and the `beforeUpgrade` hook's result. */
  readonly onOpen: (ws: TSocket, context: unknown) => void;
  readonly requestId?: string | undefined;
  /** The request's own logger (Fastify's `request.log`), used instead of the `logger` option. */
  readonly logger?: Logger | undefined;
  /**
   * The upgrade connection, for an adapter whose framework plugin owns `'upgrade'` and routes
   * upgrades itself (`@fastify/websocket`). Without it, core's dispatcher is installed on the
   * request's server and provides it.
   */
  readonly upgrade?:
    | Pick<UpgradeConnection, 'socket' | 'head' | 'startedAt' | 'settled' | 'arrival'>
    | undefined;
  /** The endpoint's handle, registered with the request's server for a drain. */
  readonly endpoint?: EndpointHandle<unknown> | undefined;
  /**
   * Whether the framework ends the response itself once its pipeline is done (Koa's respond,
   * after the middleware that runs after `await next()`); otherwise core ends the framework's
   * response of a claimed upgrade when the socket got its answer.
   * @default false
   */
  readonly frameworkEndsResponse?: boolean | undefined;
  /**
   * The framework's Node response. A complete handshake that arrived on the normal request path
   * (the server had no `'upgrade'` listener yet) is then answered on its socket as a dispatched
   * one is, and the response gets the status the socket got (`res.writeHead`, which writes
   * nothing), so that access loggers and Koa's `ctx.status` see it.
   */
  readonly response?: ServerResponse | undefined;
}

/**
 * What every adapter's endpoint does with a request: decide it, then answer it on the raw socket
 * (upgrade path) or through the framework (normal request path), or pass it on. A complete
 * handshake that arrives on the normal request path (Node sends it there while the server has no
 * `'upgrade'` listener, i.e. before the dispatcher was installed) is taken over on `req.socket`.
 * Resolves once the outcome is applied; never rejects.
 */
export async function settleHandshake<TRequest, TSocket extends SupervisedWebSocket>(
  args: SettleHandshake<TRequest, TSocket>,
): Promise<void> {
  const { gate, req } = args;
  const server = serverOf(req);
  // Core routes upgrades itself unless a framework plugin does (@fastify/websocket, tagUpgrades).
  const ownsUpgrade = args.upgrade === undefined && !(server && upgradesTagged(server));
  if (server) {
    if (ownsUpgrade) {
      attachUpgradeDispatch(server, { gate: gate as Gate<never>, endpoint: args.endpoint });
      // A complete handshake on the request path (the server had no 'upgrade' listener yet) is
      // answered on its socket exactly as a dispatched one.
      if (args.response && adoptUpgradeRequest(server, req, args.response) === 'answered') return;
    } else if (args.endpoint) registerEndpoint(server, args.endpoint);
  }
  // Already answered and logged by the dispatcher (the client left, or the deadline passed, while
  // the middleware ran): one record per handshake, so nothing more here.
  if (args.upgrade === undefined && upgradeConnectionOf(req)?.claimed) return;
  const claimed = args.upgrade === undefined ? claimUpgrade(req) : undefined;
  if (claimed && args.frameworkEndsResponse) claimed.frameworkEnds = true;
  const connection = args.upgrade ?? claimed;
  const logger = args.logger ?? (server ? serverLoggerFor(gate as Gate<never>, server) : undefined);
  const startedAt = connection?.startedAt ?? performance.now();
  const handshake = readRequest(
    req,
    connection ? (connection.arrival ?? 'upgrade') : 'request',
    args.framework,
  );
  const decision = await gate.decide(handshake, args.request, server && serverConnectionLimit(server));
  if (decision.kind === 'pass') {
    args.pass();
    return;
  }
  // One object literal rather than `{ ...common, socket }`: Node 20's V8 builds an object spread
  // followed by more properties on a slow path, about 6 µs a handshake (packages/bench).
  const complete = (
    socket: Duplex,
    head: Buffer | undefined,
    settled: ((status: number) => void) | undefined,
  ) =>
    completeUpgrade({
      gate,
      req,
      handshake,
      decision,
      server: args.server,
      socket,
      head,
      startedAt,
      requestId: args.requestId,
      logger,
      onOpen: args.onOpen,
      settled,
    });
  if (connection) {
    complete(connection.socket, connection.head, connection.settled);
    return;
  }
  if (decision.kind === 'accept') {
    const socket = req.socket;
    if (ownsUpgrade && socket instanceof Socket) {
      // Pipelined behind an earlier request whose response is still being written (Node queued
      // this one's response; adoption needs the socket on it): nothing may go on the socket
      // before that response's last byte. Its turn comes when Node hands the socket over.
      if (server && args.response && queuedBehindEarlierResponse(req, args.response)) {
        const response = args.response;
        const turn = await awaitTurn(req, response, gate.options.handshakeTimeoutMs);
        if (turn === 'ready') {
          const adopted =
            adoptUpgradeRequest(server, req, response) === 'adopted' ? claimUpgrade(req) : undefined;
          if (adopted && args.frameworkEndsResponse) adopted.frameworkEnds = true;
          if (adopted) complete(adopted.socket, adopted.head, adopted.settled);
          else complete(socket, undefined, undefined);
          return;
        }
        decision.release();
        const extras = { startedAt, requestId: args.requestId, logger };
        if (turn === 'gone') {
          // Node ends the connection of a client that left; should it stay half-open, it is
          // closed once the earlier response is done. This one gets nothing.
          response.once('socket', () => socket.destroy());
          const gone = new HandshakeError('CLIENT_DISCONNECTED', {
            detail:
              'the client closed the connection while the response to an earlier request on it was still being written; nothing was sent',
          });
          gate.report(handshake, gate.reject(gone, decision.origin), extras);
          return;
        }
        const late = gate.reject(
          new HandshakeError('HANDSHAKE_TIMEOUT', {
            detail: `the response to an earlier request on the same connection (pipelined) was still being written after ${gate.options.handshakeTimeoutMs} ms`,
          }),
          decision.origin,
        );
        // Queued by Node behind the earlier response; the connection closes after it.
        const rendered = gate.render(late, handshake);
        args.respond({ ...rendered, headers: { ...rendered.headers, Connection: 'close' } });
        gate.report(handshake, late, extras);
        return;
      }
      // Not adopted for another reason (not queued behind an earlier response): taken over as is.
      complete(socket, undefined, undefined);
      return;
    }
    decision.release();
    const missing = gate.reject(
      new HandshakeError('UPGRADE_LISTENER_MISSING', {
        detail: ownsUpgrade
          ? 'the request has no network socket to take over (an in-process test client, or HTTP/2)'
          : 'a complete handshake arrived as a plain request: the server this plugin listens on for upgrades is not the one that received it',
      }),
      decision.origin,
    );
    args.respond(gate.render(missing, handshake));
    gate.report(handshake, missing, { startedAt, requestId: args.requestId, logger });
    return;
  }
  args.respond(gate.render(decision, handshake));
  gate.report(handshake, decision, { startedAt, requestId: args.requestId, logger });
}

/** The `http`/`https` server a request arrived on, if it has one. */
export function serverOf(req: IncomingMessage): HttpServer | undefined {
  const server = (req.socket as (Duplex & { server?: unknown }) | null)?.server;
  return server instanceof Server ? (server as HttpServer) : undefined;
}

/** The endpoint's own logger wins; else the one set for the whole server (app-level middleware). */
function serverLoggerFor(gate: Gate<never>, server: HttpServer): Logger | undefined {
  return gate.options.logger === undefined ? serverLogger(server) : undefined;
}
