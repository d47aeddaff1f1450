/**
 * Running upgrade requests through a framework's normal request pipeline, so that its middleware
 * (auth, sessions, rate limits) runs before the 101 and a response it writes reaches the client.
 *
 * Node delivers a handshake to `'upgrade'` listeners only, with a bare socket and no response
 * object. The dispatcher installed here answers that event by emitting the request on the server's
 * `'request'` path with a `ServerResponse` whose output is held back: a wsgate endpoint that sees
 * the request claims it and answers on the socket itself; a response the application writes
 * first (a 401 from auth middleware) is completed with its mandatory headers, logged, and flushed;
 * a request that no endpoint claims gets `ENDPOINT_NOT_FOUND`, unless another `'upgrade'`
 * listener on the same server took the socket.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { catalog, type HandshakeErrorCode } from './catalog.js';
import { type OpenWebSocket, watchErrors } from './connection.js';
import { HandshakeError } from './errors.js';
import { type AcceptDecision, createGate, type Gate, type RejectDecision } from './gate.js';
import { type HandshakeRecord, type Logger, reportHandshake } from './logging.js';
import { guardSocket, writeRawResponse } from './node.js';
import { type HandshakeRequest, pathOf, readRequest } from './request.js';
import type { HttpResponse } from './response.js';
import { prepareForWs } from './ws-glue.js';

const kUpgrade = Symbol.for('@wsgate/core.upgrade');
const EMPTY = Buffer.alloc(0);

/**
 * How long an upgrade that no wsgate endpoint claimed is left to other `'upgrade'` listeners on
 * the same server before wsgate answers `ENDPOINT_NOT_FOUND` (never a hang).
 */
export const UNCLAIMED_UPGRADE_GRACE_MS = 2_000;

/** The raw connection behind an upgrade request that the dispatcher runs through the app. */
export interface UpgradeConnection {
  readonly socket: Duplex;
  readonly head: Buffer;
  /** `performance.now()` when the `'upgrade'` event fired. */
  readonly startedAt: number;
  /** Set by the endpoint that takes the request; from then on only it writes to the socket. */
  claimed: boolean;
  /**
   * The request's own logger (Fastify's `request.log`), once an adapter knows it: outcomes no
   * endpoint claimed are logged there instead of the gates' loggers.
   */
  logger?: Logger | undefined;
  /** The framework's request id, once known, for the record of an unclaimed outcome. */
  requestId?: string | undefined;
}

type Tagged = IncomingMessage & { [kUpgrade]?: UpgradeConnection };

/**
 * Lets go of what {@link holdUpgradeResponse} holds once an endpoint claims the request: the held
 * response is never flushed then, and the raw socket's listener would otherwise keep it, its
 * in-memory sink, the request and the framework's objects alive for as long as the WebSocket stays
 * open (about 8 KB of heap per idle connection). Only cheap steps: removing the response's own
 * listeners cost more per handshake than the little they would free.
 */
const releases = new WeakMap<UpgradeConnection, () => void>();

/** The raw connection of a request the dispatcher delivered, or `undefined` on the normal request path. */
export function upgradeConnectionOf(req: IncomingMessage): UpgradeConnection | undefined {
  return (req as Tagged)[kUpgrade];
}

interface Dispatcher {
  /** Gates of the endpoints served through this server, for logging outcomes no endpoint claimed. */
  readonly gates: Set<Gate<never>>;
  /** Whether core's own `'upgrade'` listener is installed. */
  listening: boolean;
}

const dispatchers = new WeakMap<Server, Dispatcher>();

function dispatcherOf(server: Server): Dispatcher {
  let dispatcher = dispatchers.get(server);
  if (!dispatcher) {
    dispatcher = { gates: new Set(), listening: false };
    dispatchers.set(server, dispatcher);
  }
  return dispatcher;
}

/**
 * Installs the upgrade dispatcher on an `http`/`https` server once (idempotent) and registers
 * `gate` for logging outcomes no endpoint claimed.
 * Adapters call it from the first request they see (the server is not known before), and users
 * may call it through the adapter's `attach()` before `listen()`.
 */
export function attachUpgradeDispatch(server: Server, gate?: Gate<never>): void {
  const dispatcher = dispatcherOf(server);
  if (!dispatcher.listening) {
    dispatcher.listening = true;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      dispatch(server, dispatcher, req, socket, head),
    );
  }
  if (gate) dispatcher.gates.add(gate);
}

/** Whether the dispatcher is installed on `server`. */
export function hasUpgradeDispatch(server: Server): boolean {
  return dispatchers.get(server)?.listening === true;
}

