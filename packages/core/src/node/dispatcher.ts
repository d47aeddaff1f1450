/**
 * The upgrade dispatcher: the one owner of a server's `'upgrade'` event, so that an upgrade request
 * runs through the framework's normal request pipeline (its middleware — auth, sessions, rate
 * limits — runs before the 101) and always gets an answer.
 *
 * Node delivers a handshake to `'upgrade'` listeners with a bare socket. The dispatcher emits it
 * on the server's `'request'` path with a real {@link UpgradeResponse} on that socket. Then:
 * - a wsgate endpoint that sees the request claims it and answers on the socket itself;
 * - a response the application writes first (a 401 from auth, a 429 from a rate limiter) reaches
 *   the client as real HTTP, with its mandatory headers, and is logged;
 * - the framework's 404 becomes `ENDPOINT_NOT_FOUND` (405 for another method), logged;
 * - a client that leaves first is logged as `CLIENT_DISCONNECTED`.
 *
 * Which listener owns a request is decided in one documented way (docs/design.md): requests whose
 * path the application hands to another library (`leave`) are never touched; a request another
 * `'upgrade'` listener took synchronously (wrote to, ended or destroyed its socket) is left to it;
 * every other upgrade request is wsgate's. No timers decide ownership (a deadline only bounds how
 * long an owned request may go unanswered).
 */
