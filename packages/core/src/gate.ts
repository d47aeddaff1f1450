/**
 * The gate: given one request, decide accept / reject / pass, render the rejection, and log one
 * record. Every adapter creates one gate per WebSocket endpoint and only translates.
 */
import { type CatalogEntry, catalog, codeForStatus, type HandshakeErrorCode } from './catalog.js';
import { type Diagnosis, diagnose, type Finding } from './diagnosis.js';
import { HandshakeError, requestRejection } from './errors.js';
import { formatExtensions, negotiateExtensions } from './extensions.js';
import { parseHost } from './host.js';
import { type HandshakeRecord, type Logger, reportHandshake } from './logging.js';
import { type HandshakeInfo, type ResolvedOptions, resolveOptions, type WsGateOptions } from './options.js';
import { checkOrigin, originHint, parseOrigin } from './origin.js';
import { type HandshakeRequest, pathOf } from './request.js';
import { type HttpResponse, renderRejection } from './response.js';
import { selectSubprotocol } from './subprotocols.js';
import { traceContextOf } from './trace-context.js';
import { checkRequest, type Failure, MALFORMED_HANDSHAKE_CODES } from './validate.js';

/** The handshake may go on: hand it to the WebSocket server with these settings. */
export interface AcceptDecision {
  readonly kind: 'accept';
  /** The subprotocol to answer with (exactly one the client offered), if any. */
  readonly protocol: string | undefined;
  /**
   * The `Sec-WebSocket-Extensions` value to hand the WebSocket server in place of the client's:
   * only the permessage-deflate offers that passed RFC 7692 checks. `undefined` when none did.
   */
  readonly extensions: string | undefined;
  /** What the `beforeUpgrade` hook returned. */
  readonly context: unknown;
  /** The normalised `Origin`, if any. */
  readonly origin: string | undefined;
  /**
   * Releases the connection's place under the endpoint's limits: call it once the connection
   * closes, or when the handshake never completes. Idempotent.
   */
  readonly release: () => void;
}

/**
 * A limit on open connections shared by several endpoints — every endpoint of one server
 * (`maxServerConnections`). The gates that share it count their connections in `open`.
 */
export interface SharedConnectionLimit {
  /** The most open connections, in all. */
  max: number;
  /** Open connections (and accepted handshakes on their way to the 101) right now. */
  open: number;
}

/** The handshake is refused with this error. */
export interface RejectDecision {
  readonly kind: 'reject';
  readonly error: HandshakeError;
  /** The intermediary or client diagnosed, for transport failures. */
  readonly diagnosis: Diagnosis | undefined;
  /** Codes of other checks that failed too. */
  readonly otherFailures: readonly string[];
  /** The normalised `Origin`, if any. */
  readonly origin: string | undefined;
}

/** Not a WebSocket request for this endpoint: let the framework's next handler have it. */
export interface PassDecision {
  readonly kind: 'pass';
  readonly reason: string;
}

/** What {@link Gate.decide} returns. */
export type Decision = AcceptDecision | RejectDecision | PassDecision;

/** What an adapter tells the gate about itself. */
export interface AdapterInfo {
  /** The framework name logged as `framework`. */
  readonly framework: string;
  /** The package named in option errors, e.g. `@wsgate/express`. */
  readonly packageName?: string | undefined;
  /** Option names the adapter adds on top of {@link WsGateOptions}. */
  readonly extraOptions?: readonly string[] | undefined;
}

/** Extra facts an adapter adds to the log record. */
export interface ReportExtras {
  /** `performance.now()` when the request reached wsgate. */
  readonly startedAt: number;
  /** The framework's request id. */
  readonly requestId?: string | undefined;
  /**
   * Where to log instead of the `logger` option: the request's own logger (Fastify's
   * `request.log`), or every logger registered for the server.
   */
  readonly logger?: Logger | readonly Logger[] | undefined;
}

/** Codes whose cause is usually an intermediary or the client kind, so diagnosis is worth running. */
const DIAGNOSED = new Set<HandshakeErrorCode>([
  'HTTP_VERSION_TOO_OLD',
  'NOT_A_WEBSOCKET_REQUEST',
  'UPGRADE_HEADERS_STRIPPED',
  'UPGRADE_HEADER_MISSING',
  'CONNECTION_UPGRADE_MISSING',
  'WEBSOCKET_VERSION_MISSING',
  'WEBSOCKET_KEY_MISSING',
]);

