/**
 * The one options object every adapter takes, and its validation.
 */
import { isToken } from './headers.js';
import type { Logger } from './logging.js';
import { compileOriginPolicy, type OriginMatcher, type OriginPolicy } from './origin.js';

/** What an application hook learns about the handshake besides the framework request. */
export interface HandshakeInfo {
  /** The subprotocols the client offered, in its order. */
  readonly offeredProtocols: readonly string[];
  /** The request's normalised `Origin`, if it sent one. */
  readonly origin: string | undefined;
  /** The request path. */
  readonly path: string;
}

/**
 * An application hook run before the 101 (after the origin check).
 *
 * - Return nothing to accept, or any value to accept with that value as the connection's context.
 * - Throw or return a `HandshakeError` to reject (`AUTHENTICATION_REQUIRED`, `FORBIDDEN`, a custom status…).
 * - Any other thrown error rejects with `HOOK_FAILED` (500, details only in the log).
 */
export type HandshakeHook<TRequest = unknown, TContext = unknown> = (
  request: TRequest,
  info: HandshakeInfo,
) => TContext | Promise<TContext>;

/**
 * Picks the subprotocol. Return one of `offered` (exactly), or `undefined` for none. Anything else
 * rejects the handshake with `SUBPROTOCOL_SELECTION_INVALID` (a server fault).
 */
export type ProtocolSelector<TRequest = unknown> = (
  offered: readonly string[],
  request: TRequest,
) => string | undefined | Promise<string | undefined>;

/**
 * Options of a WebSocket endpoint. The same object works with every wsgate adapter.
 *
 * @typeParam TRequest - The framework's request type passed to hooks.
 * @typeParam TContext - What `beforeUpgrade` returns: the connection handler's `context`.
 */
export interface WsGateOptions<TRequest = unknown, TContext = unknown> {
  /**
   * The subprotocols this endpoint speaks, in server preference order.
   * @default []
   * @example ['chat.v2', 'chat.v1']
   */
  readonly protocols?: readonly string[] | undefined;
  /**
   * Whose order picks the subprotocol when several match.
   * @default 'server'
   */
  readonly protocolPreference?: 'server' | 'client' | undefined;
  /**
   * Reject clients that offer no subprotocol (`SUBPROTOCOL_REQUIRED`).
   * @default false
   */
  readonly requireProtocol?: boolean | undefined;
  /**
   * What to do when the client offered subprotocols and none matches. `'reject'` answers
   * `SUBPROTOCOL_UNSUPPORTED`; `'proceed'` accepts without a subprotocol (Chromium and the `ws`
   * client then fail the connection on their side, Firefox connects).
   * @default 'reject'
   */
  readonly onNoProtocolMatch?: 'reject' | 'proceed' | undefined;
  /**
   * Picks the subprotocol instead of `protocols` (the escape hatch). Its result is checked.
   * @example (offered) => offered.find((p) => p.startsWith('chat.'))
   */
  readonly selectProtocol?: ProtocolSelector<TRequest> | undefined;
  /**
   * Which browser origins may connect. Requests without `Origin` are always allowed.
   * @default 'same-origin'
   * @example ['https://app.example.com', 'https://*.example.com']
   */
  readonly origins?: OriginPolicy<TRequest> | undefined;
  /**
   * Negotiate permessage-deflate. Offers that break RFC 7692 are declined, never rejected.
   * @default false
   */
  readonly perMessageDeflate?: boolean | undefined;
  /**
   * Runs before the 101, after the origin check: accept with a context, or reject.
   * @example async (req) => { if (!req.user) throw new HandshakeError('AUTHENTICATION_REQUIRED'); return req.user; }
   */
  readonly beforeUpgrade?: HandshakeHook<TRequest, TContext> | undefined;
  /**
   * What to do with a plain HTTP GET (no WebSocket headers at all) to the endpoint: `'reject'`
   * answers 426 `NOT_A_WEBSOCKET_REQUEST` with a diagnosis; `'pass'` leaves it to the framework's
   * next handler.
   * @default 'reject'
   */
  readonly plainRequests?: 'reject' | 'pass' | undefined;
  /**
   * Where to log one record per handshake (pino works as is). Silent when absent.
   */
  readonly logger?: Logger | undefined;
  /**
   * Heartbeat: the interval, in milliseconds, at which an open connection is pinged. A peer that
   * sends nothing (no pong, no message) for one interval after a ping is terminated, so a dead
   * peer is gone within about two intervals. The default stays below the common proxy idle
   * timeouts (nginx's `proxy_read_timeout` and AWS ALB's are 60 s). `false` turns it off.
   * @default 30000
   */
  readonly heartbeatMs?: number | false | undefined;
  /**
   * How long each of the endpoint's own hooks (`beforeUpgrade`, an `origins` function,
   * `selectProtocol`) may take before the handshake is refused with `503 HANDSHAKE_TIMEOUT` (logged at
   * error level, the socket freed).
   * @default 10000
   */
  readonly handshakeTimeoutMs?: number | undefined;
  /**
   * The most open connections this endpoint holds; a handshake beyond it gets
   * `503 TOO_MANY_CONNECTIONS` with `Retry-After`. Counted from the 101 to the close.
   * @default no limit
   */
  readonly maxConnections?: number | undefined;
  /**
   * The most open connections one client address (the framework's client IP) holds on this
   * endpoint; beyond it, `429 CLIENT_CONNECTION_LIMIT` with `Retry-After`.
   * @default no limit
   */
  readonly maxConnectionsPerClient?: number | undefined;
  /**
   * Hide the `detail` of server faults from clients (codes stay).
   * @default process.env.NODE_ENV === 'production'
   */
  readonly production?: boolean | undefined;
}