import { type Server as HttpServer, type IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import { HandshakeError } from '../errors.js';
import { createGate, type Gate, type RejectDecision, type SharedConnectionLimit } from '../gate.js';
import { parseList } from '../headers.js';
import type { Logger } from '../logging.js';
import { closestName, DEFAULT_HANDSHAKE_TIMEOUT_MS, milliseconds } from '../options.js';
import { type Arrival, pathOf } from '../request.js';
import type { HttpResponse } from '../response.js';
import { watchTlsServer } from '../tls.js';
import { versionAndKeyWellFormed } from '../validate.js';
import { watchDescriptors } from './descriptors.js';
import type { CloseOptions, EndpointHandle } from './endpoint.js';
import { type FrameworkRequest, readRequest } from './request.js';
import { closeAfterFlush, guardSocket, writeRawResponse } from './socket.js';
import { notFoundError } from './unclaimed.js';
import {
  adoptResponse,
  completeAdopted,
  completeDetached,
  type ResponseControl,
  UpgradeResponse,
  type UpgradeResponseOwner,
} from './upgrade-response.js';

const kUpgrade = Symbol.for('@wsgate/core.upgrade');
const EMPTY = Buffer.alloc(0);

/** The raw connection behind an upgrade request that the dispatcher runs through the app. */
export interface UpgradeConnection {
  readonly socket: Duplex;
  readonly head: Buffer;
  /** `performance.now()` when the `'upgrade'` event fired. */
  readonly startedAt: number;
  /** Set by the endpoint that takes the request; from then on only it writes to the socket. */
  claimed: boolean;
  /**
   * Which event delivered the request: `'request'` for one adopted on the normal request path
   * (the first request of a fresh server).
   * @default 'upgrade'
   */
  readonly arrival?: Arrival | undefined;
  /** What the framework resolved for the request (client address, host), once an adapter knows. */
  framework?: FrameworkRequest | undefined;
  /** The request's own logger (Fastify's `request.log`), once an adapter knows it. */
  logger?: Logger | undefined;
  /** The framework's request id, once known. */
  requestId?: string | undefined;
  /**
   * Set by an adapter whose framework plugin routes upgrades ({@link tagUpgrades}) once the
   * framework's hooks see the request (Fastify's `onRequest`): a response that finishes without
   * it was written by the framework's router before any hook (Fastify's 400 for a malformed URL,
   * 414 for an over-long parameter), and core logs it, as no hook will.
   */
  routed?: boolean | undefined;
  /**
   * Tells the framework's response the status the handshake got on the socket (101, or the
   * rejection's), so that access loggers reading `res.statusCode` log it.
   */
  readonly settled?: ((status: number) => void) | undefined;
  /**
   * Set by an adapter whose framework ends the response itself after its pipeline (Koa's
   * respond): {@link settled} then only records the status (see `completeDetached`).
   */
  frameworkEnds?: boolean | undefined;
}

/** Which upgrade requests belong to another `'upgrade'` listener: exact paths, or a predicate. */
export type LeaveUpgrades = readonly string[] | ((req: IncomingMessage) => boolean);

/** Settings of a server's dispatcher (an adapter's `attach()` or app-level middleware). */
export interface DispatchSettings {
  /** Where the outcomes no endpoint claimed are logged (404s, middleware responses). */
  readonly logger?: Logger | undefined;
  /** Upgrade requests another library's `'upgrade'` listener owns: wsgate never touches them. */
  readonly leave?: LeaveUpgrades | undefined;
  /** Hide the detail of server faults (see `WsGateOptions.production`). */
  readonly production?: boolean | undefined;
  /**
   * How long the framework's middleware may take to answer an upgrade or hand it to an endpoint
   * before wsgate answers `503 HANDSHAKE_TIMEOUT` (logged, the socket freed).
   * @default 10000
   */
  readonly handshakeTimeoutMs?: number | undefined;
  /**
   * The most open WebSocket connections the whole server holds, across all its endpoints; a
   * handshake beyond it gets `503 TOO_MANY_CONNECTIONS` with `Retry-After`. Each endpoint's own
   * `maxConnections` applies as well.
   * @default no limit
   */
  readonly maxServerConnections?: number | undefined;
}

interface ServerState {
  /** Gates of the endpoints served through this server (for the framework name and loggers). */
  readonly gates: Set<Gate<never>>;
  /** Handles of the endpoints served through this server (for a drain). */
  readonly endpoints: Set<EndpointHandle<unknown>>;
  /** Set once the server drains: every new upgrade is refused. */
  draining: boolean;
  settings: DispatchSettings;
  /** `maxServerConnections`, shared by the server's endpoints. */
  limit: SharedConnectionLimit | undefined;
  leave: ((req: IncomingMessage) => boolean) | undefined;
  listening: boolean;
  tagging: boolean;
  /** The plugin's own `'upgrade'` listener on a tagged server ({@link routeTaggedUpgrades}). */
  router?: UpgradeListener | undefined;
  /** What stands in the router's place among the `'upgrade'` listeners: it answers malformed handshakes on arrival. */
  guardedRouter?: UpgradeListener | undefined;
  /** Where a tagged server's own answers are logged (tagUpgrades). */
  tagReporter?: { readonly gate: Gate<never>; readonly logger: Logger | undefined } | undefined;
}

type Tagged = IncomingMessage & { [kUpgrade]?: Dispatched };

interface Dispatched {
  readonly connection: UpgradeConnection;
  /** The response core made (its own dispatcher); absent when a framework plugin made it. */
  readonly response: ServerResponse | undefined;
  /** The rejection that replaced the framework's 404, once rendered. */
  notFound?: RejectDecision;
  /** Logs a client that left before anyone answered (removed once someone did). */
  onEnd?: () => void;
  /** Logs a response the application finished unclaimed (removed once an endpoint claimed it). */
  onFinish?: () => void;
  /** Answers a request nobody answered in time (cleared once someone did). */
  deadline?: NodeJS.Timeout;
}

/**
 * A request core's own dispatcher delivered, with the response core made for it — or, for an
 * upgrade-shaped request on the normal request path, Node's own response it adopted.
 */
type CoreDispatched = Dispatched & {
  readonly response: ServerResponse;
  /** What core tracks of that response's completion. */
  readonly control: ResponseControl;
  readonly adopted: boolean;
};

const servers = new WeakMap<HttpServer, ServerState>();

function stateOf(server: HttpServer): ServerState {
  let state = servers.get(server);
  if (!state) {
    state = {
      gates: new Set(),
      endpoints: new Set(),
      draining: false,
      settings: {},
      limit: undefined,
      leave: undefined,
      listening: false,
      tagging: false,
    };
    servers.set(server, state);
  }
  return state;
}

/** The raw connection of a request the dispatcher delivered, or `undefined` on the normal request path. */
export function upgradeConnectionOf(req: IncomingMessage): UpgradeConnection | undefined {
  return (req as Tagged)[kUpgrade]?.connection;
}

/**
 * Installs the dispatcher on an `http`/`https` server (idempotent) and registers an endpoint's
 * `gate`. Settings given here (an adapter's `attach()`, its app-level middleware) apply to the
 * whole server; a later call replaces those it names.
 */
export function attachUpgradeDispatch(
  server: HttpServer,
  options: {
    readonly gate?: Gate<never> | undefined;
    readonly endpoint?: EndpointHandle<unknown> | undefined;
    readonly settings?: DispatchSettings | undefined;
  } = {},
): void {
  const state = stateOf(server);
  if (options.gate) state.gates.add(options.gate);
  if (options.endpoint) registerEndpoint(server, options.endpoint);
  watchIfTls(server, options.settings?.logger ?? options.gate?.options.logger, options.gate?.framework);
  if (options.settings) {
    checkDispatchSettings(options.settings, '@wsgate/core');
    state.settings = { ...state.settings, ...definedOnly(options.settings) };
    if (options.settings.maxServerConnections !== undefined) {
      limitServerConnections(server, options.settings.maxServerConnections);
    }
    if (options.settings.leave !== undefined) state.leave = compileLeave(options.settings.leave);
  }
  watchServerDescriptors(server, state);
  // A framework plugin routes this server's upgrades (tagUpgrades): a second router would answer
  // the same sockets.
  if (state.listening || state.tagging) return;
  state.listening = true;
  // Before any other listener: what the socket carried when the upgrade arrived (a keep-alive
  // connection has bytes of earlier responses on it, and maybe a response still being written).
  server.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => {
    arrivals.set(req, { written: bytesWritten(socket), previous: responseOn(socket) });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (state.leave?.(req)) return;
    guardSocket(socket);
    // Other listeners registered after this one run in the same emit: let them take their own
    // requests first (a ws server's handleUpgrade writes its 101 synchronously). Two are ours.
    if (server.listenerCount('upgrade') > 2) queueMicrotask(() => dispatch(server, state, req, socket, head));
    else dispatch(server, state, req, socket, head);
  });
}