/**
 * One WebSocket endpoint's decisions.
 *
 * @example
 * ```ts
 * const gate = createGate({ protocols: ['chat.v1'] });
 * const decision = await gate.decide(readRequest(req, 'upgrade'), req);
 * ```
 */
export class Gate<TRequest = unknown> {
  /** The validated options. */
  readonly options: ResolvedOptions<TRequest>;
  /** The framework name logged. */
  readonly framework: string;

  constructor(options?: WsGateOptions<TRequest, unknown>, adapter: AdapterInfo = { framework: 'core' }) {
    this.options = resolveOptions(options, adapter.packageName, adapter.extraOptions);
    this.framework = adapter.framework;
  }

  /**
   * Decides one request. Never throws: hook errors become `HOOK_FAILED` rejections.
   *
   * @param handshake - The request as read by `readRequest`.
   * @param request - The framework's request, handed to hooks.
   * @param shared - A limit this endpoint shares with others (its server's), if any.
   */
  async decide(
    handshake: HandshakeRequest,
    request: TRequest,
    shared?: SharedConnectionLimit,
  ): Promise<Decision> {
    const checked = checkRequest(handshake);
    const opts = this.options;

    if (handshake.arrival === 'request' && checked.isPlainRequest) {
      if (handshake.method !== 'GET') {
        return { kind: 'pass', reason: `a plain ${handshake.method} request is not a WebSocket handshake` };
      }
      if (opts.plainRequests === 'pass') return { kind: 'pass', reason: 'plainRequests is "pass"' };
    }
    if (this.#shuttingDown) {
      const error = requestRejection('SERVER_SHUTTING_DOWN', {
        detail: 'the endpoint is closing and takes no new connections',
        hint: 'Reconnect after the Retry-After delay (to another instance behind a load balancer).',
      });
      return this.#reject(error, undefined, [], undefined);
    }

    const failures = [...checked.transport, ...checked.negotiation].map((f) => f.code);
    const first = checked.transport[0];
    if (first) return this.#rejectFailure(first, handshake, failures.slice(1), undefined);
    // No transport check failed: until a negotiation failure decides, all of them are "others".
    const others = failures;

    // A synchronous result is used as is: each `await` costs a microtask turn.
    let origin = this.#guard(() => checkOrigin(opts.origins, handshake, request));
    if (origin instanceof Promise) origin = await origin;
    if (origin instanceof HandshakeError) return this.#reject(origin, undefined, others, undefined);
    if (!origin.ok) {
      const error = requestRejection('ORIGIN_NOT_ALLOWED', {
        detail: origin.detail,
        hint: originHint(opts.origins.kind, origin.origin),
      });
      return this.#reject(error, undefined, others, origin.origin);
    }

    const info: HandshakeInfo = {
      offeredProtocols: checked.offeredProtocols,
      origin: origin.origin,
      path: pathOf(handshake.url),
    };
    let context: unknown;
    if (opts.beforeUpgrade) {
      const hook = opts.beforeUpgrade;
      let result = this.#guard(() => hook(request, info));
      if (result instanceof Promise) result = await result;
      if (result instanceof HandshakeError) return this.#reject(result, undefined, others, origin.origin);
      context = result;
    }

    const negotiationFailure = checked.negotiation[0];
    if (negotiationFailure) {
      return this.#rejectFailure(negotiationFailure, handshake, others.slice(1), origin.origin);
    }

    let protocol = this.#chooseProtocol(checked.offeredProtocols, request);
    if (protocol instanceof Promise) protocol = await protocol;
    if (protocol instanceof HandshakeError) return this.#reject(protocol, undefined, others, origin.origin);

    const limited = this.#admit(handshake.remoteAddress, shared);
    if (limited) return this.#reject(limited, undefined, others, origin.origin);
    const { accepted } = negotiateExtensions(checked.extensionOffers, opts.perMessageDeflate);
    return {
      kind: 'accept',
      protocol,
      extensions: accepted.length > 0 ? formatExtensions(accepted) : undefined,
      context,
      origin: origin.origin,
      release: this.#reservation(handshake.remoteAddress, shared),
    };
  }