function dispatch(
  server: Server,
  dispatcher: Dispatcher,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const res = new ServerResponse(req);
  const connection = holdUpgradeResponse({ server, req, res, socket, head });
  if (server.listenerCount('request') === 0) {
    connection.claimed = true;
    answer(
      [...dispatcher.gates][0],
      connection,
      readRequest(req, 'upgrade'),
      new HandshakeError('UPGRADE_LISTENER_MISSING', {
        detail: 'the server has no request handler to route the upgrade',
      }),
      dispatcher,
    );
    return;
  }
  server.emit('request', req, res);
}

/** Arguments of {@link holdUpgradeResponse}. */
export interface HoldUpgradeResponse {
  /** The server that emitted `'upgrade'` (its other `'upgrade'` listeners get a grace period). */
  readonly server: Server;
  readonly req: IncomingMessage;
  /** The response the framework will write to; detached from `socket` if it was assigned to it. */
  readonly res: ServerResponse;
  readonly socket: Duplex;
  /** The bytes read past the handshake (only needed if core hands the socket to ws). */
  readonly head?: Buffer | undefined;
  /** Answers and logs the outcomes no endpoint claims (registered for `server`). */
  readonly gate?: Gate<never> | undefined;
}

/**
 * Prepares an upgrade request to run through a framework's request pipeline, for core's own
 * dispatcher and for a framework plugin that owns `'upgrade'` and routes upgrades itself (as
 * `@fastify/websocket` does): tags the request for {@link upgradeConnectionOf}, and holds the
 * response back in memory. A wsgate endpoint that claims the request answers on the socket; a
 * response the application finishes first (a 401 from an auth hook) gets its mandatory headers,
 * is flushed and logged; an unclaimed 404 becomes `ENDPOINT_NOT_FOUND` (after a grace period for
 * other `'upgrade'` listeners on the server). Call it before the framework sees the request.
 */
export function holdUpgradeResponse(args: HoldUpgradeResponse): UpgradeConnection {
  const { server, req, res, socket, head = EMPTY } = args;
  const dispatcher = dispatcherOf(server);
  if (args.gate) dispatcher.gates.add(args.gate);
  guardSocket(socket);
  const connection: UpgradeConnection = { socket, head, startedAt: performance.now(), claimed: false };
  (req as Tagged)[kUpgrade] = connection;

  // The app writes into memory; only an unclaimed, finished response is flushed to the socket.
  // `held` is the only way from the closures below to the sink, so dropping it on release lets
  // the sink go even where the response itself stays alive.
  let held: HeldOutput | undefined = holdOutput(res);
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!connection.claimed)
      addMandatoryHeaders(this, typeof args[0] === 'number' ? args[0] : this.statusCode);
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
  const destroySink = () => held?.sink.destroy();
  socket.once('close', destroySink);
  res.once('finish', () => {
    if (!connection.claimed && held)
      settleUnclaimed(server, dispatcher, req, connection, res.statusCode, Buffer.concat(held.chunks));
  });
  releases.set(connection, () => {
    socket.off('close', destroySink);
    if (held) res.detachSocket(held.sink as unknown as Socket);
    held = undefined;
  });
  return connection;
}

/** A response's output held in memory: the stand-in socket it writes to, and what it wrote. */
interface HeldOutput {
  readonly sink: Writable;
  readonly chunks: Buffer[];
}

/** Points `res` at an in-memory sink instead of its socket. */
function holdOutput(res: ServerResponse): HeldOutput {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  if (res.socket) res.detachSocket(res.socket);
  res.shouldKeepAlive = false;
  res.assignSocket(sink as unknown as Socket);
  return { sink, chunks };
}

/** Adds what the status makes mandatory (RFC 9110): `WWW-Authenticate` on 401, `Allow` on 405, … */
function addMandatoryHeaders(res: ServerResponse, status: number): void {
  const code = MIDDLEWARE_CODES[status];
  if (!code) return;
  for (const [name, value] of Object.entries(catalog[code].headers)) {
    if (name === 'Connection') continue; // the raw path always closes; Node writes `Connection: close`
    if (!res.hasHeader(name)) res.setHeader(name, value);
  }
}

/** What a status written by application middleware means, as a catalog code. */
const MIDDLEWARE_CODES: Partial<Record<number, HandshakeErrorCode>> = {
  401: 'AUTHENTICATION_REQUIRED',
  403: 'FORBIDDEN',
  404: 'ENDPOINT_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  426: 'NOT_A_WEBSOCKET_REQUEST',
  503: 'TOO_MANY_CONNECTIONS',
};

