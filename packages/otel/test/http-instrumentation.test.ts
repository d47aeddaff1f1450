/**
 * With @opentelemetry/instrumentation-http on: wsgate's dispatcher re-emits an upgrade request on
 * the server's 'request' event, so the instrumentation makes its HTTP server span for Express and
 * Koa and core publishes the record inside that span's context: the handshake span is its child.
 * Fastify routes upgrades through @fastify/websocket, never 'request': no HTTP span, and the
 * handshake span's parent is the client's traceparent itself.
 *
 * Each app first answers one plain GET, so that wsgate's dispatcher is installed (Express's and
 * Koa's app-level middleware install it on the first request) and the handshakes arrive on
 * 'upgrade', as every handshake but a server's very first does; that first one is tested on its own.
 */
import { createRequire } from 'node:module';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
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

const isHttpSpan = (span: ReadableSpan) => span.instrumentationScope.name.includes('instrumentation-http');
const isHandshakeSpan = (span: ReadableSpan) => span.name.startsWith('WebSocket handshake');

/** The finished spans of one trace (an earlier test's span may end late). */
const ofTrace = (traceId: string) =>
  telemetry.exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);

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
    const warmUp = async () => {
      await (await fetch(`http://127.0.0.1:${app.port}/`)).arrayBuffer();
    };

    it('a rejection: a child of the HTTP span, which ends with the rejection (Express, Koa); under the traceparent (Fastify)', async () => {
      await warmUp();
      const client = clientTrace();
      const rejected = await connectWs(`ws://127.0.0.1:${app.port}/strict`, [], {
        origin: 'http://evil.example',
        headers: { traceparent: client.header },
      });
      expect(rejected).toMatchObject({ kind: 'rejected', status: 403 });
      const trace = () => ofTrace(client.context.traceId);
      await eventually(async () => trace().some(isHandshakeSpan), 'the handshake span');
      const span = trace().find(isHandshakeSpan);
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
      if (framework === 'fastify') {
        expect(span?.kind).toBe(SpanKind.SERVER);
        expect(span?.parentSpanContext?.spanId).toBe(client.context.spanId);
        expect(trace().filter(isHttpSpan)).toHaveLength(0);
        return;
      }
      expect(span?.kind).toBe(SpanKind.INTERNAL);
      await eventually(async () => trace().some(isHttpSpan), 'the HTTP span to end');
      const parent = trace().find(isHttpSpan);
      expect(parent?.spanContext().spanId).toBe(span?.parentSpanContext?.spanId);
      expect(parent?.parentSpanContext?.spanId).toBe(client.context.spanId);
      expect(parent?.attributes['http.response.status_code']).toBe(403);
    });

    it('an accepted handshake: a child of the HTTP span, which ends at the 101 (Express, Koa); under the traceparent (Fastify)', async () => {
      await warmUp();
      const client = clientTrace();
      const outcome = await connectWs(`ws://127.0.0.1:${app.port}/rooms/1`, [], {
        headers: { traceparent: client.header },
      });
      if (outcome.kind !== 'open') throw new Error('not open');
      const trace = () => ofTrace(client.context.traceId);
      // Both end while the connection is still open.
      await eventually(async () => trace().some(isHandshakeSpan), 'the handshake span');
      const span = trace().find(isHandshakeSpan);
      if (framework === 'fastify') {
        expect(span?.parentSpanContext?.spanId).toBe(client.context.spanId);
      } else {
        expect(span?.kind).toBe(SpanKind.INTERNAL);
        await eventually(async () => trace().some(isHttpSpan), 'the HTTP span to end at the 101');
        const parent = trace().find(isHttpSpan);
        expect(parent?.spanContext().spanId).toBe(span?.parentSpanContext?.spanId);
        expect(parent?.parentSpanContext?.spanId).toBe(client.context.spanId);
        expect(parent?.attributes['http.response.status_code']).toBe(101);
      }
      const closed = new Promise((resolve) => outcome.ws.once('close', resolve));
      outcome.ws.close(1000);
      await closed;
    });

    it('a server’s very first handshake (before the dispatcher is installed): still under the client’s trace', async () => {
      const client = clientTrace();
      const outcome = await connectWs(`ws://127.0.0.1:${app.port}/rooms/1`, [], {
        headers: { traceparent: client.header },
      });
      if (outcome.kind !== 'open') throw new Error('not open');
      const trace = () => ofTrace(client.context.traceId);
      await eventually(async () => trace().some(isHandshakeSpan), 'the handshake span');
      const span = trace().find(isHandshakeSpan);
      expect(span?.spanContext().traceId).toBe(client.context.traceId);
      if (framework === 'fastify') expect(span?.parentSpanContext?.spanId).toBe(client.context.spanId);
      else {
        // Express, Koa: a child of the HTTP span of the request, which ends at the 101 as well.
        expect(span?.kind).toBe(SpanKind.INTERNAL);
        await eventually(async () => trace().some(isHttpSpan), 'the HTTP span to end at the 101');
        const parent = trace().find(isHttpSpan);
        expect(parent?.spanContext().spanId).toBe(span?.parentSpanContext?.spanId);
        expect(parent?.attributes['http.response.status_code']).toBe(101);
      }
      const closed = new Promise((resolve) => outcome.ws.once('close', resolve));
      outcome.ws.close(1000);
      await closed;
    });
  });
}
