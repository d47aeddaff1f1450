/**
 * The real OpenTelemetry SDK in memory, and one small app per framework on port 0: a routed
 * endpoint (`/rooms/:id`), one with a strict origin list (`/strict`), one behind the framework's own
 * auth middleware (`/private`, 401 before the endpoint), and `/close-me`, which the server closes
 * with an application code.
 */
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { type Attributes, type SpanContext, TraceFlags } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { websocket as expressWebsocket, wsgate as expressWsgate } from '@wsgate/express';
import { websocket as fastifyEndpoint, wsgate as fastifyWsgate } from '@wsgate/fastify';
import { websocket as koaWebsocket, wsgate as koaWsgate } from '@wsgate/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import type { WebSocket } from 'ws';

/** A metric reader the test collects from on demand. */
export class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** A meter and a tracer provider of the real SDK, recording into memory. */
export function sdk() {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    meterProvider,
    tracerProvider,
    exporter,
    /** The data points of metric `name`. */
    async points(name: string): Promise<Array<DataPoint<number | Histogram>>> {
      const { resourceMetrics } = await reader.collect();
      const found = resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .find((metric) => metric.descriptor.name === name);
      return (found?.dataPoints ?? []) as Array<DataPoint<number | Histogram>>;
    },
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

export type Sdk = ReturnType<typeof sdk>;

/** Whether every attribute in `wanted` is on `actual` with that value. */
export function matches(actual: Attributes, wanted: Attributes): boolean {
  return Object.entries(wanted).every(([key, value]) => actual[key] === value);
}

/** The sum of the counter (or up-down counter) points of `name` with the attributes `wanted`. */
export async function sum(sdkHandle: Sdk, name: string, wanted: Attributes = {}): Promise<number> {
  return (await sdkHandle.points(name))
    .filter((point) => matches(point.attributes, wanted))
    .reduce((total, point) => total + (point.value as number), 0);
}

/** The number of observations of histogram `name` with the attributes `wanted`. */
export async function histogramCount(sdkHandle: Sdk, name: string, wanted: Attributes = {}): Promise<number> {
  return (await sdkHandle.points(name))
    .filter((point) => matches(point.attributes, wanted))
    .reduce((total, point) => total + (point.value as Histogram).count, 0);
}

/** Polls until `check` holds (a connection's end is recorded after the client saw its close). */
export async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A client trace context, as a `traceparent` header and the span context it stands for. */
export function clientTrace(): { header: string; context: SpanContext } {
  const hex = (bytes: number) =>
    Array.from({ length: bytes }, () =>
      Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join('');
  const traceId = hex(16);
  const spanId = hex(8);
  return {
    header: `00-${traceId}-${spanId}-01`,
    context: { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true },
  };
}

/** What the apps do once open: echo, and close with 4321 on `close-me`. */
const echo = (ws: WebSocket) => {
  ws.on('message', (data, isBinary) => {
    if (String(data) === 'close-me') ws.close(4321, 'bye');
    else ws.send(data, { binary: isBinary });
  });
};

/** A running app. */
export interface App {
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<App> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const STRICT = { origins: ['http://good.example'] };

/** The apps, by framework. */
export const APPS: Record<'express' | 'koa' | 'fastify', () => Promise<App>> = {
  express: async () => {
    const app = express();
    app.use(expressWsgate());
    app.get('/rooms/:id', expressWebsocket({ origins: '*' }, echo));
    app.get('/strict', expressWebsocket(STRICT, echo));
    app.get(
      '/private',
      (_req, res) => {
        res.status(401).json({ code: 'AUTHENTICATION_REQUIRED' });
      },
      expressWebsocket({ origins: '*' }, echo),
    );
    return listen(http.createServer(app));
  },
  koa: async () => {
    const app = new Koa();
    const router = new Router();
    app.use(koaWsgate());
    router.get('/rooms/:id', koaWebsocket({ origins: '*' }, echo));
    router.get('/strict', koaWebsocket(STRICT, echo));
    router.get(
      '/private',
      (ctx) => {
        ctx.status = 401;
        ctx.body = { code: 'AUTHENTICATION_REQUIRED' };
      },
      koaWebsocket({ origins: '*' }, echo),
    );
    app.use(router.routes());
    return listen(http.createServer(app.callback()));
  },
  fastify: async () => {
    const app = Fastify();
    await app.register(fastifyWsgate);
    app.get('/rooms/:id', fastifyEndpoint({ origins: '*' }, echo));
    app.get('/strict', fastifyEndpoint(STRICT, echo));
    app.get('/private', {
      ...fastifyEndpoint({ origins: '*' }, echo),
      onRequest: async (_request, reply) => {
        await reply.code(401).send({ code: 'AUTHENTICATION_REQUIRED' });
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
  },
};