/** Hints for statuses browsers cannot act on during a handshake (shared/HANDSHAKE.md §6). */
function hintForStatus(status: number): string | undefined {
  if (status >= 300 && status < 400) {
    return 'A redirect answered the handshake; browsers do not follow redirects on WebSocket handshakes. Connect to the final URL.';
  }
  if (status >= 200 && status < 300) {
    return 'A plain HTTP handler (an SPA fallback or static files) answered before the WebSocket endpoint; register the endpoint first.';
  }
  return undefined;
}

/** Whether something other than wsgate already wrote to, adopted or closed the socket. */
function takenByOthers(socket: Duplex): boolean {
  const raw = socket as Duplex & { bytesWritten?: number };
  return (
    socket.destroyed ||
    (raw.bytesWritten ?? 0) > 0 ||
    socket.writableLength > 0 ||
    socket.listenerCount('data') > 0
  );
}

function settleUnclaimed(
  server: Server,
  dispatcher: Dispatcher,
  req: IncomingMessage,
  connection: UpgradeConnection,
  status: number,
  bytes: Buffer,
): void {
  const { socket } = connection;
  const others = server.listenerCount('upgrade') > 1;
  const settle = () => {
    if (connection.claimed || takenByOthers(socket)) return;
    connection.claimed = true;
    const handshake = readRequest(req, 'upgrade');
    const gate = [...dispatcher.gates][0];
    if (status === 404) {
      const error =
        handshake.method === 'GET'
          ? new HandshakeError('ENDPOINT_NOT_FOUND', {
              detail: `no WebSocket endpoint serves ${pathOf(handshake.url)}`,
            })
          : new HandshakeError('METHOD_NOT_ALLOWED', { detail: `the method is ${handshake.method}` });
      answer(gate, connection, handshake, error, dispatcher);
      return;
    }
    // Middleware answered (auth, rate limit, redirect…): send its response as it wrote it.
    socket.end(bytes, () => socket.destroy());
    const code = MIDDLEWARE_CODES[status] ?? `HTTP_${status}`;
    reportUnclaimed(dispatcher, connection, {
      outcome: 'rejected',
      status,
      code,
      path: pathOf(handshake.url),
      framework: gate?.framework ?? 'core',
      arrival: 'upgrade',
      origin: handshake.headers.get('origin'),
      remoteAddress: handshake.remoteAddress,
      durationMs: elapsed(connection.startedAt),
      hint: hintForStatus(status),
      detail: 'the application answered before reaching a WebSocket endpoint',
      requestId: connection.requestId,
    });
  };
  if (!others) {
    settle();
    return;
  }
  // Another library may own this path; give it time to take the socket before answering.
  setImmediate(() => {
    if (takenByOthers(socket)) return;
    const timer = setTimeout(settle, UNCLAIMED_UPGRADE_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}

function reportUnclaimed(
  dispatcher: Dispatcher,
  connection: UpgradeConnection,
  record: HandshakeRecord,
): void {
  if (connection.logger) {
    reportHandshake(record, connection.logger, record.status >= 500);
    return;
  }
  reportHandshake(record, loggersOf(dispatcher), record.status >= 500);
}

/** The distinct loggers of the gates registered for a server. */
function loggersOf(dispatcher: Dispatcher): Logger[] {
  const loggers = new Set<Logger>();
  for (const gate of dispatcher.gates) if (gate.options.logger) loggers.add(gate.options.logger);
  return [...loggers];
}

function elapsed(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 1000) / 1000;
}

/** Answers a server's unclaimed upgrades when no endpoint registered a gate (silent but for the channel). */
const fallbackGate = createGate<never>({}, { framework: 'core' });

/** Writes a rejection on the raw socket and logs it to every logger registered for the server. */
function answer(
  gate: Gate<never> | undefined,
  connection: UpgradeConnection,
  handshake: HandshakeRequest,
  error: HandshakeError,
  dispatcher: Dispatcher,
) {
  const chosen = gate ?? fallbackGate;
  const decision = chosen.reject(error);
  writeRawResponse(connection.socket, chosen.render(decision, handshake));
  chosen.report(handshake, decision, {
    startedAt: connection.startedAt,
    requestId: connection.requestId,
    logger: connection.logger ?? loggersOf(dispatcher),
  });
}

/** A minimal view of `ws`'s `WebSocketServer` (core does not depend on ws). */
export interface UpgradeHandler<TSocket extends OpenWebSocket> {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: TSocket) => void): void;
}

