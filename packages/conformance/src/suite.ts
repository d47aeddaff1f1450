/**
 * The vitest wrapper: runs every case of `cases.ts` and the connection-level checks against one
 * adapter's fixture app, on a real port with real clients, and asserts the log records.
 */
import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { type RawCase, rawCases } from './cases.js';
import { buildRequest, closeCodeOf, closeWs, connectWs, exchangeRaw, roundTrip, sendRaw } from './clients.js';
import {
  authenticate,
  type BuildApp,
  type ConformanceApp,
  fixtureEndpoints,
  HOOK_SECRET,
  Latch,
  OTHER_LIBRARY_PATH,
  PRIVATE_PATH,
  SECRET,
} from './fixture.js';
import { LogCapture, type LogRecord } from './logs.js';

function pathOf(url: string): string {
  return url.split('?')[0] as string;
}

function openHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** How an adapter runs the suite. */
export interface SuiteOptions {
  /**
   * Whether upgrades can arrive on the request path (the first request of a fresh server, which
   * has no `'upgrade'` listener yet): `true`, or the reason they cannot on this framework (the
   * raw cases then run on the `'upgrade'` path only).
   * @default true
   */
  readonly requestArrival?: true | string;
}

/**
 * Sends one raw case and checks the response and its log record (written after `sentAt`).
 * Returns the record.
 */
async function checkRawCase(
  framework: string,
  port: number,
  logs: LogCapture,
  testCase: RawCase,
): Promise<LogRecord> {
  const host = `127.0.0.1:${port}`;
  const sentAt = logs.records.length;
  const response = await sendRaw(port, buildRequest({ ...testCase, host }));
  const { expect: want } = testCase;
  expect(response.status, response.body).toBe(want.status);
  if (want.code !== undefined) {
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(response.body) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: want.code, status: want.status });
    expect(typeof problem.title).toBe('string');
  }
  for (const [name, value] of Object.entries(want.headers ?? {})) {
    if (value === null) expect(response.headers[name], name).toBeUndefined();
    else if (typeof value === 'string') expect(response.headers[name], name).toBe(value);
    else expect(response.headers[name], name).toMatch(value);
  }
  for (const text of want.bodyIncludes ?? []) expect(response.body).toContain(text);
  for (const text of want.bodyExcludes ?? []) expect(response.body).not.toContain(text);

  const record = await logs.find(
    (r) => logs.records.indexOf(r as LogRecord) >= sentAt && r.path === pathOf(testCase.path),
  );
  expect(record).toMatchObject({
    framework,
    outcome: want.status === 101 ? 'accepted' : 'rejected',
    status: want.status,
    msg: want.status === 101 ? 'websocket handshake accepted' : 'websocket handshake rejected',
    level: want.level ?? 30,
    ...(want.code !== undefined ? { code: want.code } : {}),
    ...want.log,
  });
  expect(typeof record.durationMs).toBe('number');
  expect(record.remoteAddress).toMatch(/127\.0\.0\.1/);
  return record;
}

/**
 * Registers the conformance suite for one adapter.
 *
 * @param framework - The `framework` value the adapter logs.
 * @param build - Builds and starts the fixture app on the framework.
 * @param options - What the framework allows (see {@link SuiteOptions}).
 */
