/**
 * OpenTelemetry for wsgate: one call subscribes to core's diagnostics channels
 * (`wsgate:handshake`, `wsgate:connection`) and records metrics and a span per handshake. It reads
 * only the records core publishes — no framework hook, no per-endpoint option — so the same
 * instruments come out of Express, Koa and Fastify.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  context as contextApi,
  createTraceState,
  isSpanContextValid,
  type Meter,
  type MeterProvider,
  metrics,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import {
  CONNECTION_CHANNEL,
  type ConnectionRecord,
  HANDSHAKE_CHANNEL,
  type HandshakeRecord,
  isValidTraceparent,
} from '@wsgate/core';

/** The instrumentation scope name every meter and tracer of this package is created with. */
export const INSTRUMENTATION_SCOPE = '@wsgate/otel';

/** The instrument names recorded (OpenTelemetry naming: dot-separated, unit not in the name). */
export const METRIC_NAMES = {
  /** Counter of handshake outcomes. */
  handshakes: 'wsgate.handshakes',
  /** Histogram of handshake durations, in seconds. */
  handshakeDuration: 'wsgate.handshake.duration',
  /** Up-down counter of open connections. */
  connectionsOpen: 'wsgate.connections.open',
  /** Counter of connections that ended. */
  connectionsClosed: 'wsgate.connections.closed',
  /** Histogram of connection lifetimes, in seconds. */
  connectionDuration: 'wsgate.connection.duration',
} as const;

/**
 * The attribute names used. OpenTelemetry semantic conventions where one exists; the `wsgate.*`
 * namespace otherwise. Every value is bounded: route patterns (never raw paths), codes from
 * wsgate's catalog, close codes bucketed.
 */
export const ATTRIBUTES = {
  /** `accepted` or `rejected`. */
  outcome: 'wsgate.outcome',
  /** The rejection code (`ORIGIN_NOT_ALLOWED`, …); absent when accepted. */
  code: 'wsgate.code',
  /** `express`, `koa`, `fastify` or `core`. */
  framework: 'wsgate.framework',
  /** The endpoint's route pattern, or {@link UNMATCHED_ENDPOINT} when no endpoint claimed the request. */
  endpoint: 'wsgate.endpoint',
  /** Who ended a connection: `client`, `server`, `heartbeat`, `drain` or `limit`. */
  closedBy: 'wsgate.closed_by',
  /** The close code: `1000`…`1015` as is, application codes as `3xxx`/`4xxx`, anything else `other`. */
  closeCode: 'wsgate.close_code',
  /** Semantic convention: the route pattern (omitted when no endpoint matched). */
  route: 'http.route',
  /** Semantic convention: the HTTP status sent (101 when accepted). */
  statusCode: 'http.response.status_code',
  /** Semantic convention: the request method (`_OTHER` for one outside RFC 9110's). */
  method: 'http.request.method',
  /** Semantic convention: the HTTP version (`1.1`). */
  protocolVersion: 'network.protocol.version',
  /** Semantic convention: the host name the request was addressed to (spans only). */
  serverAddress: 'server.address',
  /** Semantic convention: `http` or `https`. */
  scheme: 'url.scheme',
} as const;

/** The `wsgate.endpoint` value of a handshake no endpoint claimed (a 404, a middleware's 401). */
export const UNMATCHED_ENDPOINT = 'unmatched';

/** Bucket boundaries of `wsgate.handshake.duration`, in seconds (a handshake takes milliseconds). */
export const HANDSHAKE_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Bucket boundaries of `wsgate.connection.duration`, in seconds (from a second to a day). */
export const CONNECTION_DURATION_BUCKETS: readonly number[] = [
  0.1, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400,
];

/** What {@link instrumentWsgate} records with. */
export interface WsgateInstrumentationOptions {
  /**
   * Where the metrics go.
   * @default the global meter provider (`metrics.getMeterProvider()` at the time of the call:
   * register the SDK's provider first)
   */
  readonly meterProvider?: MeterProvider | undefined;
  /**
   * Where the spans go.
   * @default the global tracer provider (`trace.getTracerProvider()`, a proxy: an SDK registered
   * later is used too)
   */
  readonly tracerProvider?: TracerProvider | undefined;
}

/** A running instrumentation. */
export interface WsgateInstrumentation {
  /** Unsubscribes from the channels: nothing more is recorded. Idempotent. */
  stop(): void;
}

const OPTION_NAMES = new Set(['meterProvider', 'tracerProvider']);

function optionError(option: string, message: string): TypeError {
  return new TypeError(`@wsgate/otel: option \`${option}\` ${message}`);
}

function validate(options: unknown): WsgateInstrumentationOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('@wsgate/otel: the options must be an object');
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw optionError(name, 'is not an option of instrumentWsgate');
  }
  const { meterProvider, tracerProvider } = options as Record<string, unknown>;
  if (
    meterProvider !== undefined &&
    typeof (meterProvider as { getMeter?: unknown } | null)?.getMeter !== 'function'
  ) {
    throw optionError('meterProvider', 'must be an OpenTelemetry MeterProvider (with `getMeter`)');
  }
  if (
    tracerProvider !== undefined &&
    typeof (tracerProvider as { getTracer?: unknown } | null)?.getTracer !== 'function'
  ) {
    throw optionError('tracerProvider', 'must be an OpenTelemetry TracerProvider (with `getTracer`)');
  }
  return options as WsgateInstrumentationOptions;
}