  /**
   * The rejection of a malformed handshake, which needs neither an endpoint nor the framework: one
   * whose deciding failure is in its `Sec-WebSocket-Version` or `Sec-WebSocket-Key`
   * ({@link MALFORMED_HANDSHAKE_CODES}). `undefined` for every other request, which its endpoint
   * decides with {@link decide}.
   */
  decideMalformed(handshake: HandshakeRequest): RejectDecision | undefined {
    const checked = checkRequest(handshake);
    const first = checked.transport[0];
    if (!first || !MALFORMED_HANDSHAKE_CODES.has(first.code)) return undefined;
    const others = [...checked.transport.slice(1), ...checked.negotiation].map((f) => f.code);
    return this.#rejectFailure(first, handshake, others, undefined);
  }

  /** Open connections (and accepted handshakes on their way to the 101), in all and per client. */
  #open = 0;
  readonly #openByClient = new Map<string, number>();

  /** The limit a new connection from `client` would break, as a rejection; `undefined` if none. */
  #admit(client: string | undefined, shared: SharedConnectionLimit | undefined): HandshakeError | undefined {
    const { maxConnections, maxConnectionsPerClient } = this.options;
    if (shared && shared.open >= shared.max) {
      return requestRejection('TOO_MANY_CONNECTIONS', {
        detail: `the server holds its maximum of ${shared.max} open WebSocket connections`,
        hint: 'Retry after the Retry-After delay; the operator can raise `maxServerConnections`.',
      });
    }
    if (this.#open >= maxConnections) {
      return requestRejection('TOO_MANY_CONNECTIONS', {
        detail: `the endpoint holds its maximum of ${maxConnections} open connections`,
        hint: 'Retry after the Retry-After delay; the operator can raise `maxConnections`.',
      });
    }
    const key = client ?? '';
    if ((this.#openByClient.get(key) ?? 0) >= maxConnectionsPerClient) {
      return requestRejection('CLIENT_CONNECTION_LIMIT', {
        detail: `this client already holds ${maxConnectionsPerClient} open connections to the endpoint`,
      });
    }
    return undefined;
  }