/**
 * For a framework plugin that owns `'upgrade'` and routes upgrades through the framework itself
 * (`@fastify/websocket`): tags every upgrade request first (a prepended listener), so that the
 * adapter's hooks find its socket, head and arrival time with {@link upgradeConnectionOf}
 * and its endpoints claim it with {@link claimUpgrade}. Idempotent.
 */
export function tagUpgrades(
  server: HttpServer,
  options: {
    readonly logger?: Logger | undefined;
    readonly framework?: string | undefined;
    /** Hide the detail of server faults in what core answers itself (the plugin's `production`). */
    readonly production?: boolean | undefined;
  } = {},
): void {
  watchIfTls(server, options.logger, options.framework);
  const state = stateOf(server);
  watchServerDescriptors(server, state, options.logger);
  if (state.tagging) return;
  if (state.listening) {
    throw new Error(
      '@wsgate/core: this server already has wsgate’s upgrade dispatcher; a plugin cannot route its upgrades too',
    );
  }
  state.tagging = true;
  if (options.production !== undefined)
    state.settings = { ...state.settings, production: options.production };
  const reporter = createGate<never>({ logger: options.logger }, { framework: options.framework ?? 'core' });
  state.tagReporter = { gate: reporter, logger: options.logger };
  const tag = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    guardSocket(socket);
    const connection: UpgradeConnection = { socket, head, startedAt: performance.now(), claimed: false };
    (req as Tagged)[kUpgrade] = { connection, response: undefined };
    const previous = responseOn(socket);
    if (previous) {
      // A handshake pipelined behind a request whose response is still attached: the plugin's
      // listener (after this one) cannot give it a response of its own (ERR_HTTP_SOCKET_ASSIGNED)
      // and drops it, leaving the socket open for good. Once that response is done, it is handed
      // to the plugin's listener again (tagged afresh), unless someone took the socket meanwhile.
      // Only to that listener: every other one already had it in this emit.
      previous.once('close', () => {
        if (socket.destroyed || socket.writableEnded || responseOn(socket)) return;
        if (socket.listenerCount('data') > 0) return;
        const router = state.router;
        if (router && state.guardedRouter && server.listeners('upgrade').includes(state.guardedRouter)) {
          tag(req, socket, head);
          state.guardedRouter.call(server, req, socket, head);
        } else {
          // The plugin's listener is not known (routeTaggedUpgrades was not called): left
          // unanswered the socket would stay open for good, so every listener gets it again.
          server.emit('upgrade', req, socket, head);
        }
      });
      return;
    }
    // Once the plugin's listener (after this one, in the same emit) has given the request its
    // response: one the framework's router writes without its hooks (Fastify's 400 for a
    // malformed URL, 414 for a too-long parameter) leaves the upgrade socket, which no parser
    // reads any more, open; nothing else closes it, and no hook logs it. The framework's own
    // 'finish' listener (its onResponse hooks, where the adapter logs what they saw) runs first.
    queueMicrotask(() => {
      const response = responseOn(socket);
      if (!response) return;
      const close = () => {
        if (connection.claimed) return;
        closeAfterFlush(socket);
        if (connection.routed) return;
        connection.claimed = true;
        reporter.reportResponse(readRequest(req, 'upgrade'), response.statusCode, {
          startedAt: connection.startedAt,
        });
      };
      if (response.writableFinished) close();
      else response.once('finish', close);
    });
  };
  server.prependListener('upgrade', tag);
}

/** A server's `'upgrade'` listener. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Names the framework plugin's own `'upgrade'` listener (the one that routes upgrades through the
 * framework, `@fastify/websocket`'s) on a server whose upgrades are tagged ({@link tagUpgrades}).
 * A handshake pipelined behind a response still being written, which that listener could not
 * take, is then handed to it alone once the response is done, rather than emitted on
 * `'upgrade'` again to every listener (another library's would see it twice).
 */
export function routeTaggedUpgrades(server: HttpServer, listener: UpgradeListener): void {
  const state = stateOf(server);
  if (state.router === listener) return;
  const guarded: UpgradeListener = function (this: HttpServer, req, socket, head) {
    const tagged = (req as Tagged)[kUpgrade];
    if (tagged?.connection.claimed) return;
    // A malformed handshake is answered here, before the framework runs (docs/design.md) — only
    // where the plugin's router and wsgate's tagging are the server's only 'upgrade' listeners:
    // another library's listener (which already had its turn, or comes next) may own the path.
    const reporter = state.tagReporter;
    if (
      tagged &&
      reporter &&
      server.listenerCount('upgrade') === 2 &&
      !responseOn(socket) &&
      rejectedOnArrival(state, req, socket, reporter.gate, reporter.logger)
    ) {
      tagged.connection.claimed = true;
      return;
    }
    listener.call(this, req, socket, head);
  };
  if (!replaceListener(server, 'upgrade', listener, guarded)) return;
  state.router = listener;
  state.guardedRouter = guarded;
}

