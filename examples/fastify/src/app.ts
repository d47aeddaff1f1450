/**
 * The wsgate reference app on Fastify. The same app exists for Express and Koa; all three
 * answer every request the same way.
 */
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { websocket, wsgate } from '@wsgate/fastify';
import { instrumentWsgate } from '@wsgate/otel';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
} from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireUser`. */
    user: { user: string } | null;
  }
}

function echo(socket: WebSocket): void {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
}

// #region auth
/** Fastify's own auth hook: runs before the 101 like it runs before any route. */
async function requireUser(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const cookies = (request.headers.cookie ?? '').split(';').map((c) => c.trim());
  const { ticket } = request.query as { ticket?: string };
  const ok =
    request.headers.authorization === 'Bearer letmein' ||
    cookies.includes('session=letmein') ||
    ticket === 'letmein';
  if (!ok) {
    await reply.code(401).header('WWW-Authenticate', 'Bearer').send({ code: 'AUTHENTICATION_REQUIRED' });
    return;
  }
  request.user = { user: 'demo' };
}
// #endregion auth

/** Builds the reference app; Fastify's `request.log` (on `logger`) gets one record per handshake. */
export async function createApp(
  logger: Logger,
  https?: StartOptions['https'],
  lifecycle?: Lifecycle,
  metrics?: Metrics,
) {
  // #region https
  const serverFactory: FastifyServerFactory | undefined = https
    ? (handler) => createHttpsServer(https, handler)
    : undefined;
  const app = Fastify({ loggerInstance: logger, ...(serverFactory ? { serverFactory } : {}) });
  // #endregion https
  // #region plugin
  await app.register(wsgate, {
    ...endpointKnobs(lifecycle),
    // fastify.close() drains (1001) within this deadline.
    ...(lifecycle?.drainMs === undefined ? {} : { websocket: { preClose: drainWithin(lifecycle.drainMs) } }),
  });
  // #endregion plugin
  app.decorateRequest('user', null);

  app.get('/health', async () => 'ok');
  if (metrics) {
    app.get('/metrics', (request, reply) => {
      // The exporter writes the response itself.
      reply.hijack();
      metrics.exporter.getMetricsRequestHandler(request.raw, reply.raw);
    });
  }

  // #region endpoints
  // websocket(options, handler) declares a route as in the Express and Koa adapters; a plain
  // `{ websocket: true, config: { wsgate: options } }` route works too.
  app.get('/echo', websocket({ origins: '*', perMessageDeflate: true }, echo));

  app.get(
    '/chat',
    websocket(
      {
        protocols: ['chat.v2', 'chat.v1'],
        requireProtocol: true,
        origins: ['http://localhost:5173'],
      },
      echo,
    ),
  );

  app.get('/private', {
    ...websocket({}, (socket, request) => socket.send(JSON.stringify(request.user))),
    onRequest: requireUser,
  });
  // #endregion endpoints

  return app;
}

/** How to start the reference app. */
export interface StartOptions {
  /** Receives one record per handshake. */
  readonly logger: Logger;
  /** @default 0 (a free port) */
  readonly port?: number | undefined;
  /** @default '127.0.0.1' */
  readonly host?: string | undefined;
  /** Serve https (and wss://) with this key and certificate chain (leaf first, then intermediates). */
  readonly https?: { readonly key: string; readonly cert: string } | undefined;
  /** The lifecycle knobs of every endpoint (`HEARTBEAT_MS`, `MAX_CONNECTIONS`, … in server.ts). */
  readonly lifecycle?: Lifecycle | undefined;
}

/** Heartbeat, limits and drain deadline; unset means wsgate's defaults. */
export interface Lifecycle {
  readonly heartbeatMs?: number | false | undefined;
  readonly maxConnections?: number | undefined;
  readonly maxConnectionsPerClient?: number | undefined;
  /** How long open connections get to close on shutdown before they are terminated. */
  readonly drainMs?: number | undefined;
  /** Serve Prometheus metrics at `GET /metrics` (`METRICS=1`). */
  readonly metrics?: boolean | undefined;
}

/** Reads the lifecycle knobs from the environment (unset or empty: the defaults). */
export function lifecycleFromEnv(env: NodeJS.ProcessEnv): Lifecycle {
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return {
    heartbeatMs: env.HEARTBEAT_MS === 'off' ? false : number('HEARTBEAT_MS'),
    maxConnections: number('MAX_CONNECTIONS'),
    maxConnectionsPerClient: number('MAX_CONNECTIONS_PER_CLIENT'),
    drainMs: number('DRAIN_MS'),
    metrics: env.METRICS === '1',
  };
}

/** The endpoint options the knobs set (only those given). */
function endpointKnobs(lifecycle: Lifecycle = {}) {
  const { drainMs: _, metrics: __, ...knobs } = lifecycle;
  return Object.fromEntries(Object.entries(knobs).filter(([, value]) => value !== undefined));
}

// #region metrics
/** Prometheus text at `GET /metrics` (METRICS=1): @wsgate/otel on an OpenTelemetry meter provider. */
export interface Metrics {
  /** The exporter `/metrics` answers with (it starts no server of its own). */
  readonly exporter: PrometheusExporter;
  /** Stops recording and shuts the meter provider down. */
  stop(): Promise<void>;
}

/**
 * Starts recording wsgate's metrics for a Prometheus scrape. The channels are process-wide: every
 * wsgate endpoint in the process is counted.
 */
export function startMetrics(): Metrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const otel = instrumentWsgate({ meterProvider });
  return {
    exporter,
    stop: async () => {
      otel.stop();
      await meterProvider.shutdown();
    },
  };
}
// #endregion metrics

/** A running reference app. */
export interface RunningApp {
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Starts the reference app on `host:port` (port 0 picks a free one), over https when given a
 * certificate. The server script, the example's test and the end-to-end tests all start it this way.
 */
export async function start(options: StartOptions): Promise<RunningApp> {
  const metrics = options.lifecycle?.metrics ? startMetrics() : undefined;
  const app = await createApp(options.logger, options.https, options.lifecycle, metrics);
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  return {
    server: app.server,
    close: async () => {
      await app.close();
      await metrics?.stop();
    },
  };
}

/** A preClose that drains with a deadline, then closes ws's server. */
function drainWithin(timeoutMs: number) {
  return async function (this: FastifyInstance) {
    await this.wsgate.drain({ timeoutMs });
    await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
  };
}