/** Arguments of {@link completeUpgrade}. */
export interface CompleteUpgrade<TRequest, TSocket extends OpenWebSocket> {
  readonly gate: Gate<TRequest>;
  /** The request that core decided (its headers are adjusted for ws). */
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
  /** The request's own logger (Fastify's `request.log`), used instead of the `logger` option. */
  readonly logger?: Logger | undefined;
  /** Called with the open WebSocket and the `beforeUpgrade` hook's result after the 101 was written. */
  readonly onOpen: (ws: TSocket, context: unknown) => void;
}

/**
 * Applies a decision on a raw socket: a rejection is written and the socket closed; an acceptance
 * is handed to ws with core's subprotocol and extension offers. Logs exactly one record, including
 * when the client went away during async checks (code `CLIENT_DISCONNECTED`, nothing sent).
 */
export function completeUpgrade<TRequest, TSocket extends OpenWebSocket>(
  args: CompleteUpgrade<TRequest, TSocket>,
): void {
  const { gate, req, handshake, decision, socket, startedAt, requestId, logger } = args;
  const extras = { startedAt, requestId, logger };
  if (socket.destroyed || !socket.writable || !socket.readable) {
    socket.destroy();
    const gone = new HandshakeError('CLIENT_DISCONNECTED', {
      status: 499,
      title: 'The client closed the connection before the handshake completed',
      detail: 'the socket closed while the handshake was being checked; nothing was sent',
    });
    gate.report(handshake, { ...gate.reject(gone), origin: decision.origin }, extras);
    return;
  }
  if (decision.kind === 'reject') {
    writeRawResponse(socket, gate.render(decision, handshake));
    gate.report(handshake, decision, extras);
    return;
  }
  prepareForWs(req, decision);
  args.server.handleUpgrade(req, socket, args.head ?? EMPTY, (ws) => {
    // Before anything else runs: a bad frame in `head` or right after the 101 is emitted as
    // 'error', which crashes the process when nobody listens.
    watchErrors(
      ws,
      {
        path: pathOf(handshake.url),
        framework: gate.framework,
        remoteAddress: handshake.remoteAddress,
        requestId,
        protocol: decision.protocol,
      },
      logger ?? gate.options.logger,
    );
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
export interface SettleHandshake<TRequest, TSocket extends OpenWebSocket> {
  readonly gate: Gate<TRequest>;
  /** The framework's request (handed to hooks). */
  readonly request: TRequest;
  /** The Node request under it. */
  readonly req: IncomingMessage;
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
   * Whether core installs its upgrade dispatcher on the request's server. `false` for an adapter
   * whose framework plugin owns `'upgrade'` and calls {@link holdUpgradeResponse} itself
   * (`@fastify/websocket`); a complete handshake on the normal request path then means that
   * plugin never saw it, and is answered `UPGRADE_LISTENER_MISSING`.
   * @default true
   */
  readonly installDispatcher?: boolean | undefined;
}

/**
 * What every adapter's endpoint does with a request: decide it, then answer it on the raw socket
 * (upgrade path) or through the framework (normal request path), or pass it on. A complete
 * handshake that arrives on the normal request path (Node sends it there while the server has no
 * `'upgrade'` listener, i.e. before the first request installed the dispatcher) is taken over on
 * `req.socket`. Resolves once the outcome is applied; never rejects.
 */
export async function settleHandshake<TRequest, TSocket extends OpenWebSocket>(
  args: SettleHandshake<TRequest, TSocket>,
): Promise<void> {
  const { gate, req, logger } = args;
  const dispatching = args.installDispatcher !== false;
  const server = (req.socket as (Duplex & { server?: unknown }) | null)?.server;
  if (dispatching && server instanceof Server) attachUpgradeDispatch(server, gate as Gate<never>);
  const connection = upgradeConnectionOf(req);
  if (connection) {
    connection.claimed = true;
    releases.get(connection)?.();
    releases.delete(connection);
  }
  const startedAt = connection?.startedAt ?? performance.now();
  const handshake = readRequest(req, connection ? 'upgrade' : 'request');
  const decision = await gate.decide(handshake, args.request);
  if (decision.kind === 'pass') {
    args.pass();
    return;
  }
  // One object literal rather than `{ ...common, socket }`: Node 20's V8 builds an object spread
  // followed by more properties on a slow path, about 6 µs a handshake (packages/bench).
  const complete = (socket: Duplex, head?: Buffer) =>
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
    });
  if (connection) {
    complete(connection.socket, connection.head);
    return;
  }
  if (decision.kind === 'accept') {
    const socket = req.socket;
    if (dispatching && socket instanceof Socket) {
      complete(socket);
      return;
    }
    const missing = gate.reject(
      new HandshakeError('UPGRADE_LISTENER_MISSING', {
        detail: dispatching
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
