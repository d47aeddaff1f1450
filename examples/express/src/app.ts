/**
 * The wsgate reference app on Express. The same app exists for Koa and Fastify; all three
 * answer every request the same way.
 */
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import https from 'node:https';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { drain, websocket, wsgate } from '@wsgate/express';
import { instrumentWsgate } from '@wsgate/otel';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';

declare global {
  namespace Express {
    interface Request {
      /** Set by `requireUser`. */
      user?: { user: string };
    }
  }
}

function echo(ws: WebSocket): void {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

// #region auth
/** Express's own auth middleware: runs before the 101 like it runs before any route. */
function requireUser(req: Request, res: Response, next: NextFunction): void {
  const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim());
  const ok =
    req.headers.authorization === 'Bearer letmein' ||
    cookies.includes('session=letmein') ||
    req.query.ticket === 'letmein';
  if (!ok) {
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ code: 'AUTHENTICATION_REQUIRED' });
    return;
  }
  req.user = { user: 'demo' };
  next();
}
// #endregion auth

/** Builds the reference app; `logger` receives one record per handshake. */
export function createApp(logger: Logger, lifecycle?: Lifecycle, metrics?: Metrics): express.Express {
  const knobs = endpointKnobs(lifecycle);
  const app = express();
  // #region wsgate
  // First: wsgate owns every upgrade from the first request, and every endpoint logs here.
  app.use(wsgate({ logger }));
  // #endregion wsgate

  app.get('/health', (_req, res) => {
    res.send('ok');
  });
  // #region metrics-route
  if (metrics) app.get('/metrics', (req, res) => metrics.exporter.getMetricsRequestHandler(req, res));
  // #endregion metrics-route

  // #region endpoints
  app.get('/echo', websocket({ ...knobs, origins: '*', perMessageDeflate: true }, echo));

  app.get(
    '/chat',
    websocket(
      {
        ...knobs,
        protocols: ['chat.v2', 'chat.v1'],
        requireProtocol: true,
        origins: ['http://localhost:5173'],
      },
      echo,
    ),
  );

  app.get(
    '/private',
    requireUser,
    websocket(knobs, (ws, req) => ws.send(JSON.stringify(req.user))),
  );
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
  // #region https
  const handler = createApp(options.logger, options.lifecycle, metrics);
  const server = options.https ? https.createServer(options.https, handler) : http.createServer(handler);
  // #endregion https
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    // A restart drains: new handshakes get 503 SERVER_SHUTTING_DOWN, open connections close
    // with 1001 (clients reconnect, to another instance behind a load balancer).
    close: async () => {
      await drain(server, { timeoutMs: options.lifecycle?.drainMs });
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await metrics?.stop();
    },
  };
}
