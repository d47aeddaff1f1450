/**
 * The reference app's behaviour, checked the same way for every framework's example
 * (examples/express, examples/koa, examples/fastify): same statuses, headers, codes and log fields.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyShapes } from './cases.js';
import { buildRequest, closeWs, connectWs, roundTrip, sendRaw } from './clients.js';
import { LogCapture } from './logs.js';

/** The reference app's lifecycle knobs (what its server script reads from the environment). */
export interface ExampleLifecycle {
  readonly heartbeatMs?: number | false;
  readonly maxConnections?: number;
  readonly maxConnectionsPerClient?: number;
  readonly drainMs?: number;
  /** `METRICS=1`: Prometheus text at `GET /metrics`. */
  readonly metrics?: boolean;
}

/** Starts an example app with the given logger and knobs; resolves with its listening server. */
export type StartExample = (
  logger: Logger,
  lifecycle?: ExampleLifecycle,
) => Promise<{ server: Server; close(): Promise<void> }>;

/**
 * Registers the reference-app checks for one example.
 *
 * @param framework - The `framework` value the example logs.
 * @param start - Starts the example's app (built by its `app` module) on 127.0.0.1, port 0.
 */
export function runExampleSuite(framework: string, start: StartExample): void {
  describe(`reference app: ${framework}`, () => {
    const logs = new LogCapture();
    let running: Awaited<ReturnType<StartExample>>;
    let host = '';
    let port = 0;

    beforeAll(async () => {
      running = await start(logs.logger);
      const address = running.server.address();
      if (address === null || typeof address === 'string')
        throw new Error('the example is not listening on TCP');
      port = address.port;
      host = `127.0.0.1:${port}`;
    });
    afterAll(() => running?.close());

    describe('lifecycle knobs (MAX_CONNECTIONS, DRAIN_MS, … in its server script)', () => {
      // First in the file: the diagnostics channels are process-wide, so no connection of another
      // test may end while this one counts.
      it('METRICS=1: GET /metrics is Prometheus text whose counts match the handshakes sent', async () => {
        const app = await start(new LogCapture().logger, { metrics: true });
        try {
          const address = app.server.address();
          if (address === null || typeof address === 'string') throw new Error('not listening');
          const base = `127.0.0.1:${address.port}`;
          for (let i = 0; i < 3; i++) {
            const outcome = await connectWs(`ws://${base}/echo`);
            if (outcome.kind !== 'open') throw new Error('/echo did not open');
            await new Promise((resolve) => {
              outcome.ws.once('close', resolve);
              outcome.ws.close(1000);
            });
          }
          const kept = await connectWs(`ws://${base}/echo`);
          if (kept.kind !== 'open') throw new Error('/echo did not open');
          expect(
            await connectWs(`ws://${base}/chat`, ['chat.v1'], { origin: 'http://evil.example' }),
          ).toMatchObject({ kind: 'rejected', status: 403 });
          for (let i = 0; i < 2; i++)
            expect(await connectWs(`ws://${base}/private`)).toMatchObject({ kind: 'rejected', status: 401 });
          expect(await connectWs(`ws://${base}/nowhere/42`)).toMatchObject({ kind: 'rejected', status: 404 });

          const scrape = async () => {
            const response = await fetch(`http://${base}/metrics`);
            expect(response.status).toBe(200);
            return response.text();
          };
          let text = await scrape();
          const echoClosed = {
            wsgate_endpoint: '/echo',
            wsgate_closed_by: 'client',
            wsgate_close_code: '1000',
          };
          for (
            let tries = 0;
            promSum(text, 'wsgate_connections_closed_total', echoClosed) < 3 && tries < 100;
            tries++
          ) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            text = await scrape();
          }
          const accepted = {
            wsgate_outcome: 'accepted',
            wsgate_framework: framework,
            wsgate_endpoint: '/echo',
          };
          expect(promSum(text, 'wsgate_handshakes_total', accepted), text).toBe(4);
          expect(
            promSum(text, 'wsgate_handshakes_total', {
              wsgate_code: 'ORIGIN_NOT_ALLOWED',
              wsgate_endpoint: '/chat',
            }),
          ).toBe(1);
          expect(promSum(text, 'wsgate_handshakes_total', { wsgate_code: 'AUTHENTICATION_REQUIRED' })).toBe(
            2,
          );
          expect(
            promSum(text, 'wsgate_handshakes_total', {
              wsgate_code: 'ENDPOINT_NOT_FOUND',
              wsgate_endpoint: 'unmatched',
            }),
          ).toBe(1);
          expect(promSum(text, 'wsgate_handshakes_total', {})).toBe(8);
          expect(promSum(text, 'wsgate_handshake_duration_count', {})).toBe(8);
          expect(promSum(text, 'wsgate_connections_closed_total', echoClosed)).toBe(3);
          expect(promSum(text, 'wsgate_connection_duration_count', echoClosed)).toBe(3);
          expect(promSum(text, 'wsgate_connections_open', { wsgate_endpoint: '/echo' })).toBe(1);
          expect(text).not.toContain('/nowhere/42');
          kept.ws.terminate();
        } finally {
          await app.close();
        }
      });

      it('MAX_CONNECTIONS=1: a second connection gets 503; closing the app drains with 1001', async () => {
        const knobLogs = new LogCapture();
        const app = await start(knobLogs.logger, { maxConnections: 1, drainMs: 2_000 });
        const address = app.server.address();
        if (address === null || typeof address === 'string') throw new Error('not listening');
        const url = `ws://127.0.0.1:${address.port}/echo`;
        const first = await connectWs(url);
        expect(first.kind).toBe('open');
        if (first.kind !== 'open') return;
        expect(await connectWs(url)).toMatchObject({ kind: 'rejected', status: 503 });
        const closed = new Promise<number>((resolve) => first.ws.once('close', (code) => resolve(code)));
        await app.close();
        expect(await closed).toBe(1001);
        expect(
          await knobLogs.findAny((r) => r.msg === 'websocket connection closed' && r.path === '/echo'),
        ).toMatchObject({ closedBy: 'drain', closeCode: 1001 });
      });
    });

    const lastRecord = (path: string) => logs.find((r) => r.path === path);

    it('GET /health → 200 ok, untouched by wsgate', async () => {
      const response = await fetch(`http://${host}/health`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok');
    });

    it('/echo: echoes with permessage-deflate, any origin', async () => {
      const outcome = await connectWs(`ws://${host}/echo`, [], {
        perMessageDeflate: true,
        origin: 'https://anywhere.example',
      });
      expect(outcome.kind).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(outcome.extensions).toMatch(/^permessage-deflate/);
      expect(await roundTrip(outcome.ws, 'ping')).toBe('ping');
      await closeWs(outcome.ws);
      expect(await lastRecord('/echo')).toMatchObject({
        outcome: 'accepted',
        status: 101,
        framework,
        origin: 'https://anywhere.example',
        msg: 'websocket handshake accepted',
      });
    });

    it('/chat: chat.v2 by server preference from the allowed origin', async () => {
      const outcome = await connectWs(`ws://${host}/chat`, ['chat.v1', 'chat.v2'], {
        origin: 'http://localhost:5173',
      });
      expect(outcome.kind).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(outcome.protocol).toBe('chat.v2');
      expect(await roundTrip(outcome.ws, 'hi')).toBe('hi');
      await closeWs(outcome.ws);
      expect(await lastRecord('/chat')).toMatchObject({
        outcome: 'accepted',
        protocol: 'chat.v2',
        framework,
      });
    });

    it('/chat: a subprotocol is required', async () => {
      const outcome = await connectWs(`ws://${host}/chat`);
      expect(outcome).toMatchObject({ kind: 'rejected', status: 400 });
      if (outcome.kind === 'rejected')
        expect(JSON.parse(outcome.body)).toMatchObject({ code: 'SUBPROTOCOL_REQUIRED' });
      expect(await lastRecord('/chat')).toMatchObject({
        outcome: 'rejected',
        code: 'SUBPROTOCOL_REQUIRED',
        framework,
      });
    });

    it('/chat: another origin is refused with 403', async () => {
      const outcome = await connectWs(`ws://${host}/chat`, ['chat.v1'], { origin: 'http://evil.example' });
      expect(outcome).toMatchObject({ kind: 'rejected', status: 403 });
      expect(await lastRecord('/chat')).toMatchObject({
        code: 'ORIGIN_NOT_ALLOWED',
        origin: 'http://evil.example',
      });
    });

    it('/private: 401 with WWW-Authenticate: Bearer without credentials', async () => {
      const outcome = await connectWs(`ws://${host}/private`);
      expect(outcome).toMatchObject({ kind: 'rejected', status: 401 });
      if (outcome.kind === 'rejected') expect(outcome.headers['www-authenticate']).toBe('Bearer');
      expect(await lastRecord('/private')).toMatchObject({
        outcome: 'rejected',
        status: 401,
        code: 'AUTHENTICATION_REQUIRED',
        framework,
      });
    });

    it.each([
      ['a Bearer token', '/private', { Authorization: 'Bearer letmein' }],
      ['a session cookie', '/private', { Cookie: 'session=letmein' }],
      ['a query ticket', '/private?ticket=letmein', {}],
    ])('/private: accepts %s and sends the user set by the auth middleware', async (_how, path, headers) => {
      const outcome = await connectWs(`ws://${host}${path}`, [], { headers });
      expect(outcome.kind).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(JSON.parse(await outcome.next())).toEqual({ user: 'demo' });
      await closeWs(outcome.ws);
    });

    it('a plain GET on a WebSocket endpoint gets the 426 diagnosis', async () => {
      const response = await fetch(`http://${host}/echo`, { headers: { 'User-Agent': 'curl/8.5.0' } });
      expect(response.status).toBe(426);
      expect(response.headers.get('upgrade')).toBe('websocket');
      expect(await response.json()).toMatchObject({ code: 'NOT_A_WEBSOCKET_REQUEST' });
      expect(await lastRecord('/echo')).toMatchObject({
        code: 'NOT_A_WEBSOCKET_REQUEST',
        client: 'curl',
        framework,
      });
    });

    it('a handshake stripped by nginx names nginx and the missing lines', async () => {
      const response = await sendRaw(
        port,
        buildRequest({ path: '/echo', host, ...proxyShapes.nginxHttp11Only }),
      );
      expect(response.status).toBe(426);
      expect(response.body).toContain('proxy_set_header Upgrade $http_upgrade;');
      expect(await lastRecord('/echo')).toMatchObject({
        code: 'UPGRADE_HEADERS_STRIPPED',
        proxy: 'nginx',
        framework,
      });
    });

    it('an upgrade to an unknown path gets 404 ENDPOINT_NOT_FOUND', async () => {
      const response = await sendRaw(port, buildRequest({ path: '/nope', host }));
      expect(response.status).toBe(404);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    });
  });
}

/**
 * The sum of the samples of `name` in Prometheus text whose labels include `labels` (this suite's
 * own scrape: a plain line split is enough).
 */
function promSum(text: string, name: string, labels: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf('}');
    const labelText = close === -1 ? '' : line.slice(name.length + 1, close);
    const value = Number(
      line
        .slice(close === -1 ? name.length : close + 1)
        .trim()
        .split(' ')[0],
    );
    if (Object.entries(labels).every(([key, wanted]) => labelText.includes(`${key}="${wanted}"`)))
      total += value;
  }
  return total;
}
