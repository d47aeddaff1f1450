import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { connectWs } from '@wsgate/conformance';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  ATTRIBUTES as A,
  closeCodeBucket,
  instrumentWsgate,
  METRIC_NAMES as M,
  methodAttribute,
  remoteParentOf,
  UNMATCHED_ENDPOINT,
  type WsgateInstrumentation,
} from '../src/index.js';
import { APPS, type App, clientTrace, eventually, histogramCount, type Sdk, sdk, sum } from './harness.js';

/** Closes with 1000 (ws's `close()` without a code sends none: 1005 on the server). */
function closeWs(ws: WebSocket, code: number): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close(code);
  });
}

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

describe('instrumentWsgate options', () => {
  it('names the package and the option in every error', () => {
    expect(() => instrumentWsgate({ meterProvider: {} as never })).toThrow(
      '@wsgate/otel: option `meterProvider` must be an OpenTelemetry MeterProvider',
    );
    expect(() => instrumentWsgate({ tracerProvider: 42 as never })).toThrow(
      '@wsgate/otel: option `tracerProvider` must be an OpenTelemetry TracerProvider',
    );
    expect(() => instrumentWsgate({ meterprovider: {} } as never)).toThrow(
      '@wsgate/otel: option `meterprovider` is not an option of instrumentWsgate',
    );
    expect(() => instrumentWsgate('x' as never)).toThrow('@wsgate/otel: the options must be an object');
  });

  it('defaults to the global providers, and stop() is idempotent', () => {
    const otel = instrumentWsgate();
    otel.stop();
    otel.stop();
  });
});

describe('a broken provider', () => {
  it('never breaks a handshake or a connection', async () => {
    const boom = () => {
      throw new Error('exporter down');
    };
    const instrument = { add: boom, record: boom };
    const otel = instrumentWsgate({
      meterProvider: {
        getMeter: () => ({
          createCounter: () => instrument,
          createHistogram: () => instrument,
          createUpDownCounter: () => instrument,
        }),
      } as never,
      tracerProvider: { getTracer: () => ({ startSpan: boom }) } as never,
    });
    const app = await APPS.express();
    try {
      const outcome = await connectWs(`ws://127.0.0.1:${app.port}/rooms/1`);
      if (outcome.kind !== 'open') throw new Error('not open');
      outcome.ws.send('hi');
      expect(await outcome.next()).toBe('hi');
      await closeWs(outcome.ws, 1000);
      expect(
        await connectWs(`ws://127.0.0.1:${app.port}/strict`, [], { origin: 'http://evil.example' }),
      ).toMatchObject({
        kind: 'rejected',
        status: 403,
      });
    } finally {
      otel.stop();
      await app.close();
    }
  });
});

describe('remoteParentOf', () => {
  const propagator = new W3CTraceContextPropagator();
  const viaPropagator = (headers: Record<string, string>) =>
    trace.getSpanContext(
      propagator.extract(ROOT_CONTEXT, headers, { get: (h, k) => h[k], keys: Object.keys }),
    );

  it.each([
    { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    },
    { traceparent: '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later' },
  ])('reads what the W3C propagator reads from %o', (headers) => {
    const ours = trace.getSpanContext(remoteParentOf(headers) ?? ROOT_CONTEXT);
    const theirs = viaPropagator(headers);
    expect({ ...ours, traceState: ours?.traceState?.serialize() }).toEqual({
      ...theirs,
      traceState: theirs?.traceState?.serialize(),
    });
  });

  it('has no parent for a missing or malformed traceparent', () => {
    expect(remoteParentOf({})).toBeUndefined();
    expect(
      remoteParentOf({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }),
    ).toBeUndefined();
    expect(remoteParentOf({ traceparent: 'garbage' })).toBeUndefined();
  });
});