/**
 * Undoes {@link routeTaggedUpgrades} when the framework closes: removes the guarded router from
 * the server's `'upgrade'` listeners (the plugin's own close hook removes its listener by
 * reference, which no longer finds it).
 */
export function stopRoutingTaggedUpgrades(server: HttpServer): void {
  const state = servers.get(server);
  if (!state?.guardedRouter) return;
  server.removeListener('upgrade', state.guardedRouter);
  state.router = undefined;
  state.guardedRouter = undefined;
}

/**
 * Puts `to` in the place of `from` among an emitter's listeners for `event`, keeping the order of
 * every other listener (and their `once` wrappers: `rawListeners`). Returns whether `from` was
 * there.
 */
function replaceListener(
  emitter: HttpServer,
  event: string,
  from: UpgradeListener,
  to: UpgradeListener,
): boolean {
  const all = emitter.rawListeners(event) as UpgradeListener[];
  if (!all.includes(from)) return false;
  emitter.removeAllListeners(event);
  for (const listener of all) emitter.on(event, listener === from ? to : listener);
  return true;
}

/** The file-descriptor watcher (docs/design.md, "Resource limits"), logging where the server's records go. */
function watchServerDescriptors(server: HttpServer, state: ServerState, plugin?: Logger): void {
  watchDescriptors(server, () => state.settings.logger ?? plugin ?? loggersOf(state));
}

/** On an https server: the certificate self-check and `tlsClientError` records (once per logger). */
function watchIfTls(server: HttpServer, logger: Logger | undefined, framework: string | undefined): void {
  if (server instanceof TlsServer) watchTlsServer(server, { logger, framework });
}

/** Registers an endpoint served through `server` (a plugin-routed server too) for a drain. */
export function registerEndpoint(server: HttpServer, endpoint: EndpointHandle<unknown>): void {
  const state = stateOf(server);
  if (state.endpoints.has(endpoint)) return;
  state.endpoints.add(endpoint);
  if (state.draining) void endpoint.close();
}

/**
 * Drains a server: every new upgrade request is refused with `503 SERVER_SHUTTING_DOWN` and
 * `Retry-After`, every endpoint that served through it closes its open connections with `code`
 * (1001 going away, or 1012 for a restart), those still open after `timeoutMs` are terminated,
 * and the promise resolves once all are closed. Call it before `server.close()` (which waits for
 * every socket).
 */
export async function drainServer(server: HttpServer, options: CloseOptions = {}): Promise<void> {
  const state = stateOf(server);
  state.draining = true;
  for (const gate of state.gates) gate.shutDown();
  await Promise.all([...state.endpoints].map((endpoint) => endpoint.close(options)));
}

function refuseWhileDraining(state: ServerState, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const connection: UpgradeConnection = { socket, head, startedAt: performance.now(), claimed: true };
  const gate = gateOf(state);
  const handshake = readRequest(req, 'upgrade', { url: req.url });
  const decision = gate.reject(
    new HandshakeError('SERVER_SHUTTING_DOWN', {
      detail: 'the server is draining and takes no new connections',
      hint: 'Reconnect after the Retry-After delay (to another instance behind a load balancer).',
    }),
  );
  writeRawResponse(socket, gate.render(decision, handshake, state.settings.production));
  gate.report(handshake, decision, extrasOf(state, connection));
}

/**
 * Sets `maxServerConnections` for a server (an adapter's server-wide settings; a Fastify plugin's
 * option). Connections already open keep counting.
 */
export function limitServerConnections(server: HttpServer, max: number, packageName = '@wsgate/core'): void {
  if (!Number.isInteger(max) || max < 1) {
    throw new TypeError(
      `${packageName}: option \`maxServerConnections\` must be a whole number ≥ 1, got ${String(max)}`,
    );
  }
  const state = stateOf(server);
  // The same object: open connections hold it to release their place.
  if (state.limit) state.limit.max = max;
  else state.limit = { max, open: 0 };
}

/** The server-wide connection limit endpoints on `server` share, if one is set. */
export function serverConnectionLimit(server: HttpServer): SharedConnectionLimit | undefined {
  return servers.get(server)?.limit;
}

/** Whether a framework plugin routes `server`'s upgrades ({@link tagUpgrades}). */
export function upgradesTagged(server: HttpServer): boolean {
  return servers.get(server)?.tagging === true;
}

/** Whether the dispatcher is installed on `server`. */
export function hasUpgradeDispatch(server: HttpServer): boolean {
  return servers.get(server)?.listening === true;
}

/** The logger set for the whole server (an adapter's app-level middleware or `attach`), if any. */
export function serverLogger(server: HttpServer): Logger | undefined {
  return servers.get(server)?.settings.logger;
}