/** Options after validation, with defaults applied. */
export interface ResolvedOptions<TRequest> {
  readonly protocols: readonly string[];
  readonly protocolPreference: 'server' | 'client';
  readonly requireProtocol: boolean;
  readonly onNoProtocolMatch: 'reject' | 'proceed';
  readonly selectProtocol: ProtocolSelector<TRequest> | undefined;
  readonly origins: OriginMatcher<TRequest>;
  readonly perMessageDeflate: boolean;
  readonly beforeUpgrade: HandshakeHook<TRequest> | undefined;
  readonly plainRequests: 'reject' | 'pass';
  readonly logger: Logger | undefined;
  readonly production: boolean;
  readonly heartbeatMs: number | false;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly handshakeTimeoutMs: number;
}

const KNOWN = new Set([
  'protocols',
  'protocolPreference',
  'requireProtocol',
  'onNoProtocolMatch',
  'selectProtocol',
  'origins',
  'perMessageDeflate',
  'beforeUpgrade',
  'plainRequests',
  'logger',
  'production',
  'heartbeatMs',
  'maxConnections',
  'maxConnectionsPerClient',
  'handshakeTimeoutMs',
]);

/**
 * Validates options and applies defaults. Throws a `TypeError` naming `@wsgate/core` (or `pkg`) and
 * the option at fault.
 *
 * @param extraKeys - Option names an adapter adds on top (they are skipped here).
 */
