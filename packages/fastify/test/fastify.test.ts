import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastifyWebsocket from '@fastify/websocket';
import {
  buildRequest,
  closeWs,
  connectWs,
  expectServerConnectionLimit,
  LogCapture,
  roundTrip,
  selfSignedCertificate,
  sendPipelined,
  sendRaw,
} from '@wsgate/conformance';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { HandshakeError, websocket, wsgate } from '../src/index.js';

type LogRecord = Record<string, unknown>;

/** A pino logger whose JSON lines land in `records`. */
function captureLogs() {
  const { records, logger } = new LogCapture();
  return { records, logger: logger as FastifyBaseLogger };
}

async function waitForRecord(records: LogRecord[], where: (r: LogRecord) => boolean): Promise<LogRecord> {
  for (let i = 0; i < 100; i++) {
    const found = records.find((r) => typeof r.outcome === 'string' && where(r));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no matching record in ${JSON.stringify(records)}`);
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A Fastify app with wsgate registered (the app is closed after the test). */
async function appWith(
  options: Parameters<typeof wsgate>[1] = {},
  fastifyOptions: FastifyServerOptions = {},
) {
  const app = Fastify(fastifyOptions);
  apps.push(app);
  await app.register(wsgate, options);
  return app;
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return address.port;
}

describe('@wsgate/fastify', () => {
  // Canary: @fastify/websocket hands ws the request object itself (request.raw) in its route
  // handler, so wsgate shows ws a view of its headers for the synchronous span of the negotiation.
  // If @fastify/websocket ever copies the request, ws negotiates from the client's raw headers
  // (first offered subprotocol): this test then fails and names the reliance.
  it('canary: @fastify/websocket passes request.raw to wss.handleUpgrade, and ws reads it synchronously', async () => {
    const app = await appWith({ origins: '*' });
    const seen: unknown[] = [];
    app.get(
      '/pick',
      websocket({ protocols: ['b.v1'] }, (socket, request) => {
        seen.push(socket.protocol, request.headers['sec-websocket-protocol']);
        socket.close();
      }),
    );
    const port = await listen(app);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/pick`, ['a.v1', 'b.v1']);
    expect(outcome, '@fastify/websocket no longer hands ws request.raw: see showToWs').toMatchObject({
      kind: 'open',
      protocol: 'b.v1',
    });
    if (outcome.kind === 'open') await closeWs(outcome.ws);
    expect(seen).toEqual(['b.v1', 'a.v1,b.v1']);
  });

  it('fastify.close() drains: open connections close with 1001, not 1005', async () => {
    const app = Fastify();
    await app.register(wsgate, { origins: '*' });
    app.get('/echo', { websocket: true }, (socket) => {
      socket.on('message', (d) => socket.send(d));
    });
    const port = await listen(app);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    const closed = new Promise<number>((resolve) => outcome.ws.once('close', (code) => resolve(code)));
    await app.close();
    expect(await closed).toBe(1001);
  });

  it('maxServerConnections: one limit across the server’s routes (503 TOO_MANY_CONNECTIONS), released on close', async () => {
    const logs = captureLogs();
    const app = await appWith({ origins: '*', maxServerConnections: 1, logger: logs.logger });
    for (const path of ['/a', '/b'])
      app.get(path, { websocket: true }, (socket) => {
        socket.on('message', (d) => socket.send(d));
      });
    const port = await listen(app);
    await expectServerConnectionLimit(port, (where) => waitForRecord(logs.records, where));
    const bad = Fastify();
    apps.push(bad);
    await expect(bad.register(wsgate, { maxServerConnections: 0 })).rejects.toThrow(
      /@wsgate\/fastify: option `maxServerConnections`/,
    );
  });

  it('fastify.wsgate.drain(): new handshakes get 503 SERVER_SHUTTING_DOWN', async () => {
    const app = await appWith({ origins: '*' });
    app.get('/echo', { websocket: true }, (socket) => socket.close());
    const port = await listen(app);
    await app.wsgate.drain({ code: 1012 });
    const refused = await sendRaw(port, buildRequest({ path: '/echo', host: `127.0.0.1:${port}` }));
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
  });

  it('logs the route pattern the framework matched, for bounded metrics', async () => {
    const logs = captureLogs();
    const app = await appWith({ origins: '*', logger: logs.logger });
    app.get('/rooms/:id', { websocket: true }, (socket) => socket.close());
    const port = await listen(app);
    const response = await sendRaw(port, buildRequest({ path: '/rooms/7', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(101);
    expect(
      await waitForRecord(logs.records, (r) => r.path === '/rooms/7' && r.outcome === 'accepted'),
    ).toMatchObject({ route: '/rooms/:id', path: '/rooms/7' });
  });

  it('websocket(options, handler): (socket, request, context) as in every adapter, and a handle that drains', async () => {
    const app = await appWith({ origins: '*' });
    const chat = websocket(
      { beforeUpgrade: (request) => ({ id: request.id }) },
      (socket, request, context) => {
        socket.send(JSON.stringify({ same: context.id === request.id }));
      },
    );
    app.get('/typed', chat);
    const port = await listen(app);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/typed`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(JSON.parse(await outcome.next())).toEqual({ same: true });
    expect(chat.connections.size).toBe(1);
    expect(app.wsgate.endpoints.get('/typed')?.connections.size).toBe(1);
    const closed = new Promise<number>((resolve) => outcome.ws.once('close', (code) => resolve(code)));
    await chat.close();
    expect(await closed).toBe(1001);
    const refused = await connectWs(`ws://127.0.0.1:${port}/typed`);
    expect(refused).toMatchObject({ kind: 'rejected', status: 503 });
    if (refused.kind === 'rejected') {
      expect(refused.headers['retry-after']).toBe('5');
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    }
  });

  it('logs the client address Fastify trusts (request.ip, trustProxy) and compares origins with its host and scheme', async () => {
    for (const trustProxy of [true, false]) {
      const logs = captureLogs();
      const app = await appWith({ logger: logs.logger }, { trustProxy });
      app.get('/chat', { websocket: true }, (socket) => socket.close());
      const port = await listen(app);
      const proxied = {
        'X-Forwarded-For': '203.0.113.9',
        'X-Forwarded-Host': 'app.example',
        'X-Forwarded-Proto': 'https',
        Origin: 'https://app.example',
      };
      const response = await sendRaw(
        port,
        buildRequest({ path: '/chat', host: `127.0.0.1:${port}`, headers: proxied }),
      );
      expect(response.status).toBe(trustProxy ? 101 : 403);
      const record = await waitForRecord(logs.records, (r) => r.path === '/chat');
      expect(record.remoteAddress).toBe(trustProxy ? '203.0.113.9' : '127.0.0.1');
      expect(record.peerAddress).toBe(trustProxy ? '127.0.0.1' : undefined);
    }
  });

  it('answers an upgrade to a path no route serves with ENDPOINT_NOT_FOUND, a real response that closes', async () => {
    const logs = captureLogs();
    const app = await appWith({ logger: logs.logger });
    app.get('/health', async () => 'ok');
    const port = await listen(app);
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok');
    const response = await sendRaw(port, buildRequest({ path: '/nowhere', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(404);
    expect(response.headers.connection).toBe('close');
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    await waitForRecord(logs.records, (r) => r.path === '/nowhere' && r.code === 'ENDPOINT_NOT_FOUND');
  });

  it('keeps the HTTP handler of a route that also has a wsHandler', async () => {
    const app = await appWith({ origins: '*' });
    app.route({
      method: 'GET',
      url: '/both',
      handler: async () => 'http view',
      wsHandler: (socket) => socket.send('ws view'),
    });
    const port = await listen(app);
    const response = await fetch(`http://127.0.0.1:${port}/both`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('http view');
    const outcome = await connectWs(`ws://127.0.0.1:${port}/both`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await outcome.next()).toBe('ws view');
    await closeWs(outcome.ws);
    // A handshake a proxy broke is still diagnosed on such a route.
    const stripped = await sendRaw(
      port,
      buildRequest({
        path: '/both',
        host: `127.0.0.1:${port}`,
        headers: { Upgrade: null, Connection: 'close' },
      }),
    );
    expect(JSON.parse(stripped.body)).toMatchObject({ code: 'UPGRADE_HEADERS_STRIPPED' });
  });

  it("answers a plain GET on a websocket route with core's 426, not @fastify/websocket's empty 404", async () => {
    const app = await appWith();
    app.get('/ws', { websocket: true }, (socket) => socket.close());
    const port = await listen(app);
    const response = await fetch(`http://127.0.0.1:${port}/ws`, { headers: { 'User-Agent': 'curl/8.5.0' } });
    expect(response.status).toBe(426);
    expect(response.headers.get('upgrade')).toBe('websocket');
    expect(await response.json()).toMatchObject({ code: 'NOT_A_WEBSOCKET_REQUEST' });
  });

  it('answers an upgrade to an HTTP-only route with ENDPOINT_NOT_FOUND, not a 101 and a close', async () => {
    const logs = captureLogs();
    const app = await appWith({}, { loggerInstance: logs.logger });
    app.get('/health', async () => 'ok');
    const port = await listen(app);
    const response = await sendRaw(port, buildRequest({ path: '/health', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    await waitForRecord(logs.records, (r) => r.code === 'ENDPOINT_NOT_FOUND' && r.framework === 'fastify');
  });

  it.each(['preValidation', 'preHandler'] as const)(
    'sends a %s hook’s 401 as it was written, adds the WWW-Authenticate it forgot, and logs it with the request id',
    async (hook) => {
      const logs = captureLogs();
      const app = await appWith({ origins: '*' }, { loggerInstance: logs.logger });
      app.addHook(hook, async (_request, reply) => reply.code(401).send({ error: 'who are you' }));
      app.get('/private', { websocket: true }, (socket) => socket.close());
      const port = await listen(app);
      const response = await sendRaw(port, buildRequest({ path: '/private', host: `127.0.0.1:${port}` }));
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.headers.connection).toBe('close');
      expect(JSON.parse(response.body)).toEqual({ error: 'who are you' });
      const record = await waitForRecord(logs.records, (r) => r.path === '/private');
      expect(record).toMatchObject({ code: 'AUTHENTICATION_REQUIRED', status: 401, framework: 'fastify' });
      expect(record.requestId).toBe(record.reqId);
    },
  );

  it('logs a reply from an onRequest hook registered before the plugin through fastify.log', async () => {
    const logs = captureLogs();
    const app = Fastify({ loggerInstance: logs.logger });
    apps.push(app);
    app.addHook('onRequest', async (_request, reply) => reply.code(403).send('no'));
    await app.register(wsgate, { origins: '*' });
    app.get('/ws', { websocket: true }, (socket) => socket.close());
    const port = await listen(app);
    const response = await sendRaw(port, buildRequest({ path: '/ws', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(403);
    expect(response.body).toBe('no');
    await waitForRecord(logs.records, (r) => r.code === 'FORBIDDEN' && r.framework === 'fastify');
  });

  // Found in review: Fastify's router answers these itself, before any hook (no onRequest, no
  // onResponse), so the adapter's hooks never saw them and no record was written.
  it.each([
    ['a malformed URL', '/%zz', 400],
    ['an over-long route parameter (maxParamLength)', `/rooms/${'x'.repeat(200)}`, 414],
  ])('logs the response Fastify’s router writes without its hooks to %s', async (_name, path, status) => {
    const logs = captureLogs();
    const app = await appWith({ logger: logs.logger, origins: '*' });
    await checkRouterResponse(app, logs, path, status);
  });

  it('logs the response of the application’s frameworkErrors handler to a malformed URL once', async () => {
    const logs = captureLogs();
    const app = await appWith(
      { logger: logs.logger, origins: '*' },
      {
        frameworkErrors: (_error, _request, reply) => {
          (reply as FastifyReply).code(400).send('bad url');
        },
      },
    );
    await checkRouterResponse(app, logs, '/%zz', 400);
  });

  async function checkRouterResponse(
    app: FastifyInstance,
    logs: ReturnType<typeof captureLogs>,
    path: string,
    status: number,
  ) {
    app.get(
      '/rooms/:id',
      websocket({}, (socket) => socket.close()),
    );
    const port = await listen(app);
    const response = await sendRaw(port, buildRequest({ path, host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(status);
    const record = await waitForRecord(logs.records, () => true);
    expect(record).toMatchObject({
      outcome: 'rejected',
      status,
      code: 'APPLICATION_REJECTED',
      framework: 'fastify',
      arrival: 'upgrade',
      path: path.split('?')[0],
      remoteAddress: '127.0.0.1',
    });
    expect(typeof record.durationMs).toBe('number');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logs.records.filter((r) => typeof r.outcome === 'string')).toHaveLength(1);
  }

  it('logs through request.log: the record carries Fastify’s request id', async () => {
    const logs = captureLogs();
    let n = 0;
    const app = await appWith(
      { origins: '*' },
      { loggerInstance: logs.logger, genReqId: () => `req-${++n}` },
    );
    app.get('/echo', { websocket: true }, (socket) => {
      socket.on('message', (data) => socket.send(data));
    });
    const port = await listen(app);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind === 'open') await closeWs(outcome.ws);
    const record = await waitForRecord(logs.records, (r) => r.outcome === 'accepted');
    expect(record).toMatchObject({
      framework: 'fastify',
      requestId: 'req-1',
      reqId: 'req-1',
      msg: 'websocket handshake accepted',
    });
  });

  it('merges a route’s config.wsgate over the plugin’s options and hands the hook’s context to the route', async () => {
    const app = await appWith({ origins: '*', protocols: ['default.v1'] });
    app.get('/default', { websocket: true }, (socket) => socket.send(socket.protocol));
    app.get(
      '/chat',
      {
        websocket: true,
        config: {
          wsgate: { protocols: ['chat.v2', 'chat.v1'], beforeUpgrade: (request) => ({ ws: request.ws }) },
        },
      },
      (socket, request) =>
        socket.send(JSON.stringify({ protocol: socket.protocol, context: request.wsContext })),
    );
    const port = await listen(app);
    const chat = await connectWs(`ws://127.0.0.1:${port}/chat`, ['chat.v1', 'chat.v2']);
    expect(chat.kind).toBe('open');
    if (chat.kind !== 'open') return;
    expect(JSON.parse(await chat.next())).toEqual({ protocol: 'chat.v2', context: { ws: true } });
    await closeWs(chat.ws);
    const rejected = await connectWs(`ws://127.0.0.1:${port}/default`, ['chat.v2']);
    expect(rejected).toMatchObject({ kind: 'rejected', status: 400 });
    const accepted = await connectWs(`ws://127.0.0.1:${port}/default`, ['default.v1']);
    expect(accepted.kind).toBe('open');
    if (accepted.kind === 'open') {
      expect(await accepted.next()).toBe('default.v1');
      await closeWs(accepted.ws);
    }
  });

  it('works with serverFactory', async () => {
    let factoryServer: ReturnType<typeof createServer> | undefined;
    const app = await appWith(
      { origins: '*' },
      {
        serverFactory: (handler) => {
          factoryServer = createServer((req: IncomingMessage, res: ServerResponse) => handler(req, res));
          return factoryServer;
        },
      },
    );
    app.get('/echo', { websocket: true }, (socket) => {
      socket.on('message', (data) => socket.send(data));
    });
    const port = await listen(app);
    expect(app.server).toBe(factoryServer);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await roundTrip(outcome.ws, 'factory')).toBe('factory');
    await closeWs(outcome.ws);
    const missing = await sendRaw(port, buildRequest({ path: '/nowhere', host: `127.0.0.1:${port}` }));
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
  });

  const certificate = selfSignedCertificate();
  it.skipIf(certificate === undefined)(
    'works with Fastify’s https option (wss://, skipped without openssl)',
    async () => {
      if (!certificate) return;
      const app = await appWith({ origins: '*' }, { https: certificate } as FastifyServerOptions);
      app.get('/echo', { websocket: true }, (socket) => {
        socket.on('message', (data) => socket.send(data));
      });
      const port = await listen(app);
      const options = { ca: certificate.cert };
      const outcome = await connectWs(`wss://127.0.0.1:${port}/echo`, [], options);
      expect(outcome.kind).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(await roundTrip(outcome.ws, 'secure')).toBe('secure');
      await closeWs(outcome.ws);
      const rejected = await connectWs(`wss://127.0.0.1:${port}/echo`, ['nope.v1'], options);
      expect(rejected).toMatchObject({ kind: 'rejected', status: 400 });
    },
  );

  it('gates @fastify/websocket’s injectWS too (an in-process request has no Host unless given)', async () => {
    const app = await appWith({ origins: '*' });
    app.get('/ws', { websocket: true }, (socket) => socket.send('injected'));
    await app.ready();
    let received: (value: string) => void = () => {};
    const message = new Promise<string>((resolve) => {
      received = resolve;
    });
    const ws = await app.injectWS(
      '/ws',
      { headers: { host: 'localhost' } },
      { onInit: (client) => client.once('message', (data) => received(String(data))) },
    );
    expect(await message).toBe('injected');
    ws.terminate();
    await expect(app.injectWS('/ws')).rejects.toThrow(/400/);
  });

  it('rejects with a HandshakeError from beforeUpgrade given as plugin default', async () => {
    const app = await appWith({
      origins: '*',
      beforeUpgrade: () => {
        throw new HandshakeError('FORBIDDEN', { detail: 'not today' });
      },
    });
    app.get('/ws', { websocket: true }, (socket) => socket.close());
    const port = await listen(app);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/ws`);
    expect(outcome).toMatchObject({ kind: 'rejected', status: 403 });
  });

  describe('bad options fail with a TypeError naming @wsgate/fastify and the option', () => {
    it.each([
      [{ protocols: ['bad token'] }, /^@wsgate\/fastify: option `protocols`/],
      [{ plainRequests: 'maybe' }, /^@wsgate\/fastify: option `plainRequests`/],
      [{ unknownThing: true }, /^@wsgate\/fastify: option `unknownThing`/],
      [{ ws: { verifyClient: () => true } }, /^@wsgate\/fastify: option `ws.verifyClient`/],
      [{ websocket: { options: {} } }, /^@wsgate\/fastify: option `websocket.options` moved to `ws`/],
    ])('plugin options %j', async (options, message) => {
      const app = Fastify();
      apps.push(app);
      await expect(app.register(wsgate, options as never).ready()).rejects.toThrow(
        expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(message) }),
      );
    });

    it('route config.wsgate, when the route is added', async () => {
      const app = await appWith();
      expect(() =>
        app.get('/ws', { websocket: true, config: { wsgate: { requireProtocol: true } } }, () => {}),
      ).toThrow(/^@wsgate\/fastify: option `requireProtocol`/);
    });
  });

  // Canary: where another plugin registered @fastify/websocket before wsgate, wsgate finds
  // @fastify/websocket's own 'upgrade' listener by its function name in @fastify/websocket's
  // source (`onUpgrade`): it guards it (a malformed handshake answered on arrival never reaches
  // Fastify) and hands it pipelined handshakes. If the name moves, this fails and names it.
  it('canary: @fastify/websocket names its upgrade listener onUpgrade', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyWebsocket);
    await app.ready();
    const names = app.server.listeners('upgrade').map((listener) => listener.name);
    expect(names, "@fastify/websocket's 'upgrade' listener is no longer named onUpgrade").toContain(
      'onUpgrade',
    );
  });

  /** A wsgate app with a /chat endpoint that records the URL of every request its onRequest hook sees. */
  async function hookedChatApp(shared: boolean) {
    const app = Fastify();
    apps.push(app);
    if (shared) await app.register(fastifyWebsocket);
    await app.register(wsgate, { origins: '*' });
    const hooks: string[] = [];
    app.addHook('onRequest', async (request) => {
      hooks.push(request.url);
    });
    app.get(
      '/chat',
      websocket({}, (socket) => socket.close()),
    );
    const port = await listen(app);
    const sendBadKey = () =>
      sendRaw(
        port,
        buildRequest({ path: '/chat', host: `127.0.0.1:${port}`, headers: { 'Sec-WebSocket-Key': 'short' } }),
      );
    return { app, hooks, sendBadKey };
  }

  it.each([
    ['registered by wsgate', false],
    ['registered by another plugin first', true],
  ])('answers a malformed handshake before any Fastify hook runs (%s)', async (_name, shared) => {
    const { hooks, sendBadKey } = await hookedChatApp(shared);
    const response = await sendBadKey();
    expect(response.status).toBe(400);
    expect(response.body).toContain('WEBSOCKET_KEY_INVALID');
    expect(hooks).toEqual([]);
  });

  // Found in review: answered on arrival ahead of another library's 'upgrade' listener, which
  // then answered the same socket; and @fastify/websocket's own close hook could no longer
  // remove its (guarded) listener.
  it('leaves a malformed handshake to Fastify where another upgrade listener shares the server, and unhooks on close', async () => {
    const { app, hooks, sendBadKey } = await hookedChatApp(true);
    const other = (_req: IncomingMessage) => {};
    app.server.on('upgrade', other);
    const response = await sendBadKey();
    expect(response.status).toBe(400);
    expect(hooks).toEqual(['/chat']);
    app.server.off('upgrade', other);
    await app.close();
    expect(app.server.listenerCount('upgrade'), 'an upgrade listener left after close').toBe(1);
  });

  // Found in review: the handshake was emitted on 'upgrade' again, to every listener.
  it.each([
    ['registered by wsgate', false],
    ['registered by another plugin first', true],
  ])(
    'hands a handshake pipelined behind a slow response to @fastify/websocket alone once that response is done (%s)',
    async (_name, shared) => {
      const app = Fastify();
      apps.push(app);
      if (shared) await app.register(fastifyWebsocket);
      await app.register(wsgate, { origins: '*' });
      app.get('/slow', async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return 'slow';
      });
      app.get(
        '/chat',
        websocket({}, (socket) => socket.send('hello')),
      );
      const port = await listen(app);
      // Another library's listener, leaving /chat alone: it must see that upgrade once, not twice.
      const seen: string[] = [];
      app.server.on('upgrade', (req: IncomingMessage) => seen.push(req.url ?? ''));
      const data = await sendPipelined(port, '/slow', '/chat', (received) => received.endsWith('hello'));
      expect(data).toMatch(
        /^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\nslowHTTP\/1\.1 101 Switching Protocols\r\n/,
      );
      expect(seen).toEqual(['/chat']);
    },
  );

  it('shares @fastify/websocket registered by another plugin, and leaves that plugin’s routes alone', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyWebsocket);
    // Another library's endpoint, registered before wsgate: @fastify/websocket's own behaviour.
    app.get('/graphql', { websocket: true }, (socket) => socket.send('other library'));
    await app.register(wsgate, { origins: '*' });
    // One registered after wsgate opts out with `config.wsgate: false`.
    app.get('/legacy', { websocket: true, config: { wsgate: false } }, (socket) => socket.send('legacy'));
    app.get('/chat', { websocket: true, config: { wsgate: { protocols: ['chat'] } } }, (socket) =>
      socket.send(`chat ${socket.protocol}`),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const other = await connectWs(`${base}/graphql`, ['graphql-transport-ws']);
    expect(other).toMatchObject({ kind: 'open', protocol: 'graphql-transport-ws' });
    if (other.kind === 'open') {
      expect(await other.next()).toBe('other library');
      await closeWs(other.ws);
    }
    const legacy = await connectWs(`${base}/legacy`);
    expect(legacy.kind).toBe('open');
    if (legacy.kind === 'open') await closeWs(legacy.ws);
    expect(await connectWs(`${base}/chat`, ['nope'])).toMatchObject({ kind: 'rejected', status: 400 });
    const chat = await connectWs(`${base}/chat`, ['nope', 'chat']);
    expect(chat).toMatchObject({ kind: 'open', protocol: 'chat' });
    if (chat.kind === 'open') {
      expect(await chat.next()).toBe('chat chat');
      await closeWs(chat.ws);
    }
    const nobody = await connectWs(`${base}/nobody`);
    expect(nobody).toMatchObject({ kind: 'rejected', status: 404 });
    if (nobody.kind === 'rejected')
      expect(JSON.parse(nobody.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
  });
});

describe('https', () => {
  // A throwaway self-signed certificate from the openssl CLI; without it there is nothing to serve.
  const openssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!openssl)('checks the certificate at registration and logs it through fastify.log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-fastify-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'key.pem',
          '-out',
          'cert.pem',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
          '-days',
          '1',
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      const logs = captureLogs();
      const https = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
      await appWith({}, { loggerInstance: logs.logger, https } as FastifyServerOptions);
      expect(logs.records.find((r) => r.event === 'tls-certificate')).toMatchObject({
        code: 'TLS_CERTIFICATE_SELF_SIGNED',
        framework: 'fastify',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