export function runConformanceSuite(framework: string, build: BuildApp, options: SuiteOptions = {}): void {
  options = { requestArrival: true, ...options };
  runLimitsSuite(framework, build);
  describe(`conformance: ${framework}`, () => {
    const logs = new LogCapture();
    const slowHook = new Latch();
    let app: ConformanceApp;
    let port = 0;
    let host = '';
    let otherLibrary: WebSocketServer;
    const handlesBefore = openHandles();

    beforeAll(async () => {
      app = await build({ endpoints: fixtureEndpoints(slowHook), logger: logs.logger, authenticate });
      const address = app.server.address();
      if (address === null || typeof address === 'string')
        throw new Error('the fixture app is not listening on TCP');
      port = address.port;
      host = `127.0.0.1:${port}`;
    });

    afterAll(async () => {
      otherLibrary?.close();
      await app?.close();
      // Every socket of the suite is closed: nothing leaked on rejection paths or hook waits.
      await waitFor(() => openHandles() <= handlesBefore, 'all TCP handles to close');
    });

    const url = (path: string) => `ws://${host}${path}`;

    it('accepts the very first connection to a fresh server, and echoes', async () => {
      const outcome = await connectWs(url('/echo'));
      expect(outcome.kind).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(await roundTrip(outcome.ws, 'first')).toBe('first');
      await closeWs(outcome.ws);
      const record = await logs.find((r) => r.path === '/echo' && r.outcome === 'accepted');
      expect(record).toMatchObject({
        framework,
        status: 101,
        route: '/echo',
        msg: 'websocket handshake accepted',
        level: 30,
      });
    });

    it('leaves plain HTTP routes alone', async () => {
      const response = await fetch(`http://${host}/health`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok');
    });

    describe('raw requests, on a server already running (upgrades arrive on Node’s "upgrade" event)', () => {
      it.each(rawCases.map((c) => [c.name, c] as const))('%s', async (_name, testCase: RawCase) => {
        await checkRawCase(framework, port, logs, testCase);
      });
    });

    describe('raw requests, each the first request of a fresh server (arrival "request")', () => {
      if (options.requestArrival !== true) {
        // The adapter's reason (SuiteOptions.requestArrival) is in the test's name: Fastify always
        // has @fastify/websocket's 'upgrade' listener, so no handshake ever arrives as a request.
        it.skip(`not on ${framework}: ${options.requestArrival}`, () => {});
        return;
      }
      it.each(rawCases.map((c) => [c.name, c] as const))('%s', async (_name, testCase: RawCase) => {
        // Before its first request a server has no 'upgrade' listener: Node hands even a complete
        // handshake to the request path. The client must not be able to tell.
        const fresh = new LogCapture();
        const freshApp = await build({
          endpoints: fixtureEndpoints(new Latch()),
          logger: fresh.logger,
          authenticate,
        });
        try {
          const address = freshApp.server.address();
          if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
          if (testCase.nodeAnswersOnRequestPath) {
            // Node answers before the framework sees the request (the reason is in the case).
            const response = await sendRaw(
              address.port,
              buildRequest({ ...testCase, host: `127.0.0.1:${address.port}` }),
            );
            expect(response.status).toBe(testCase.expect.status);
            expect(response.closed).toBe(true);
            return;
          }
          const record = await checkRawCase(framework, address.port, fresh, testCase);
          expect(record.arrival).toBe('request');
        } finally {
          await freshApp.close();
        }
      });
    });

    describe('connections', () => {
      it('negotiates subprotocols with the ws client (server preference, exact echo)', async () => {
        const outcome = await connectWs(url('/chat'), ['chat.v1', 'chat.v2'], {
          origin: 'http://localhost:5173',
        });
        expect(outcome.kind).toBe('open');
        if (outcome.kind !== 'open') return;
        expect(outcome.protocol).toBe('chat.v2');
        expect(await roundTrip(outcome.ws, 'hello')).toBe('hello');
        await closeWs(outcome.ws);
      });

      it('leaves the request headers as the client sent them for the connection handler', async () => {
        // The client offers two subprotocols, an extension offer ws would refuse (a window of 8)
        // and a valid one; ws is shown core's choices, the application sees the client's headers.
        const offer = 'permessage-deflate; server_max_window_bits=8, permessage-deflate';
        const outcome = await connectWs(url('/handler-view'), ['a.v1', 'b.v1'], {
          headers: { 'Sec-WebSocket-Extensions': offer },
          perMessageDeflate: false,
        });
        expect(outcome.kind).toBe('open');
        if (outcome.kind !== 'open') return;
        expect(outcome.protocol).toBe('b.v1');
        expect(JSON.parse(await outcome.next())).toEqual({
          protocol: 'a.v1,b.v1',
          extensions: offer,
          upgrade: 'websocket',
        });
        await closeWs(outcome.ws);
      });

      it('shows the ws client the real status, headers and code of a rejection', async () => {
        const outcome = await connectWs(url('/chat'), ['chat.v9']);
        expect(outcome).toMatchObject({ kind: 'rejected', status: 400 });
        if (outcome.kind !== 'rejected') return;
        expect(JSON.parse(outcome.body)).toMatchObject({
          code: 'SUBPROTOCOL_UNSUPPORTED',
          supported: ['chat.v2', 'chat.v1'],
        });
      });

      it('runs framework auth before the 101 and hands its user to the connection', async () => {
        const rejected = await connectWs(url(PRIVATE_PATH));
        expect(rejected).toMatchObject({ kind: 'rejected', status: 401 });
        if (rejected.kind === 'rejected') expect(rejected.headers['www-authenticate']).toMatch(/^Bearer/);
        const accepted = await connectWs(url(PRIVATE_PATH), [], {
          headers: { Authorization: `Bearer ${SECRET}` },
        });
        expect(accepted.kind).toBe('open');
        if (accepted.kind !== 'open') return;
        expect(JSON.parse(await accepted.next())).toEqual({ user: 'demo' });
        await closeWs(accepted.ws);
      });

      it('hands the beforeUpgrade context to the connection', async () => {
        const outcome = await connectWs(url('/hooks/context'));
        expect(outcome.kind).toBe('open');
        if (outcome.kind !== 'open') return;
        expect(JSON.parse(await outcome.next())).toEqual({ from: 'hook', protocols: [] });
        await closeWs(outcome.ws);
      });

      it('negotiates permessage-deflate with the ws client and round-trips a large message', async () => {
        const outcome = await connectWs(url('/echo'), [], { perMessageDeflate: true });
        expect(outcome.kind).toBe('open');
        if (outcome.kind !== 'open') return;
        expect(outcome.extensions).toMatch(/^permessage-deflate/);
        const large = 'x'.repeat(1 << 20);
        expect(await roundTrip(outcome.ws, large)).toBe(large);
        await closeWs(outcome.ws);
      });

      it('round-trips many small messages in order', async () => {
        const outcome = await connectWs(url('/echo'));
        expect(outcome.kind).toBe('open');
        if (outcome.kind !== 'open') return;
        const { ws } = outcome;
        const received: string[] = [];
        const all = new Promise<void>((resolve) => {
          ws.on('message', (data) => {
            received.push(String(data));
            if (received.length === 1000) resolve();
          });
        });
        for (let i = 0; i < 1000; i++) ws.send(String(i));
        await all;
        expect(received).toEqual(Array.from({ length: 1000 }, (_, i) => String(i)));
        await closeWs(ws);
      });

      it('serves 100 parallel handshakes with no cross-talk', async () => {
        const outcomes = await Promise.all(Array.from({ length: 100 }, () => connectWs(url('/echo'))));
        const sockets = outcomes.map((o) => {
          if (o.kind !== 'open') throw new Error(`a parallel handshake failed: ${JSON.stringify(o)}`);
          return o.ws;
        });
        const replies = await Promise.all(sockets.map((ws, i) => roundTrip(ws, `client-${i}`)));
        expect(replies).toEqual(sockets.map((_, i) => `client-${i}`));
        await Promise.all(sockets.map(closeWs));
      });

      it('survives a client that leaves while a hook is still running, and logs it', async () => {
        const sentAt = logs.records.length;
        const socket = await import('node:net').then((net) => net.connect(port, '127.0.0.1'));
        socket.on('error', () => {});
        socket.write(buildRequest({ path: '/hooks/slow', host }));
        await waitFor(() => slowHook.waiting > 0, 'the slow hook to start');
        socket.destroy();
        await new Promise((resolve) => setTimeout(resolve, 50));
        slowHook.release();
        const record = await logs.find(
          (r) => logs.records.indexOf(r as LogRecord) >= sentAt && r.path === '/hooks/slow',
        );
        expect(record).toMatchObject({ outcome: 'rejected', code: 'CLIENT_DISCONNECTED', framework });
        // The server still works.
        const outcome = await connectWs(url('/echo'));
        expect(outcome.kind).toBe('open');
        if (outcome.kind === 'open') await closeWs(outcome.ws);
      });

      // A bad frame must close the connection with the right code and never crash the server: an
      // open WebSocket with no 'error' listener throws the error out of the event loop.
      it.each([
        [
          'a frame with RSV1 set',
          Buffer.from([0xc1, 0x80, 0x01, 0x02, 0x03, 0x04]),
          'WS_ERR_UNEXPECTED_RSV_1',
          1002,
        ],
        ['an unmasked frame', Buffer.from([0x81, 0x01, 0x61]), 'WS_ERR_EXPECTED_MASK', 1002],
        [
          'a text frame that is not UTF-8',
          Buffer.from([0x81, 0x81, 0x00, 0x00, 0x00, 0x00, 0xff]),
          'WS_ERR_INVALID_UTF8',
          1007,
        ],
        [
          'a second request pipelined after the handshake',
          Buffer.from(`GET /echo HTTP/1.1\r\n\r\n`),
          // "G" (0x47) reads as a first frame byte with RSV1 set.
          'WS_ERR_UNEXPECTED_RSV_1',
          1002,
        ],
      ] as const)('closes on %s with the right code and stays up', async (_what, frame, code, closeCode) => {
        const sentAt = logs.records.length;
        const handshake = Buffer.from(buildRequest({ path: '/echo', host }));
        const { response, after } = await exchangeRaw(port, Buffer.concat([handshake, frame]));
        expect(response.status).toBe(101);
        expect(closeCodeOf(after)).toBe(closeCode);
        const record = await logs.findAny(
          (r) => logs.records.indexOf(r as LogRecord) >= sentAt && r.msg === 'websocket connection error',
        );
        expect(record).toMatchObject({ framework, path: '/echo', code, closeCode, level: 30 });
        expect(record.remoteAddress).toMatch(/127\.0\.0\.1/);
        const outcome = await connectWs(url('/echo'));
        expect(outcome.kind).toBe('open');
        if (outcome.kind === 'open') await closeWs(outcome.ws);
      });

      it('logs one record when a connection ends: who closed it, the close code and reason, its traffic', async () => {
        const sentAt = logs.records.length;
        const outcome = await connectWs(url('/echo'));
        expect(outcome.kind).toBe('open');
        if (outcome.kind !== 'open') return;
        expect(await roundTrip(outcome.ws, 'one')).toBe('one');
        expect(await roundTrip(outcome.ws, 'two')).toBe('two');
        const closed = new Promise((resolve) => outcome.ws.once('close', resolve));
        outcome.ws.close(1000, 'bye');
        await closed;
        const record = await logs.findAny(
          (r) => logs.records.indexOf(r as LogRecord) >= sentAt && r.msg === 'websocket connection closed',
        );
        expect(record).toMatchObject({
          framework,
          path: '/echo',
          closeCode: 1000,
          closeReason: 'bye',
          closedBy: 'client',
          messagesIn: 2,
          messagesOut: 2,
          level: 30,
        });
        expect(record.bytesIn).toBeGreaterThan(0);
        expect(record.bytesOut).toBeGreaterThan(0);
        expect(record.remoteAddress).toMatch(/127\.0\.0\.1/);
      });

      it.each([
        ['/limited', 503, 'TOO_MANY_CONNECTIONS'],
        ['/per-client', 429, 'CLIENT_CONNECTION_LIMIT'],
      ] as const)(
        '%s: refuses a connection beyond the limit with %i %s, and admits again after a close',
        async (path, status, code) => {
          const first = await connectWs(url(path));
          expect(first.kind).toBe('open');
          if (first.kind !== 'open') return;
          const refused = await connectWs(url(path));
          expect(refused).toMatchObject({ kind: 'rejected', status });
          if (refused.kind === 'rejected') {
            expect(refused.headers['retry-after']).toBe('5');
            expect(JSON.parse(refused.body)).toMatchObject({ code });
          }
          expect(await logs.find((r) => r.path === path && r.code === code)).toMatchObject({
            status,
            level: 30,
          });
          await closeWs(first.ws);
          // Released on close: the next connection is admitted.
          await waitFor(async () => {
            const next = await connectWs(url(path));
            if (next.kind === 'open') await closeWs(next.ws);
            return next.kind === 'open';
          }, 'the limit to be released');
        },
      );

      it('heartbeat: keeps a peer that answers pings, terminates one that stays silent', async () => {
        const live = await connectWs(url('/heartbeat'));
        expect(live.kind).toBe('open');
        if (live.kind !== 'open') return;
        // The ws client answers every ping with a pong: after three pings it is still open.
        let pings = 0;
        await new Promise<void>((resolve) =>
          live.ws.on('ping', () => {
            if (++pings === 3) resolve();
          }),
        );
        expect(live.ws.readyState).toBe(live.ws.OPEN);
        await closeWs(live.ws);

        // A raw socket that completed the handshake and then never answers.
        const sentAt = logs.records.length;
        const { response } = await exchangeRaw(
          port,
          Buffer.from(buildRequest({ path: '/heartbeat', host })),
          // Terminated within about two intervals; the bound is generous.
          5_000,
        );
        expect(response.status).toBe(101);
        const record = await logs.findAny(
          (r) =>
            logs.records.indexOf(r as LogRecord) >= sentAt &&
            r.msg === 'websocket connection closed' &&
            r.path === '/heartbeat',
        );
        expect(record).toMatchObject({ closedBy: 'heartbeat', closeCode: 1006, messagesIn: 0 });
      });

      it('hides a throwing hook’s message from the client but logs the error', async () => {
        const outcome = await connectWs(url('/hooks/throws'));
        expect(outcome).toMatchObject({ kind: 'rejected', status: 500 });
        if (outcome.kind === 'rejected') expect(outcome.body).not.toContain(HOOK_SECRET);
        const record = await logs.find((r) => r.path === '/hooks/throws' && r.code === 'HOOK_FAILED');
        expect(record.level).toBe(50);
        expect(JSON.stringify(record.err)).toContain(HOOK_SECRET);
      });

      it('coexists with another library’s upgrade listener on the same server', async () => {
        otherLibrary = new WebSocketServer({ noServer: true });
        otherLibrary.on('connection', (ws) => ws.send('other library'));
        attachOtherLibrary(app.server, otherLibrary);
        const other = await connectWs(url(OTHER_LIBRARY_PATH));
        expect(other.kind).toBe('open');
        if (other.kind !== 'open') return;
        expect(other.protocol).toBe('');
        await closeWs(other.ws);

        const ours = await connectWs(url('/echo'));
        expect(ours.kind).toBe('open');
        if (ours.kind === 'open') {
          expect(await roundTrip(ours.ws, 'still ours')).toBe('still ours');
          await closeWs(ours.ws);
        }
        // Nobody serves this path: answered with a 404 (after the grace period), never a hang.
        const nobody = await sendRaw(port, buildRequest({ path: '/nobody', host }), 10_000);
        expect(nobody.status).toBe(404);
        expect(JSON.parse(nobody.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
      });
    });
  });
}

/** The short Node server timeouts the deadline cases run under (checked every 50 ms). */
export const SHORT_TIMEOUTS = {
  headersTimeout: 300,
  requestTimeout: 600,
  connectionsCheckingInterval: 50,
} as const;

/** Node's default `maxHeaderSize` (16 KiB): a header block past it never reaches a JS handler. */
const MAX_HEADER_SIZE = 16_384;

/**
 * Writes `bytes` one byte every `everyMs` (all at once for 0) and reads until the server closes the connection (or
 * `timeoutMs` passes: a hang). Resolves with what the server sent and how many bytes went out.
 */
function trickle(
  port: number,
  bytes: string,
  everyMs: number,
  timeoutMs: number,
): Promise<{ readonly received: string; readonly sent: number; readonly closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    // Every 0 ms: all at once.
    const writer = setInterval(() => {
      if (sent >= bytes.length || !socket.writable) return;
      const next = everyMs === 0 ? bytes.slice(sent) : (bytes[sent] as string);
      socket.write(next);
      sent += next.length;
    }, everyMs);
    const finish = (closed: boolean) => {
      clearInterval(writer);
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, sent, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
  });
}

/**
 * The deadline and oversized-input cases (issue #12, item 4), on a second fixture app whose Node
 * server has {@link SHORT_TIMEOUTS}: what bounds a slow or oversized handshake, what the client
 * sees, what is logged, and that an open WebSocket outlives Node's HTTP timeouts.
 */
function runLimitsSuite(framework: string, build: BuildApp): void {
  describe(`deadlines and oversized input: ${framework}`, () => {
    const logs = new LogCapture();
    let app: ConformanceApp;
    let port = 0;
    let host = '';

    beforeAll(async () => {
      app = await build({
        endpoints: fixtureEndpoints(new Latch()),
        logger: logs.logger,
        authenticate,
        server: SHORT_TIMEOUTS,
      });
      port = (app.server.address() as AddressInfo).port;
      host = `127.0.0.1:${port}`;
    });
    afterAll(async () => {
      await app?.close();
    });

    const url = (path: string) => `ws://${host}${path}`;

    async function stillServes(): Promise<void> {
      const outcome = await connectWs(url('/echo'));
      expect(outcome.kind).toBe('open');
      if (outcome.kind === 'open') {
        expect(await roundTrip(outcome.ws, 'up')).toBe('up');
        await closeWs(outcome.ws);
      }
    }

    it('an open WebSocket outlives requestTimeout and headersTimeout (first connection, then a dispatched one)', async () => {
      // The first handshake to a fresh server arrives on the request path (no 'upgrade' listener
      // yet); the second through wsgate's dispatcher. Both idle past Node's request timeout
      // while its connection checks run every 50 ms.
      const first = await connectWs(url('/echo'));
      const second = await connectWs(url('/echo'));
      expect(first.kind).toBe('open');
      expect(second.kind).toBe('open');
      if (first.kind !== 'open' || second.kind !== 'open') return;
      await new Promise((resolve) => setTimeout(resolve, SHORT_TIMEOUTS.requestTimeout + 400));
      expect(await roundTrip(first.ws, 'first')).toBe('first');
      expect(await roundTrip(second.ws, 'second')).toBe('second');
      await Promise.all([closeWs(first.ws), closeWs(second.ws)]);
    });

    it("headers trickled a byte at a time: Node's headersTimeout answers 408 and closes; nothing hangs", async () => {
      const sentAt = logs.records.length;
      // 20 ms a byte: the handshake would take about 3 s; the header deadline is 300 ms.
      const request = buildRequest({ path: '/echo', host });
      const { received, sent, closed } = await trickle(port, request, 20, 5_000);
      expect(closed, 'the server closed the socket').toBe(true);
      expect(sent).toBeLessThan(request.length);
      // wsgate's handshakeTimeoutMs starts only once the headers are complete ('upgrade' fired):
      // an incomplete header block is Node's to bound, and Node (or Fastify's clientError
      // handler, the same status) answers it.
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      // No request object ever existed: wsgate has nothing to log.
      expect(logs.records.slice(sentAt).filter((r) => r.path === '/echo')).toEqual([]);
      await stillServes();
    });

    it("headers over Node's maxHeaderSize on the upgrade path: Node answers 431 and closes; wsgate logs nothing", async () => {
      const sentAt = logs.records.length;
      const request = buildRequest({
        path: '/echo',
        host,
        headers: { 'X-Padding': 'a'.repeat(MAX_HEADER_SIZE) },
      });
      // Read until the server closes the socket (bounded): Node's parser refuses the header block
      // before any 'upgrade' or 'request' event, so no code of wsgate's or the app's runs (Fastify's
      // clientError handler answers with the same status and a JSON body, logged at trace).
      const { received, closed } = await trickle(port, request, 0, 5_000);
      expect(closed, 'the server closed the socket').toBe(true);
      expect(received).toMatch(/^HTTP\/1\.1 431 /);
      expect(logs.records.slice(sentAt).filter((r) => r.path === '/echo')).toEqual([]);
      await stillServes();
    });

    it('a header block just under the limit is still a handshake (the 431 is about size only)', async () => {
      const request = buildRequest({ path: '/echo', host, headers: { 'X-Padding': 'a'.repeat(15_000) } });
      const response = await sendRaw(port, request);
      expect(response.status).toBe(101);
    });
  });
}

/** Another library's listener, written as ws documents it: handle your own path, leave the rest. */
function attachOtherLibrary(server: Server, wss: WebSocketServer): void {
  server.on('upgrade', (req, socket, head) => {
    if (pathOf(req.url ?? '') !== OTHER_LIBRARY_PATH) return;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
}