export function resolveOptions<TRequest>(
  options: WsGateOptions<TRequest, unknown> = {},
  pkg = '@wsgate/core',
  extraKeys: readonly string[] = [],
): ResolvedOptions<TRequest> {
  const fail = (option: string, message: string): never => {
    throw new TypeError(`${pkg}: option \`${option}\` ${message}`);
  };
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${pkg}: options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (KNOWN.has(key) || extraKeys.includes(key)) continue;
    if (key === 'trustProxy') {
      fail(
        key,
        "was removed: wsgate follows the framework's own trust-proxy setting (Express `app.set('trust proxy', …)`, Koa `app.proxy`, Fastify `trustProxy`)",
      );
    }
    const closest = closestName(key, [...KNOWN, ...extraKeys]);
    fail(key, `is not a known option${closest ? ` (did you mean \`${closest}\`?)` : ''}`);
  }
  const protocols = options.protocols ?? [];
  if (!Array.isArray(protocols)) fail('protocols', 'must be an array of subprotocol tokens');
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !isToken(protocol)) {
      fail('protocols', `has ${JSON.stringify(protocol)}, which is not an RFC 9110 token`);
    }
    if (seen.has(protocol)) fail('protocols', `lists "${protocol}" twice`);
    seen.add(protocol);
  }
  const oneOf = <T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) fail(option, `must be ${allowed.map((a) => `'${a}'`).join(' or ')}`);
    return value as T;
  };
  const bool = (option: string, value: unknown, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') fail(option, 'must be a boolean');
    return value as boolean;
  };
  const fn = <F>(option: string, value: unknown): F | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'function') fail(option, 'must be a function');
    return value as F;
  };
  const logger = options.logger;
  if (
    logger !== undefined &&
    (typeof logger !== 'object' ||
      logger === null ||
      typeof logger.info !== 'function' ||
      typeof logger.error !== 'function')
  ) {
    fail('logger', 'must have info() and error() methods (pino, or Fastify’s request.log)');
  }
  const requireProtocol = bool('requireProtocol', options.requireProtocol, false);
  const selectProtocol = fn<ProtocolSelector<TRequest>>('selectProtocol', options.selectProtocol);
  if (requireProtocol && protocols.length === 0 && !selectProtocol) {
    fail('requireProtocol', 'needs `protocols` or `selectProtocol`: no client could ever connect');
  }
  let origins: OriginMatcher<TRequest>;
  try {
    origins = compileOriginPolicy(options.origins ?? 'same-origin', 'origins');
  } catch (error) {
    throw new TypeError((error as Error).message.replace('@wsgate/core', pkg));
  }
  return {
    protocols: [...protocols],
    protocolPreference: oneOf(
      'protocolPreference',
      options.protocolPreference,
      ['server', 'client'],
      'server',
    ),
    requireProtocol,
    onNoProtocolMatch: oneOf('onNoProtocolMatch', options.onNoProtocolMatch, ['reject', 'proceed'], 'reject'),
    selectProtocol,
    origins,
    perMessageDeflate: bool('perMessageDeflate', options.perMessageDeflate, false),
    beforeUpgrade: fn<HandshakeHook<TRequest>>('beforeUpgrade', options.beforeUpgrade),
    plainRequests: oneOf('plainRequests', options.plainRequests, ['reject', 'pass'], 'reject'),
    logger,
    production: bool('production', options.production, process.env.NODE_ENV === 'production'),
    heartbeatMs: heartbeat(options.heartbeatMs, fail),
    maxConnections: limit('maxConnections', options.maxConnections, fail),
    handshakeTimeoutMs: milliseconds(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs,
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
      fail,
    ),
    maxConnectionsPerClient: limit('maxConnectionsPerClient', options.maxConnectionsPerClient, fail),
  };
}

/**
 * The known name closest to a misspelt one (Levenshtein distance, case-insensitive), when it is
 * close enough to be the likely intent: at most a third of the name's length.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The default heartbeat interval: below nginx's and AWS ALB's 60 s idle timeouts. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

function heartbeat(value: unknown, fail: (option: string, message: string) => never): number | false {
  if (value === undefined) return DEFAULT_HEARTBEAT_MS;
  if (value === false) return false;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    fail('heartbeatMs', 'must be a whole number of milliseconds (1 or more) or false');
  }
  return value as number;
}

function limit(option: string, value: unknown, fail: (option: string, message: string) => never): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(option, 'must be a whole number of connections, 1 or more');
  }
  return value as number;
}

/** The default bound on a handshake's hooks and on the middleware before an endpoint. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** A duration option: a whole number of milliseconds, 1 or more. */
export function milliseconds(
  option: string,
  value: unknown,
  fallback: number,
  fail: (option: string, message: string) => never,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    fail(option, 'must be a whole number of milliseconds, 1 or more');
  }
  return value as number;
}