describe('bounded attribute values', () => {
  it('buckets application close codes and keeps the registered ones', () => {
    expect([1000, 1001, 1006, 1011, 1015].map(closeCodeBucket)).toEqual([
      '1000',
      '1001',
      '1006',
      '1011',
      '1015',
    ]);
    expect([3000, 3999, 4000, 4321, 4999].map(closeCodeBucket)).toEqual([
      '3xxx',
      '3xxx',
      '4xxx',
      '4xxx',
      '4xxx',
    ]);
    expect([0, 999, 1016, 2999, 5000, 1000.5].map(closeCodeBucket)).toEqual(Array(6).fill('other'));
  });

  it('keeps known methods and folds the rest into _OTHER', () => {
    expect(['GET', 'POST', 'get', 'BREW'].map(methodAttribute)).toEqual(['GET', 'POST', '_OTHER', '_OTHER']);
  });
});

for (const framework of ['express', 'koa', 'fastify'] as const) {
  describe(`@wsgate/otel on ${framework}`, () => {
    let app: App;
    let telemetry: Sdk;
    let otel: WsgateInstrumentation;
    const url = (path: string) => `ws://127.0.0.1:${app.port}${path}`;

    beforeEach(async () => {
      telemetry = sdk();
      otel = instrumentWsgate({
        meterProvider: telemetry.meterProvider,
        tracerProvider: telemetry.tracerProvider,
      });
      app = await APPS[framework]();
    });
    afterEach(async () => {
      await app.close();
      otel.stop();
      await telemetry.shutdown();
    });

    const accepted = { [A.outcome]: 'accepted', [A.framework]: framework, [A.endpoint]: '/rooms/:id' };

    it('counts an accepted handshake, an open connection, and its close by the client', async () => {
      const outcome = await connectWs(url('/rooms/7'));
      if (outcome.kind !== 'open') throw new Error(`not open: ${JSON.stringify(outcome)}`);
      await eventually(async () => (await sum(telemetry, M.handshakes, accepted)) === 1, 'the handshake');
      expect(
        await sum(telemetry, M.handshakes, { ...accepted, [A.route]: '/rooms/:id', [A.statusCode]: 101 }),
      ).toBe(1);
      expect(await histogramCount(telemetry, M.handshakeDuration, accepted)).toBe(1);
      const open = { [A.framework]: framework, [A.endpoint]: '/rooms/:id' };
      expect(await sum(telemetry, M.connectionsOpen, open)).toBe(1);

      await closeWs(outcome.ws, 1000);
      const closed = { ...open, [A.closedBy]: 'client', [A.closeCode]: '1000' };
      await eventually(async () => (await sum(telemetry, M.connectionsClosed, closed)) === 1, 'the close');
      expect(await sum(telemetry, M.connectionsOpen, open)).toBe(0);
      expect(await histogramCount(telemetry, M.connectionDuration, closed)).toBe(1);
    });

    it('counts a close by the server with an application code in its bucket', async () => {
      const outcome = await connectWs(url('/rooms/8'));
      if (outcome.kind !== 'open') throw new Error('not open');
      const closedAt = new Promise<number>((resolve) => outcome.ws.once('close', (code) => resolve(code)));
      outcome.ws.send('close-me');
      expect(await closedAt).toBe(4321);
      const closed = { [A.endpoint]: '/rooms/:id', [A.closedBy]: 'server', [A.closeCode]: '4xxx' };
      await eventually(async () => (await sum(telemetry, M.connectionsClosed, closed)) === 1, 'the close');
      expect(await sum(telemetry, M.connectionsOpen, { [A.endpoint]: '/rooms/:id' })).toBe(0);
    });

    it('counts rejections by code: origin, the framework’s own 401, and no endpoint', async () => {
      expect(await connectWs(url('/strict'), [], { origin: 'http://evil.example' })).toMatchObject({
        kind: 'rejected',
        status: 403,
      });
      expect(await connectWs(url('/private'))).toMatchObject({ kind: 'rejected', status: 401 });
      expect(await connectWs(url('/nowhere/12345'))).toMatchObject({ kind: 'rejected', status: 404 });
      const rejected = { [A.outcome]: 'rejected', [A.framework]: framework };
      await eventually(async () => (await sum(telemetry, M.handshakes, rejected)) === 3, 'three rejections');
      expect(
        await sum(telemetry, M.handshakes, {
          ...rejected,
          [A.code]: 'ORIGIN_NOT_ALLOWED',
          [A.endpoint]: '/strict',
        }),
      ).toBe(1);
      expect(await sum(telemetry, M.handshakes, { ...rejected, [A.statusCode]: 401 })).toBe(1);
      const unmatched = (await telemetry.points(M.handshakes)).filter(
        (point) => point.attributes[A.code] === 'ENDPOINT_NOT_FOUND',
      );
      expect(unmatched).toHaveLength(1);
      expect(unmatched[0]?.attributes).toMatchObject({ [A.endpoint]: UNMATCHED_ENDPOINT });
      expect(unmatched[0]?.attributes).not.toHaveProperty(A.route);
      // No raw path or client value anywhere in the attributes.
      const values = (await telemetry.points(M.handshakes)).flatMap((point) =>
        Object.values(point.attributes),
      );
      expect(values.join(' ')).not.toMatch(/12345|evil/);
      expect(await sum(telemetry, M.connectionsOpen)).toBe(0);
    });

    it('makes a span per handshake, a child of the client’s traceparent', async () => {
      const client = clientTrace();
      const outcome = await connectWs(url('/rooms/9'), [], { headers: { traceparent: client.header } });
      if (outcome.kind !== 'open') throw new Error('not open');
      await closeWs(outcome.ws, 1000);
      await eventually(async () => telemetry.exporter.getFinishedSpans().length > 0, 'a span');
      const [span] = telemetry.exporter.getFinishedSpans();
      expect(span?.name).toBe('WebSocket handshake /rooms/:id');
      expect(span?.kind).toBe(SpanKind.SERVER);
      expect(span?.spanContext().traceId).toBe(client.context.traceId);
      expect(span?.parentSpanContext?.spanId).toBe(client.context.spanId);
      expect(span?.status.code).toBe(SpanStatusCode.UNSET);
      expect(span?.attributes).toMatchObject({
        [A.method]: 'GET',
        [A.statusCode]: 101,
        [A.route]: '/rooms/:id',
        [A.protocolVersion]: '1.1',
        [A.serverAddress]: '127.0.0.1',
        [A.scheme]: 'http',
        [A.outcome]: 'accepted',
        [A.framework]: framework,
      });
      expect(span?.attributes).not.toHaveProperty(A.code);
    });

    it('sets span status ERROR and the code on a rejection, still under the client’s trace', async () => {
      const client = clientTrace();
      const rejected = await connectWs(url('/strict'), [], {
        origin: 'http://evil.example',
        headers: { traceparent: client.header },
      });
      expect(rejected).toMatchObject({ kind: 'rejected', status: 403 });
      await eventually(async () => telemetry.exporter.getFinishedSpans().length > 0, 'a span');
      const [span] = telemetry.exporter.getFinishedSpans();
      expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'ORIGIN_NOT_ALLOWED' });
      expect(span?.attributes).toMatchObject({
        [A.code]: 'ORIGIN_NOT_ALLOWED',
        'error.type': 'ORIGIN_NOT_ALLOWED',
        [A.statusCode]: 403,
      });
      expect(span?.parentSpanContext?.spanId).toBe(client.context.spanId);
      expect(span?.spanContext().traceId).toBe(client.context.traceId);
    });

    it('starts a new trace for a malformed traceparent, and the span lasts durationMs', async () => {
      const outcome = await connectWs(url('/rooms/10'), [], { headers: { traceparent: 'not-a-trace' } });
      if (outcome.kind !== 'open') throw new Error('not open');
      await closeWs(outcome.ws, 1000);
      await eventually(async () => telemetry.exporter.getFinishedSpans().length > 0, 'a span');
      const [span] = telemetry.exporter.getFinishedSpans();
      expect(span?.parentSpanContext).toBeUndefined();
      const [seconds, nanos] = span?.duration ?? [0, 0];
      expect(seconds * 1e3 + nanos / 1e6).toBeGreaterThanOrEqual(0);
      expect(seconds).toBeLessThan(5);
    });

    it('records nothing once stopped', async () => {
      otel.stop();
      const outcome = await connectWs(url('/rooms/11'));
      if (outcome.kind !== 'open') throw new Error('not open');
      await closeWs(outcome.ws, 1000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await sum(telemetry, M.handshakes)).toBe(0);
      expect(telemetry.exporter.getFinishedSpans()).toHaveLength(0);
    });
  });
}
