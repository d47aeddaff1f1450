/**
 * With @opentelemetry/instrumentation-http on: wsgate's dispatcher re-emits an upgrade request on
 * the server's 'request' event, so the instrumentation makes its HTTP server span for Express and
 * Koa and core publishes the record inside that span's context: the handshake span is its child.
 * Fastify routes upgrades through @fastify/websocket, never 'request': no HTTP span, and the
 * handshake span's parent is the client's traceparent itself.
 */
import { createRequire } from 'node:module';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { connectWs } from '@wsgate/conformance';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instrumentWsgate, type WsgateInstrumentation } from '../src/index.js';
import { APPS, type App, clientTrace, eventually, type Sdk, sdk } from './harness.js';

const telemetry: Sdk = sdk();
// The test's own `ws` client goes out through `http.request`: left alone, so that its traceparent
// reaches the server as sent.
const http = new HttpInstrumentation({ enabled: false, ignoreOutgoingRequestHook: () => true });

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const { propagation } = await import('@opentelemetry/api');
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  http.setTracerProvider(telemetry.tracerProvider);
  http.enable();
  // The instrumentation patches `http` when it is required after enable().
  createRequire(import.meta.url)('node:http');
});
afterAll(async () => {
  http.disable();
  context.disable();
  await telemetry.shutdown();
});

for (const framework of ['express', 'koa', 'fastify'] as const) {
  describe(`with instrumentation-http, on ${framework}`, () => {
    let app: App;
    let otel: WsgateInstrumentation;
    beforeEach(async () => {
      telemetry.exporter.reset();
      otel = instrumentWsgate({
        meterProvider: telemetry.meterProvider,
        tracerProvider: telemetry.tracerProvider,
      });
      app = await APPS[framework]();
    });
    afterEach(async () => {
      await app.close();
      otel.stop();
    });

    it('parents the handshake span on the HTTP span when there is one, else on the traceparent', async () => {
      const client = clientTrace();
      const rejected = await connectWs(`ws://127.0.0.1:${app.port}/strict`, [], {
        origin: 'http://evil.example',
        headers: { traceparent: client.header },
      });
      expect(rejected).toMatchObject({ kind: 'rejected', status: 403 });
      const handshakeSpan = () =>
        telemetry.exporter.getFinishedSpans().find((span) => span.name.startsWith('WebSocket handshake'));
      await eventually(async () => handshakeSpan() !== undefined, 'the handshake span');
      const span = handshakeSpan();
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
      expect(span?.spanContext().traceId).toBe(client.context.traceId);
      // Spans of this request's trace only (an earlier test's HTTP span may end late).
      const httpSpans = () =>
        telemetry.exporter
          .getFinishedSpans()
          .filter(
            (s) =>
              s.instrumentationScope.name.includes('instrumentation-http') &&
              s.spanContext().traceId === client.context.traceId,
          );
      if (framework === 'fastify') {
        expect(span?.kind).toBe(SpanKind.SERVER);
        expect(span?.parentSpanContext?.spanId).toBe(client.context.spanId);
        expect(httpSpans()).toHaveLength(0);
        return;
      }
      expect(span?.kind).toBe(SpanKind.INTERNAL);
      expect(span?.parentSpanContext?.spanId).not.toBe(client.context.spanId);
      await eventually(async () => httpSpans().length > 0, 'the HTTP span to end');
      const [parent] = httpSpans();
      expect(parent?.spanContext().spanId).toBe(span?.parentSpanContext?.spanId);
      expect(parent?.parentSpanContext?.spanId).toBe(client.context.spanId);
    });

    it('an accepted handshake: under the HTTP span (Express, Koa), under the traceparent (Fastify)', async () => {
      const client = clientTrace();
      const outcome = await connectWs(`ws://127.0.0.1:${app.port}/rooms/1`, [], {
        headers: { traceparent: client.header },
      });
      if (outcome.kind !== 'open') throw new Error('not open');
      // While the connection is open, the HTTP span of its upgrade request has not ended.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const httpEnded = telemetry.exporter
        .getFinishedSpans()
        .some(
          (s) =>
            s.spanContext().traceId === client.context.traceId &&
            s.instrumentationScope.name.includes('instrumentation-http'),
        );
      expect(httpEnded).toBe(false);
      const closed = new Promise((resolve) => outcome.ws.once('close', resolve));
      outcome.ws.close(1000);
      await closed;
      const ofTrace = () =>
        telemetry.exporter
          .getFinishedSpans()
          .filter((s) => s.spanContext().traceId === client.context.traceId);
      const handshakeSpan = () => ofTrace().find((span) => span.name.startsWith('WebSocket handshake'));
      await eventually(async () => handshakeSpan() !== undefined, 'the handshake span');
      const span = handshakeSpan();
      expect(span?.spanContext().traceId).toBe(client.context.traceId);
      if (framework === 'fastify') expect(span?.parentSpanContext?.spanId).toBe(client.context.spanId);
      else {
        expect(span?.kind).toBe(SpanKind.INTERNAL);
        expect(span?.parentSpanContext?.spanId).not.toBe(client.context.spanId);
        // The HTTP span of the upgrade request ends too (once the connection is over).
        await eventually(
          async () => ofTrace().some((s) => s.spanContext().spanId === span?.parentSpanContext?.spanId),
          'the HTTP span of an accepted upgrade to end',
        );
      }
    });
  });
}