  /** Counts a connection from the accept decision on; the returned function releases it, once. */
  #reservation(client: string | undefined, shared: SharedConnectionLimit | undefined): () => void {
    const key = client ?? '';
    this.#open++;
    if (shared) shared.open++;
    this.#openByClient.set(key, (this.#openByClient.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
      if (shared) shared.open--;
      const left = (this.#openByClient.get(key) ?? 1) - 1;
      if (left === 0) this.#openByClient.delete(key);
      else this.#openByClient.set(key, left);
    };
  }

  /** How many connections this endpoint holds (open, or accepted and opening), in all or for one client. */
  openConnections(client?: string): number {
    return client === undefined ? this.#open : (this.#openByClient.get(client) ?? 0);
  }

  /** From now on every handshake is refused with `SERVER_SHUTTING_DOWN` (the endpoint is closing). */
  shutDown(): void {
    this.#shuttingDown = true;
  }

  /** Whether {@link shutDown} was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  #shuttingDown = false;

  /**
   * Renders a rejection for the request (JSON or text by its `Accept`).
   *
   * @param production - Overrides the `production` option (a server-wide setting).
   */
  render(decision: RejectDecision, handshake: HandshakeRequest, production?: boolean): HttpResponse {
    return renderRejection(decision.error, handshake.headers, {
      production: production ?? this.options.production,
    });
  }

  /**
   * Logs the outcome (one record per handshake) and publishes it on the diagnostics channel.
   * Returns the record.
   */
  report(
    handshake: HandshakeRequest,
    decision: AcceptDecision | RejectDecision,
    extras: ReportExtras,
  ): HandshakeRecord {
    if (decision.kind === 'accept') {
      const record = this.#record(handshake, 'accepted', 101, undefined, decision.origin, extras);
      record.protocol = decision.protocol;
      record.extensions = decision.extensions;
      reportHandshake(record, extras.logger ?? this.options.logger, false);
      return record;
    }
    const { error, diagnosis } = decision;
    const record = this.#record(handshake, 'rejected', error.status, error.code, decision.origin, extras);
    record.proxy = diagnosis?.proxy?.id;
    record.client = diagnosis?.client?.id;
    record.diagnosis = diagnosis?.proxy || diagnosis?.client ? diagnosis : undefined;
    record.detail = error.detail;
    record.hint = error.hint;
    record.otherFailures = decision.otherFailures.length > 0 ? decision.otherFailures : undefined;
    record.err = error.cause;
    reportHandshake(record, extras.logger ?? this.options.logger, error.isServerFault);
    return record;
  }

  /**
   * Logs the outcome of a handshake the application answered itself before any endpoint (a 401
   * from auth middleware, a rate limiter's 429, a redirect): the status as written, its code from
   * {@link codeForStatus}. Returns the record.
   */
  reportResponse(handshake: HandshakeRequest, status: number, extras: ReportExtras): HandshakeRecord {
    const code = codeForStatus(status);
    const entry: CatalogEntry = catalog[code];
    const record = this.#record(handshake, 'rejected', status, code, undefined, extras);
    record.detail = 'the application answered before reaching a WebSocket endpoint';
    record.hint = entry.hint;
    reportHandshake(record, extras.logger ?? this.options.logger, entry.fault === 'server');
    return record;
  }

  /**
   * The fields every record has, in the order they are logged; the outcome's own fields are
   * assigned after. (Not `{ ...base, more }`: an object spread followed by more properties takes
   * V8's slow path, several µs a record on Node 20.)
   */
  #record(
    handshake: HandshakeRequest,
    outcome: HandshakeRecord['outcome'],
    status: number,
    code: string | undefined,
    origin: string | undefined,
    extras: ReportExtras,
  ): Mutable<HandshakeRecord> {
    const trace = traceContextOf(handshake.headers);
    const hosts = handshake.headers.all('host');
    return {
      outcome,
      status,
      code,
      method: handshake.method,
      httpVersion: handshake.httpVersion,
      scheme: handshake.site?.protocol ?? (handshake.secure ? 'https' : 'http'),
      host:
        handshake.site?.hostname ?? (hosts.length === 1 ? parseHost(hosts[0] as string)?.host : undefined),
      path: pathOf(handshake.url),
      route: handshake.route,
      framework: this.framework,
      arrival: handshake.arrival,
      origin: origin ?? originOf(handshake),
      remoteAddress: handshake.remoteAddress,
      peerAddress: handshake.peerAddress,
      durationMs: Math.round((performance.now() - extras.startedAt) * 1000) / 1000,
      requestId: extras.requestId,
      traceparent: trace?.traceparent,
      tracestate: trace?.tracestate,
    };
  }

  /** Builds a rejection decision for a code an adapter detects itself (e.g. `ENDPOINT_NOT_FOUND`). */
  reject(error: HandshakeError, origin?: string): RejectDecision {
    return this.#reject(error, undefined, [], origin);
  }

  #chooseProtocol(
    offered: readonly string[],
    request: TRequest,
  ): string | undefined | HandshakeError | Promise<string | undefined | HandshakeError> {
    const opts = this.options;
    const supported = opts.protocols;
    if (offered.length === 0) {
      if (!opts.requireProtocol) return undefined;
      return requestRejection('SUBPROTOCOL_REQUIRED', {
        detail: 'the client offered no subprotocol',
        hint: 'Offer one of the supported subprotocols: new WebSocket(url, ["…"]).',
        ...(supported.length > 0 ? { supported } : {}),
      });
    }
    if (opts.selectProtocol) {
      const selector = opts.selectProtocol;
      const picked = this.#guard(() => selector(offered, request));
      return picked instanceof Promise
        ? picked.then((value) => this.#selected(value, offered))
        : this.#selected(picked, offered);
    }
    return this.#selected(selectSubprotocol(supported, offered, opts.protocolPreference), offered, true);
  }

  /** What a subprotocol choice comes to: the protocol, none (`onNoProtocolMatch: 'proceed'`) or a rejection. */
  #selected(
    picked: unknown,
    offered: readonly string[],
    byCore = false,
  ): string | undefined | HandshakeError {
    if (picked instanceof HandshakeError) return picked;
    if (!byCore && picked !== undefined && (typeof picked !== 'string' || !offered.includes(picked))) {
      return requestRejection('SUBPROTOCOL_SELECTION_INVALID', {
        detail: `selectProtocol returned ${JSON.stringify(picked)}, which the client did not offer`,
        hint: 'Return one of the offered subprotocols exactly as given, or undefined.',
      });
    }
    const chosen = picked as string | undefined;
    const opts = this.options;
    if (chosen !== undefined || opts.onNoProtocolMatch === 'proceed') return chosen;
    const supported = opts.protocols;
    return requestRejection('SUBPROTOCOL_UNSUPPORTED', {
      detail: `the client offered ${offered.map((p) => `"${p}"`).join(', ')}`,
      hint:
        supported.length > 0
          ? 'Offer one of the supported subprotocols.'
          : 'This endpoint speaks no subprotocol: connect without one.',
      supported,
    });
  }

  /**
   * Runs application code; a thrown or returned HandshakeError is kept, anything else thrown
   * becomes HOOK_FAILED. A synchronous result is returned as is (no promise: see {@link settled}),
   * a promise is bounded by `handshakeTimeoutMs`.
   */
  #guard<T>(run: () => T | Promise<T>): T | HandshakeError | Promise<T | HandshakeError> {
    let result: T | Promise<T>;
    try {
      result = run();
    } catch (error) {
      return hookFailure(error);
    }
    // Any thenable (Bluebird, a query builder, another realm's promise) is awaited as before.
    return isThenable(result) ? this.#bounded(Promise.resolve(result)) : (result as T);
  }

  async #bounded<T>(result: Promise<T>): Promise<T | HandshakeError> {
    let timer: NodeJS.Timeout | undefined;
    const ms = this.options.handshakeTimeoutMs;
    const timeout = new Promise<HandshakeError>((resolve) => {
      timer = setTimeout(
        () =>
          resolve(
            new HandshakeError('HANDSHAKE_TIMEOUT', {
              detail: `an application hook did not settle within ${ms} ms`,
            }),
          ),
        ms,
      );
      timer.unref();
    });
    try {
      return await Promise.race([result, timeout]);
    } catch (error) {
      return hookFailure(error);
    } finally {
      clearTimeout(timer);
    }
  }

  #rejectFailure(
    failure: Failure,
    handshake: HandshakeRequest,
    others: readonly string[],
    origin: string | undefined,
  ): RejectDecision {
    const diagnosis = DIAGNOSED.has(failure.code) ? diagnose(handshake) : undefined;
    const hint = hintFor(failure.code, diagnosis);
    const error = requestRejection(failure.code, { detail: failure.detail, ...(hint ? { hint } : {}) });
    return this.#reject(error, diagnosis, others, origin);
  }

  #reject(
    error: HandshakeError,
    diagnosis: Diagnosis | undefined,
    otherFailures: readonly string[],
    origin: string | undefined,
  ): RejectDecision {
    return { kind: 'reject', error, diagnosis, otherFailures, origin };
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** A hook's thrown HandshakeError is kept; anything else thrown becomes `HOOK_FAILED`. */
function hookFailure(error: unknown): HandshakeError {
  if (error instanceof HandshakeError) return error;
  return new HandshakeError('HOOK_FAILED', {
    detail: error instanceof Error ? error.message : String(error),
    cause: error,
  });
}

/** A record being built: its fields are assigned before it is logged. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The request's `Origin` for the log when the origin check did not run (a transport failure):
 * normalised when it parses, as received otherwise.
 */
function originOf(handshake: HandshakeRequest): string | undefined {
  const value = handshake.headers.all('origin')[0]?.trim();
  return value === undefined || value === 'null' ? value : (parseOrigin(value)?.normalized ?? value);
}

/** The diagnosis-specific hint for a code, or `undefined` to keep the catalog's. */
function hintFor(code: HandshakeErrorCode, diagnosis: Diagnosis | undefined): string | undefined {
  if (!diagnosis) return undefined;
  const describe = (finding: Finding) =>
    `Looks like ${finding.name} (${finding.confidence} confidence: ${finding.evidence.join(', ')}). Fix: ${finding.fix.join(' ')}`;
  if (code === 'NOT_A_WEBSOCKET_REQUEST') {
    const generic = 'hint' in catalog[code] ? catalog[code].hint : undefined;
    return diagnosis.client ? describe(diagnosis.client) : generic;
  }
  return diagnosis.proxy ? describe(diagnosis.proxy) : undefined;
}

/**
 * Creates the gate of one endpoint; validates the options at once (a `TypeError` names the option).
 *
 * @example
 * ```ts
 * const gate = createGate({ protocols: ['chat.v2', 'chat.v1'], requireProtocol: true });
 * ```
 */
export function createGate<TRequest = unknown>(
  options?: WsGateOptions<TRequest, unknown>,
  adapter?: AdapterInfo,
): Gate<TRequest> {
  return new Gate(options, adapter);
}