/** RFC 9110's methods (and PATCH): the values `http.request.method` keeps; others become `_OTHER`. */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/** The `http.request.method` value of a method as received (semantic conventions: `_OTHER` if unknown). */
export function methodAttribute(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/**
 * The `wsgate.close_code` value of a close code: the codes RFC 6455 and the IANA registry define
 * (1000–1015) as they are, application and library codes bucketed (`3xxx`, `4xxx`) so that a
 * server closing with one code per user cannot explode the metric, anything else `other`.
 */
export function closeCodeBucket(code: number): string {
  if (Number.isInteger(code) && code >= 1000 && code <= 1015) return String(code);
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return '4xxx';
  return 'other';
}

/** The bounded `wsgate.endpoint` of a record. */
function endpointOf(record: { readonly route?: string | undefined }): string {
  return record.route ?? UNMATCHED_ENDPOINT;
}

/**
 * The client's trace context as a remote parent, read from the record's `traceparent` and
 * `tracestate` as the W3C Trace Context propagator reads the headers (core validated them; checked
 * again here for a record published by someone else). Done with `@opentelemetry/api` alone, so
 * that this package needs no SDK package whose `@opentelemetry/api` range could conflict with yours.
 */
export function remoteParentOf(record: {
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}): Context | undefined {
  const header = record.traceparent;
  if (header === undefined || !isValidTraceparent(header)) return undefined;
  const spanContext: SpanContext = {
    traceId: header.slice(3, 35),
    spanId: header.slice(36, 52),
    traceFlags: Number.parseInt(header.slice(53, 55), 16),
    isRemote: true,
    ...(record.tracestate === undefined ? {} : { traceState: createTraceState(record.tracestate) }),
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : undefined;
}

/**
 * The parent of a handshake's span: the context active when core published the record — the
 * HTTP server span `@opentelemetry/instrumentation-http` made for the request, which already honours
 * the client's `traceparent` — else the client's `traceparent` ({@link remoteParentOf}), else none
 * (a new trace).
 */
function parentOf(record: HandshakeRecord): { readonly parent: Context; readonly local: boolean } {
  const active = contextApi.active();
  if (trace.getSpanContext(active) !== undefined) return { parent: active, local: true };
  return { parent: remoteParentOf(record) ?? ROOT_CONTEXT, local: false };
}

/** Seconds from milliseconds. */
const seconds = (ms: number) => ms / 1000;

function handshakeAttributes(record: HandshakeRecord): Attributes {
  const attributes: Attributes = {
    [ATTRIBUTES.outcome]: record.outcome,
    [ATTRIBUTES.framework]: record.framework,
    [ATTRIBUTES.endpoint]: endpointOf(record),
    [ATTRIBUTES.statusCode]: record.status,
  };
  if (record.code !== undefined) attributes[ATTRIBUTES.code] = record.code;
  if (record.route !== undefined) attributes[ATTRIBUTES.route] = record.route;
  return attributes;
}

function connectionAttributes(record: ConnectionRecord): Attributes {
  const attributes: Attributes = {
    [ATTRIBUTES.framework]: record.framework,
    [ATTRIBUTES.endpoint]: endpointOf(record),
    [ATTRIBUTES.closedBy]: record.closedBy,
    [ATTRIBUTES.closeCode]: closeCodeBucket(record.closeCode),
  };
  if (record.route !== undefined) attributes[ATTRIBUTES.route] = record.route;
  return attributes;
}

function openAttributes(record: { readonly framework: string; readonly route?: string | undefined }) {
  const attributes: Attributes = {
    [ATTRIBUTES.framework]: record.framework,
    [ATTRIBUTES.endpoint]: endpointOf(record),
  };
  if (record.route !== undefined) attributes[ATTRIBUTES.route] = record.route;
  return attributes;
}

function createInstruments(meter: Meter) {
  return {
    handshakes: meter.createCounter(METRIC_NAMES.handshakes, {
      description: 'WebSocket handshakes by outcome and rejection code',
      unit: '{handshake}',
    }),
    handshakeDuration: meter.createHistogram(METRIC_NAMES.handshakeDuration, {
      description: 'Time from the request reaching wsgate to the handshake outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: [...HANDSHAKE_DURATION_BUCKETS] },
    }),
    connectionsOpen: meter.createUpDownCounter(METRIC_NAMES.connectionsOpen, {
      description: 'WebSocket connections open now',
      unit: '{connection}',
    }),
    connectionsClosed: meter.createCounter(METRIC_NAMES.connectionsClosed, {
      description: 'WebSocket connections that ended, by who closed them and the close code',
      unit: '{connection}',
    }),
    connectionDuration: meter.createHistogram(METRIC_NAMES.connectionDuration, {
      description: 'Time from the 101 to the end of the connection',
      unit: 's',
      advice: { explicitBucketBoundaries: [...CONNECTION_DURATION_BUCKETS] },
    }),
  };
}

/**
 * Records wsgate's handshakes and connections with OpenTelemetry, for every endpoint of every
 * framework in the process:
 *
 * - `wsgate.handshakes` (counter) by `wsgate.outcome`, `wsgate.code`, `http.response.status_code`,
 *   `wsgate.framework`, `wsgate.endpoint` (and `http.route` when an endpoint matched);
 * - `wsgate.handshake.duration` (histogram, seconds), same attributes;
 * - `wsgate.connections.open` (up-down counter) by framework and endpoint: +1 on an accepted
 *   handshake, −1 when the connection ends;
 * - `wsgate.connections.closed` (counter) and `wsgate.connection.duration` (histogram, seconds) by
 *   `wsgate.closed_by` and `wsgate.close_code` (application codes bucketed `3xxx`/`4xxx`);
 * - one span per handshake (`WebSocket handshake <route>`), a child of the HTTP server span of
 *   `@opentelemetry/instrumentation-http` when there is one, else of the client's W3C
 *   `traceparent`; a rejection sets the span status to ERROR with the code.
 *
 * Call it once, after registering the OpenTelemetry SDK when you rely on the global providers.
 *
 * @param options - The providers to record with (default: the global ones).
 * @returns A handle whose `stop()` unsubscribes.
 * @throws TypeError naming the option when an option is not what it should be.
 *
 * @example
 * ```ts
 * import { instrumentWsgate } from '@wsgate/otel';
 *
 * const otel = instrumentWsgate({ meterProvider, tracerProvider });
 * // … on shutdown:
 * otel.stop();
 * ```
 */
export function instrumentWsgate(options?: WsgateInstrumentationOptions): WsgateInstrumentation {
  const { meterProvider = metrics.getMeterProvider(), tracerProvider = trace.getTracerProvider() } =
    validate(options);
  const instruments = createInstruments(meterProvider.getMeter(INSTRUMENTATION_SCOPE));
  const tracer = tracerProvider.getTracer(INSTRUMENTATION_SCOPE);

  const onHandshake = (message: unknown) => {
    const record = message as HandshakeRecord;
    const attributes = handshakeAttributes(record);
    instruments.handshakes.add(1, attributes);
    instruments.handshakeDuration.record(seconds(record.durationMs), attributes);
    if (record.outcome === 'accepted') instruments.connectionsOpen.add(1, openAttributes(record));

    const { parent, local } = parentOf(record);
    const end = Date.now();
    const spanAttributes: Attributes = { ...attributes };
    if (record.method !== undefined) spanAttributes[ATTRIBUTES.method] = methodAttribute(record.method);
    if (record.httpVersion !== undefined) spanAttributes[ATTRIBUTES.protocolVersion] = record.httpVersion;
    if (record.host !== undefined) spanAttributes[ATTRIBUTES.serverAddress] = record.host;
    if (record.scheme !== undefined) spanAttributes[ATTRIBUTES.scheme] = record.scheme;
    const span = tracer.startSpan(
      record.route === undefined ? 'WebSocket handshake' : `WebSocket handshake ${record.route}`,
      {
        // Under the HTTP server span it is a step of that request; otherwise it is the server span.
        kind: local ? SpanKind.INTERNAL : SpanKind.SERVER,
        startTime: end - record.durationMs,
        attributes: spanAttributes,
      },
      parent,
    );
    if (record.outcome === 'rejected') {
      span.setStatus(
        record.code === undefined
          ? { code: SpanStatusCode.ERROR }
          : { code: SpanStatusCode.ERROR, message: record.code },
      );
      // Semantic conventions: `error.type` names the class of error.
      if (record.code !== undefined) span.setAttribute('error.type', record.code);
    }
    span.end(end);
  };

  const onConnection = (message: unknown) => {
    const record = message as ConnectionRecord;
    const attributes = connectionAttributes(record);
    instruments.connectionsClosed.add(1, attributes);
    instruments.connectionDuration.record(seconds(record.durationMs), attributes);
    instruments.connectionsOpen.add(-1, openAttributes(record));
  };

  // A subscriber that throws would reach the handshake (diagnostics_channel rethrows on the next
  // tick, as an uncaught exception): recording is best effort.
  const safeHandshake = (message: unknown) => {
    try {
      onHandshake(message);
    } catch {
      // A broken exporter or provider must never break a handshake.
    }
  };
  const safeConnection = (message: unknown) => {
    try {
      onConnection(message);
    } catch {
      // Same for the end of a connection.
    }
  };

  subscribe(HANDSHAKE_CHANNEL, safeHandshake);
  subscribe(CONNECTION_CHANNEL, safeConnection);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe(HANDSHAKE_CHANNEL, safeHandshake);
      unsubscribe(CONNECTION_CHANNEL, safeConnection);
    },
  };
}