const DISPATCH_SETTINGS = [
  'logger',
  'leave',
  'production',
  'handshakeTimeoutMs',
  'maxServerConnections',
] as const;

/**
 * Validates server-wide settings when they are given (an adapter's `wsgate(settings)` or
 * `attach()`), so that a bad one fails at startup with the package and the option named.
 */
export function checkDispatchSettings(settings: DispatchSettings, packageName: string): void {
  const fail = (option: string, message: string): never => {
    throw new TypeError(`${packageName}: option \`${option}\` ${message}`);
  };
  if (typeof settings !== 'object' || settings === null) fail('settings', 'must be an object');
  for (const key of Object.keys(settings)) {
    if ((DISPATCH_SETTINGS as readonly string[]).includes(key)) continue;
    const closest = closestName(key, DISPATCH_SETTINGS);
    fail(key, `is not a server-wide setting${closest ? ` (did you mean \`${closest}\`?)` : ''}`);
  }
  milliseconds('handshakeTimeoutMs', settings.handshakeTimeoutMs, 0, fail);
  const max = settings.maxServerConnections;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    fail('maxServerConnections', `must be a whole number ≥ 1, got ${String(max)}`);
  }
  if (settings.leave !== undefined) {
    try {
      compileLeave(settings.leave);
    } catch {
      fail('leave', 'must be a list of paths starting with "/", or a function');
    }
  }
}

function definedOnly(settings: DispatchSettings): DispatchSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

function compileLeave(leave: LeaveUpgrades): (req: IncomingMessage) => boolean {
  if (typeof leave === 'function') return leave;
  if (!Array.isArray(leave) || leave.some((path) => typeof path !== 'string' || !path.startsWith('/'))) {
    throw new TypeError(
      '@wsgate/core: option `leave` must be a list of paths starting with "/", or a function',
    );
  }
  const paths = new Set(leave);
  return (req) => paths.has(pathOf(req.url ?? '/'));
}

/** What a socket carried when its upgrade request arrived, before any `'upgrade'` listener ran. */
interface SocketAtArrival {
  /** `bytesWritten` then: earlier responses on a keep-alive connection. */
  readonly written: number | undefined;
  /** The response of an earlier (pipelined) request still attached to the socket, if any. */
  readonly previous: ServerResponse | undefined;
}

const arrivals = new WeakMap<IncomingMessage, SocketAtArrival>();

/** Bytes written to the socket so far, buffered ones included (net.Socket#bytesWritten). */
function bytesWritten(socket: Duplex): number | undefined {
  return (socket as Duplex & { bytesWritten?: number }).bytesWritten;
}

/**
 * The response Node's server attached to the socket for an earlier request (`socket._httpMessage`,
 * which `ServerResponse#assignSocket` sets and `#detachSocket` clears; no public accessor exists).
 */
function responseOn(socket: Duplex): ServerResponse | undefined {
  const message = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
  return message instanceof ServerResponse ? message : undefined;
}

/** Whether something other than wsgate wrote to, adopted or closed the socket since the upgrade arrived. */
function takenByOthers(socket: Duplex, arrival: SocketAtArrival | undefined): boolean {
  return (
    socket.destroyed ||
    socket.writableEnded ||
    // A stream without a byte count (not a net.Socket): anything still buffered is someone's.
    // Behind an earlier response still being written, bytes keep coming from that response (an
    // async handler may end it before this runs): only the other signs count then.
    (arrival?.previous === undefined &&
      (arrival?.written === undefined
        ? socket.writableLength > 0
        : (bytesWritten(socket) ?? 0) > arrival.written)) ||
    socket.listenerCount('data') > 0
  );
}

function dispatch(
  server: HttpServer,
  state: ServerState,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
) {
  const arrival = arrivals.get(req);
  if (takenByOthers(socket, arrival)) return;
  // A handshake pipelined behind a request whose response is still being written: its turn comes
  // once that response is done (Node detaches it on 'finish'; 'close' follows, or comes alone when
  // the client leaves).
  const previous = arrival?.previous;
  if (previous && responseOn(socket) === previous) {
    previous.once('close', () => {
      if (socket.destroyed || socket.writableEnded) return;
      arrivals.set(req, { written: bytesWritten(socket), previous: undefined });
      dispatch(server, state, req, socket, head);
    });
    return;
  }
  if (state.draining) {
    refuseWhileDraining(state, req, socket, head);
    return;
  }
  if (rejectedOnArrival(state, req, socket)) return;
  const connection = newConnection(req, socket, head, 'upgrade', () => dispatched);
  let response: UpgradeResponse;
  try {
    response = new UpgradeResponse(
      req,
      socket as Socket,
      ownerOf(state, req, connection, () => dispatched),
    );
  } catch {
    // Another listener already gave the socket a response of its own (ERR_HTTP_SOCKET_ASSIGNED):
    // it is that listener's request.
    return;
  }
  const dispatched: CoreDispatched = { connection, response, control: response.control, adopted: false };
  watchUnclaimed(state, req, dispatched);
  if (server.listenerCount('request') === 0) {
    connection.claimed = true;
    release(dispatched);
    const missing = gateOf(state).reject(
      new HandshakeError('UPGRADE_LISTENER_MISSING', {
        detail: 'the server has no request handler to route the upgrade',
      }),
    );
    answer(state, req, dispatched, missing);
    return;
  }
  server.emit('request', req, response);
}

/**
 * A malformed handshake (its `Sec-WebSocket-Version` or `-Key`: `Gate#decideMalformed`) is
 * answered on arrival, before the framework runs, as ws answers it: no middleware could accept it
 * (docs/design.md). The record's `remoteAddress` is then the TCP peer: the framework never ran,
 * so its trust-proxy setting was not applied. Returns whether it answered.
 */
function rejectedOnArrival(
  state: ServerState,
  req: IncomingMessage,
  socket: Duplex,
  gate: Gate<never> = gateOf(state),
  logger: Logger | readonly Logger[] | undefined = state.settings.logger ?? loggersOf(state),
): boolean {
  const malformed = malformedOnArrival(state, req, 'upgrade', gate);
  if (!malformed) return false;
  writeRawResponse(socket, malformed.response);
  gate.report(malformed.handshake, malformed.decision, { startedAt: malformed.startedAt, logger });
  return true;
}

/** The rejection of a malformed handshake, rendered; `undefined` for any other request (the common case costs one regex test). */
function malformedOnArrival(state: ServerState, req: IncomingMessage, arrival: Arrival, gate: Gate<never>) {
  const { headers } = req;
  if (versionAndKeyWellFormed(headers['sec-websocket-version'], headers['sec-websocket-key']))
    return undefined;
  const startedAt = performance.now();
  const handshake = readRequest(req, arrival, { url: req.url });
  const decision = gate.decideMalformed(handshake);
  if (!decision) return undefined;
  const response = gate.render(decision, handshake, state.settings.production);
  return { startedAt, handshake, decision, response };
}

/**
 * For app-level middleware on the normal request path (an adapter's `wsgate()`): a request Node
 * would have delivered to `'upgrade'` had the server had a listener — the first request of a
 * fresh server — is handled as the dispatcher handles an upgrade, on Node's own response: the
 * framework's 404 becomes `ENDPOINT_NOT_FOUND`, what middleware writes gets its mandatory headers
 * and `Connection: close`, every outcome is logged once, and an endpoint claims it as it claims a
 * dispatched upgrade. The arrival is invisible to the client: a malformed handshake is answered
 * at once, as the dispatcher answers it on arrival (`'answered'`: the caller must not run the
 * rest of the pipeline). Returns `'adopted'`, `'answered'`, or `false` for a request it left alone.
 *
 * @param respond - Sends a response the framework's way (Koa's `ctx.body`, so that the
 *   middleware still to run after `await next()` sees an unsent response); else `res` is written.
 */
export function adoptUpgradeRequest(
  server: HttpServer,
  req: IncomingMessage,
  res: ServerResponse,
  respond?: (response: HttpResponse) => void,
): 'adopted' | 'answered' | false {
  const state = servers.get(server);
  if (!state || state.tagging || (req as Tagged)[kUpgrade] || res.headersSent) return false;
  if (!upgradeShaped(req) || state.leave?.(req) || state.draining) return false;
  const socket = req.socket;
  // A request pipelined behind one still being written has no socket on its response yet.
  if (!(socket instanceof Socket) || socket.destroyed || res.socket !== socket) return false;
  if (answeredOnArrival(state, req, res, respond)) return 'answered';
  const connection = newConnection(req, socket, EMPTY, 'request', () => dispatched);
  const control = adoptResponse(
    res,
    ownerOf(state, req, connection, () => dispatched),
  );
  const dispatched: CoreDispatched = { connection, response: res, control, adopted: true };
  watchUnclaimed(state, req, dispatched);
  return 'adopted';
}

/**
 * {@link rejectedOnArrival} for a handshake on the normal request path: Node's own response
 * carries the rejection (and `Connection: close`), logged with what the app-level middleware
 * knows of the request (the framework has not resolved the client yet either).
 */
function answeredOnArrival(
  state: ServerState,
  req: IncomingMessage,
  res: ServerResponse,
  respond: ((response: HttpResponse) => void) | undefined,
): boolean {
  const gate = gateOf(state);
  const malformed = malformedOnArrival(state, req, 'request', gate);
  if (!malformed) return false;
  const { response } = malformed;
  res.shouldKeepAlive = false;
  if (respond) respond(response);
  else {
    res.writeHead(response.status, {
      ...response.headers,
      'Content-Length': String(Buffer.byteLength(response.body)),
    });
    res.end(response.body);
  }
  gate.report(malformed.handshake, malformed.decision, {
    startedAt: malformed.startedAt,
    logger: state.settings.logger ?? loggersOf(state),
  });
  return true;
}

/** How waiting for a pipelined request's turn on its connection ended. */
export type Turn = 'ready' | 'timeout' | 'gone';

/**
 * Whether Node queued `res` behind the response of an earlier request on the same keep-alive
 * connection that is still being written (HTTP/1.1 pipelining): the response has no socket yet,
 * and nothing may be written on the socket for this request until it has.
 */
export function queuedBehindEarlierResponse(req: IncomingMessage, res: ServerResponse): boolean {
  const socket = req.socket;
  return (
    socket instanceof Socket &&
    !socket.destroyed &&
    !res.headersSent &&
    !res.writableEnded &&
    (res.socket === null || res.socket === undefined)
  );
}

/**
 * Waits until Node hands the socket to `res` (`ServerResponse#assignSocket` emits `'socket'` once
 * the earlier response finished): `'ready'`. The client leaving first (`'end'` — the server's
 * sockets are half-open — or `'close'`) is `'gone'`; `timeoutMs` passing is `'timeout'`. Nothing
 * is written or closed here.
 */
export function awaitTurn(req: IncomingMessage, res: ServerResponse, timeoutMs: number): Promise<Turn> {
  const socket = req.socket;
  if (res.socket === socket) return Promise.resolve('ready');
  return new Promise((resolve) => {
    const settle = (turn: Turn) => {
      clearTimeout(timer);
      res.off('socket', onSocket);
      socket.off('end', onGone);
      socket.off('close', onGone);
      resolve(turn);
    };
    const onSocket = () => settle('ready');
    const onGone = () => settle('gone');
    const timer = setTimeout(() => settle('timeout'), timeoutMs);
    timer.unref();
    res.once('socket', onSocket);
    socket.once('end', onGone);
    socket.once('close', onGone);
  });
}

/** What makes Node emit `'upgrade'` for a request: an `Upgrade` header and the `upgrade` token in `Connection`. */
function upgradeShaped(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || upgrade.trim() === '') return false;
  return parseList([req.headers.connection ?? '']).some((token) => token.toLowerCase() === 'upgrade');
}

function newConnection(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  arrival: Arrival,
  dispatched: () => CoreDispatched,
): UpgradeConnection {
  // Read while the socket is open: Node caches the peer address on first read, and a record
  // written after a client left (or a deadline destroyed the socket) reads it — through the
  // framework's `req.ip` too — from a socket that no longer has one. The endpoint reads it anyway.
  void (socket as Partial<Socket>).remoteAddress;
  const connection: UpgradeConnection = {
    socket,
    head,
    arrival,
    startedAt: performance.now(),
    claimed: false,
    // The request target as received: frameworks rewrite `req.url` below a mount path.
    framework: { url: req.url },
    settled: (status) =>
      settleResponse(dispatched(), status, connection.frameworkEnds ? 'by-framework' : 'now'),
  };
  return connection;
}

function ownerOf(
  state: ServerState,
  req: IncomingMessage,
  connection: UpgradeConnection,
  dispatched: () => CoreDispatched,
): UpgradeResponseOwner {
  return {
    get claimed() {
      return connection.claimed;
    },
    notFound: () => renderNotFound(state, req, dispatched()),
  };
}

/**
 * Tells the framework's response what the socket got: core's own response completes
 * (`completeDetached`), Node's adopted one stores the status and emits `'close'`
 * (`completeAdopted`).
 */
function settleResponse(dispatched: CoreDispatched, status: number, ending: 'now' | 'by-framework'): void {
  if (dispatched.adopted) completeAdopted(dispatched.control, status, ending);
  else completeDetached(dispatched.control, status, ending);
}

/**
 * The application answered and its response is still flushing when the client leaves (or the
 * deadline passes): the socket is closed without detaching the response — on an adopted response
 * Node's own finish handler asserts the socket is still the response's — and the answer is logged
 * with its status, on `'finish'` (Node 20 emits it for a destroyed socket) or else on `'close'`.
 */
function closeFlushing(state: ServerState, req: IncomingMessage, dispatched: CoreDispatched): void {
  dispatched.response.once('close', () => settleUnclaimed(state, req, dispatched));
  dispatched.connection.socket.destroy();
}

/**
 * Watches a request until someone answers it: its response finishing unclaimed is logged, a
 * client that leaves first is logged, a deadline answers it.
 */
function watchUnclaimed(state: ServerState, req: IncomingMessage, dispatched: CoreDispatched): void {
  const { connection, response } = dispatched;
  const { socket } = connection;
  (req as Tagged)[kUpgrade] = dispatched;
  dispatched.onFinish = () => settleUnclaimed(state, req, dispatched);
  response.once('finish', dispatched.onFinish);
  // The server's sockets are half-open: a client that leaves shows as 'end', not 'close'.
  dispatched.onEnd = () => {
    if (connection.claimed || response.writableFinished) return;
    if (response.writableEnded) {
      closeFlushing(state, req, dispatched);
      return;
    }
    connection.claimed = true;
    if (response.socket === socket) response.detachSocket(socket as Socket);
    socket.destroy();
    const gone = new HandshakeError('CLIENT_DISCONNECTED', {
      detail: 'the client closed the connection before the application answered; nothing was sent',
    });
    report(state, req, dispatched, gateOf(state).reject(gone));
  };
  socket.once('end', dispatched.onEnd);
  const timeoutMs = state.settings.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  dispatched.deadline = setTimeout(() => {
    if (connection.claimed || response.writableFinished) return;
    if (response.writableEnded) {
      // Answered, but the client has not read the response in time.
      closeFlushing(state, req, dispatched);
      return;
    }
    connection.claimed = true;
    const headersSent = response.headersSent;
    release(dispatched);
    const late = gateOf(state).reject(
      new HandshakeError('HANDSHAKE_TIMEOUT', {
        detail: `the application neither answered nor reached a WebSocket endpoint within ${timeoutMs} ms`,
      }),
    );
    // A response already under way cannot be replaced: the socket is closed instead.
    if (headersSent) {
      socket.destroy();
      report(state, req, dispatched, late);
    } else answer(state, req, dispatched, late);
  }, timeoutMs);
  dispatched.deadline.unref();
}

/**
 * Claims a dispatched request for an endpoint: from now on only the endpoint writes to the socket,
 * and the response the framework holds is detached from it. Returns the connection, or
 * `undefined` for a request on the normal request path.
 */
export function claimUpgrade(req: IncomingMessage): UpgradeConnection | undefined {
  const dispatched = (req as Tagged)[kUpgrade];
  if (!dispatched || dispatched.connection.claimed) return dispatched?.connection;
  dispatched.connection.claimed = true;
  release(dispatched);
  return dispatched.connection;
}

/** Lets go of what the dispatcher attached to the socket once someone answered. */
function release(dispatched: Dispatched): void {
  const { socket } = dispatched.connection;
  // Node's own server detaches a response it finished (an adopted one).
  if (dispatched.response?.socket === socket) dispatched.response.detachSocket(socket as Socket);
  if (dispatched.onEnd) socket.off('end', dispatched.onEnd);
  if (dispatched.onFinish) dispatched.response?.off('finish', dispatched.onFinish);
  if (dispatched.deadline) clearTimeout(dispatched.deadline);
}

/** The first endpoint's gate (framework name, options), or a silent fallback before any endpoint. */
function gateOf(state: ServerState): Gate<never> {
  for (const gate of state.gates) return gate;
  return fallbackGate;
}

const fallbackGate = createGate<never>({}, { framework: 'core' });

function handshakeOf(req: IncomingMessage, dispatched: Dispatched) {
  return readRequest(req, dispatched.connection.arrival ?? 'upgrade', dispatched.connection.framework);
}

function renderNotFound(state: ServerState, req: IncomingMessage, dispatched: CoreDispatched): HttpResponse {
  const handshake = handshakeOf(req, dispatched);
  const error = notFoundError(handshake.method, handshake.url);
  const gate = gateOf(state);
  dispatched.notFound = gate.reject(error);
  return gate.render(dispatched.notFound, handshake, state.settings.production);
}

/** A response the application finished before any endpoint claimed the request: close and log. */
function settleUnclaimed(state: ServerState, req: IncomingMessage, dispatched: CoreDispatched): void {
  const { connection, response } = dispatched;
  if (connection.claimed) return;
  connection.claimed = true;
  release(dispatched);
  closeAfterFlush(connection.socket);
  if (dispatched.notFound) {
    report(state, req, dispatched, dispatched.notFound);
    return;
  }
  gateOf(state).reportResponse(
    handshakeOf(req, dispatched),
    response.statusCode,
    extrasOf(state, connection),
  );
}

function extrasOf(state: ServerState, connection: UpgradeConnection) {
  return {
    startedAt: connection.startedAt,
    requestId: connection.requestId,
    logger: connection.logger ?? state.settings.logger ?? loggersOf(state),
  };
}

function report(
  state: ServerState,
  req: IncomingMessage,
  dispatched: Dispatched,
  decision: RejectDecision,
): void {
  gateOf(state).report(handshakeOf(req, dispatched), decision, extrasOf(state, dispatched.connection));
}

/** Writes a rejection on the raw socket and logs it. */
function answer(
  state: ServerState,
  req: IncomingMessage,
  dispatched: Dispatched,
  decision: RejectDecision,
): void {
  const gate = gateOf(state);
  const handshake = handshakeOf(req, dispatched);
  writeRawResponse(dispatched.connection.socket, gate.render(decision, handshake, state.settings.production));
  // The framework's middleware has not finished (a deadline) or never ran: end its response now.
  if (dispatched.response) settleResponse(dispatched as CoreDispatched, decision.error.status, 'now');
  gate.report(handshake, decision, extrasOf(state, dispatched.connection));
}

/** The distinct loggers of the gates registered for a server. */
function loggersOf(state: ServerState): Logger[] {
  const loggers = new Set<Logger>();
  for (const gate of state.gates) if (gate.options.logger) loggers.add(gate.options.logger);
  return [...loggers];
}

export { EMPTY as EMPTY_HEAD };
