/**
 * Koa-specific behaviour on top of the shared conformance suite: `ctx.throw` from middleware,
 * @koa/router mounting, `http.createServer(app.callback())`, https, and option errors.
 */
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import Router from '@koa/router';
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
import { afterEach, describe, expect, it } from 'vitest';
import { drain, websocket, wsgate } from '../src/index.js';
import { majors } from './majors.js';

/** A pino logger writing JSON lines into memory. */
function captureLogs() {
  return new LogCapture();
}

async function until<T>(find: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const echo = (ws: import('ws').WebSocket) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
};

const servers: Array<http.Server | https.Server> = [];

/** Starts `server` on 127.0.0.1, port 0; closed after each test. */
async function start<S extends http.Server | https.Server>(server: S): Promise<{ server: S; port: number }> {
  servers.push(server);
  if (!server.listening) server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

describe.each(majors)('@wsgate/koa on $name', ({ module: Koa }) => {
  // Found in review: a handshake pipelined behind a plain request that no wsgate middleware saw
  // (so the server had no 'upgrade' listener yet) arrives on the request path while that
  // request's response is still being written; its 101 went out before that response.
  it('answers a handshake pipelined behind a slow plain request on a fresh server after that response', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path !== '/slow') return next();
      await new Promise((resolve) => setTimeout(resolve, 100));
      ctx.body = 'slow';
    });
    app.use(websocket('/chat', { origins: '*' }, (ws) => ws.send('hello')));
    const { port } = await start(http.createServer(app.callback()));
    const data = await sendPipelined(port, '/slow', '/chat', (received) => received.endsWith('hello'));
    expect(data).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\nslowHTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(data.endsWith('hello')).toBe(true);
  });

  it('drain(server): open connections close with the code given, new handshakes get 503 SERVER_SHUTTING_DOWN', async () => {
    const app = new Koa();
    app.use(wsgate());
    app.use(websocket('/echo', { origins: '*' }, echo));
    const { server, port } = await start(http.createServer(app.callback()));
    const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    const closed = new Promise<number>((resolve) => outcome.ws.once('close', (code) => resolve(code)));
    await drain(server, { code: 1012 });
    expect(await closed).toBe(1012);
    for (const path of ['/echo', '/nowhere']) {
      const refused = await sendRaw(port, buildRequest({ path, host: `127.0.0.1:${port}` }));
      expect(refused.status, path).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    }
  });

  it('maxServerConnections: one limit across the server’s endpoints (503 TOO_MANY_CONNECTIONS), released on close', async () => {
    const logs = captureLogs();
    const app = new Koa();
    app.use(wsgate({ logger: logs.logger, maxServerConnections: 1 }));
    app.use(websocket('/a', { origins: '*' }, echo));
    app.use(websocket('/b', { origins: '*' }, echo));
    const { port } = await start(http.createServer(app.callback()));
    await expectServerConnectionLimit(port, (where) => logs.find(where));
    expect(() => wsgate({ maxServerConnections: 0 })).toThrow(/@wsgate\/koa: option `maxServerConnections`/);
    expect(() => wsgate({ maxServerConection: 3 } as never)).toThrow(/did you mean `maxServerConnections`/);
  });

  it('logs the route pattern the framework matched, for bounded metrics', async () => {
    const logs = captureLogs();
    const app = new Koa();
    const router = new Router();
    router.get(
      '/rooms/:id',
      websocket({ origins: '*', logger: logs.logger }, (ws) => ws.close()),
    );
    app.use(router.routes());
    const { port } = await start(http.createServer(app.callback()));
    const response = await sendRaw(port, buildRequest({ path: '/rooms/7', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(101);
    expect(await logs.find((r) => r.path === '/rooms/7')).toMatchObject({
      route: '/rooms/:id',
      path: '/rooms/7',
    });
  });

  it('the endpoint handle: typed context, open connections, and close() that refuses new handshakes', async () => {
    const app = new Koa();
    const chat = websocket(
      '/chat',
      { origins: '*', beforeUpgrade: (ctx) => ({ path: ctx.path }) },
      (ws, _ctx, context) => ws.send(context.path),
    );
    app.use(chat);
    const { port } = await start(http.createServer(app.callback()));
    const outcome = await connectWs(`ws://127.0.0.1:${port}/chat`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await outcome.next()).toBe('/chat');
    expect(chat.connections.size).toBe(1);
    const closed = new Promise<number>((resolve) => outcome.ws.once('close', (code) => resolve(code)));
    await chat.close({ code: 1012 });
    expect(await closed).toBe(1012);
    expect(chat.connections.size).toBe(0);
    const refused = await connectWs(`ws://127.0.0.1:${port}/chat`);
    expect(refused).toMatchObject({ kind: 'rejected', status: 503 });
    if (refused.kind === 'rejected')
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
  });

  it('owns every upgrade from the first request of any kind with app.use(wsgate()), logger set once', async () => {
    const logs = captureLogs();
    const app = new Koa();
    app.use(wsgate({ logger: logs.logger }));
    app.use(websocket('/echo', { origins: '*' }, (ws) => ws.close()));
    app.use((ctx) => {
      if (ctx.path === '/health') ctx.body = 'ok';
    });
    const { port } = await start(http.createServer(app.callback()));
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok');
    const response = await sendRaw(port, buildRequest({ path: '/nowhere', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    expect(await logs.find((r) => r.path === '/nowhere')).toMatchObject({
      framework: 'koa',
      arrival: 'upgrade',
    });
    expect((await sendRaw(port, buildRequest({ path: '/echo', host: `127.0.0.1:${port}` }))).status).toBe(
      101,
    );
    expect(await logs.find((r) => r.path === '/echo')).toMatchObject({ outcome: 'accepted' });
  });

  it('logs the client address Koa trusts (ctx.ip, app.proxy) and compares origins with its host and scheme', async () => {
    const logs = captureLogs();
    const app = new Koa();
    app.proxy = true;
    app.use(websocket('/chat', { logger: logs.logger }, (ws) => ws.close()));
    const { port } = await start(http.createServer(app.callback()));
    const proxied = {
      'X-Forwarded-For': '203.0.113.9',
      'X-Forwarded-Host': 'app.example',
      'X-Forwarded-Proto': 'https',
      Origin: 'https://app.example',
    };
    for (let i = 0; i < 2; i++) {
      const response = await sendRaw(
        port,
        buildRequest({ path: '/chat', host: `127.0.0.1:${port}`, headers: proxied }),
      );
      expect(response.status).toBe(101);
    }
    expect(await logs.find((r) => r.path === '/chat')).toMatchObject({
      remoteAddress: '203.0.113.9',
      peerAddress: '127.0.0.1',
    });
    app.proxy = false;
    const untrusted = await sendRaw(
      port,
      buildRequest({ path: '/chat', host: `127.0.0.1:${port}`, headers: proxied }),
    );
    expect(untrusted.status).toBe(403);
    expect((await logs.find((r) => r.code === 'ORIGIN_NOT_ALLOWED')).remoteAddress).toBe('127.0.0.1');
  });

  it('turns ctx.throw(401) from middleware into a 401 with WWW-Authenticate, logged as AUTHENTICATION_REQUIRED', async () => {
    const { records, logger } = captureLogs();
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path === '/secret' && ctx.get('authorization') !== 'Bearer letmein') ctx.throw(401);
      await next();
    });
    app.use(websocket('/secret', { logger }, (ws, ctx) => ws.send(`hello ${ctx.state.user}`)));
    app.use(async (ctx, next) => {
      if (ctx.path !== '/health') return next();
      ctx.body = 'ok';
    });
    const { port } = await start(app.listen(0, '127.0.0.1'));
    // Any request through the endpoint's middleware installs the upgrade dispatcher.
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok');

    const response = await sendRaw(port, buildRequest({ path: '/secret', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.body).toBe('Unauthorized');
    expect(response.closed).toBe(true);
    const record = await until(
      () => records.find((r) => r.outcome === 'rejected'),
      'the rejection to be logged',
    );
    expect(record).toMatchObject({
      framework: 'koa',
      status: 401,
      code: 'AUTHENTICATION_REQUIRED',
      path: '/secret',
      arrival: 'upgrade',
      level: 30,
    });

    const open = await connectWs(`ws://127.0.0.1:${port}/secret`, [], {
      headers: { Authorization: 'Bearer letmein' },
    });
    expect(open.kind).toBe('open');
    if (open.kind === 'open') {
      expect(await open.next()).toBe('hello undefined');
      await closeWs(open.ws);
    }
  });

  it('keeps an explicit WWW-Authenticate from ctx.throw and answers Koa’s own 404 with ENDPOINT_NOT_FOUND', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path === '/secret')
        ctx.throw(401, 'token expired', { headers: { 'WWW-Authenticate': 'Basic' } });
      await next();
    });
    app.use(websocket('/echo', { origins: '*' }, echo));
    const { port } = await start(app.listen(0, '127.0.0.1'));
    const host = `127.0.0.1:${port}`;
    await fetch(`http://${host}/echo`); // installs the dispatcher (a plain GET → 426)

    const secret = await sendRaw(port, buildRequest({ path: '/secret', host }));
    expect(secret.status).toBe(401);
    expect(secret.headers['www-authenticate']).toBe('Basic');
    expect(secret.body).toBe('token expired');

    const missing = await sendRaw(port, buildRequest({ path: '/echo/', host }));
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
  });

  it('mounts on @koa/router, with route params and ctx.state in the connection handler', async () => {
    const { records, logger } = captureLogs();
    const app = new Koa();
    const router = new Router();
    router.get('/health', (ctx) => {
      ctx.body = 'ok';
    });
    router.get(
      '/rooms/:room',
      async (ctx, next) => {
        ctx.state.user = 'demo';
        await next();
      },
      websocket({ origins: '*', protocols: ['chat.v1'], logger }, (ws, ctx) => {
        ws.send(JSON.stringify({ room: ctx.params.room, user: ctx.state.user, protocol: ws.protocol }));
        echo(ws);
      }),
    );
    app.use(router.routes()).use(router.allowedMethods());
    const { port } = await start(app.listen(0, '127.0.0.1'));
    const host = `127.0.0.1:${port}`;

    // The very first request is a handshake: Node delivers it on the request path.
    const first = await connectWs(`ws://${host}/rooms/lobby`, ['chat.v1']);
    expect(first.kind).toBe('open');
    if (first.kind !== 'open') return;
    expect(JSON.parse(await first.next())).toEqual({ room: 'lobby', user: 'demo', protocol: 'chat.v1' });
    expect(await roundTrip(first.ws, 'hi')).toBe('hi');
    await closeWs(first.ws);

    const again = await connectWs(`ws://${host}/rooms/kitchen`, ['chat.v1']);
    expect(again.kind).toBe('open');
    if (again.kind === 'open') {
      expect(JSON.parse(await again.next())).toMatchObject({ room: 'kitchen' });
      await closeWs(again.ws);
    }
    expect(records.filter((r) => r.outcome === 'accepted').map((r) => [r.path, r.arrival])).toEqual([
      ['/rooms/lobby', 'request'],
      ['/rooms/kitchen', 'upgrade'],
    ]);

    const plain = await fetch(`http://${host}/rooms/lobby`);
    expect(plain.status).toBe(426);
    expect(plain.headers.get('upgrade')).toBe('websocket');
    expect(await plain.json()).toMatchObject({ code: 'NOT_A_WEBSOCKET_REQUEST' });
    expect(await (await fetch(`http://${host}/health`)).text()).toBe('ok');

    // Routes the router does not serve: its 404 and 405 become catalog rejections.
    const nowhere = await sendRaw(port, buildRequest({ path: '/nowhere', host }));
    expect(nowhere.status).toBe(404);
    expect(JSON.parse(nowhere.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    const post = await sendRaw(port, buildRequest({ path: '/rooms/lobby', host, method: 'POST' }));
    expect(post.status).toBe(405);
    expect(post.headers.allow).toMatch(/GET/);
  });

  it('works with http.createServer(app.callback()), and Koa writes nothing after the 101', async () => {
    const app = new Koa();
    app.use(websocket('/echo', { origins: '*' }, echo));
    const { port } = await start(http.createServer(app.callback()));
    const host = `127.0.0.1:${port}`;

    // First request on a fresh server (request path), then one through the dispatcher.
    for (const arrival of ['request', 'upgrade']) {
      const socket = net.connect(port, '127.0.0.1');
      socket.write(buildRequest({ path: '/echo', host }));
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      socket.destroy();
      expect(received, arrival).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      // Only the 101's head arrived: no "404 Not Found" from Koa after the takeover.
      expect(received.endsWith('\r\n\r\n'), arrival).toBe(true);
      expect(received.match(/HTTP\/1\.1/g), arrival).toHaveLength(1);
    }
  });

  it('passes requests that are not handshakes to the next middleware', async () => {
    const app = new Koa();
    app.use(websocket('/feed', { origins: '*', plainRequests: 'pass' }, echo));
    app.use((ctx) => {
      ctx.body = `next: ${ctx.method} ${ctx.path}`;
    });
    const { port } = await start(app.listen(0, '127.0.0.1'));
    const get = await fetch(`http://127.0.0.1:${port}/feed`);
    expect(await get.text()).toBe('next: GET /feed');
    const post = await fetch(`http://127.0.0.1:${port}/feed`, { method: 'POST', body: 'x' });
    expect(await post.text()).toBe('next: POST /feed');
    const open = await connectWs(`ws://127.0.0.1:${port}/feed`);
    expect(open.kind).toBe('open');
    if (open.kind === 'open') await closeWs(open.ws);
  });

  const certificate = selfSignedCertificate();

  it.skipIf(!certificate)(
    'serves wss:// with a self-signed certificate (skipped: openssl is not installed)',
    async () => {
      if (!certificate) return;
      const { records, logger } = captureLogs();
      const app = new Koa();
      app.use(websocket('/echo', { origins: '*', logger }, echo));
      const { port } = await start(https.createServer(certificate, app.callback()));
      const ca = certificate.cert;

      for (const arrival of ['request', 'upgrade']) {
        const open = await connectWs(`wss://127.0.0.1:${port}/echo`, [], { ca });
        expect(open.kind, arrival).toBe('open');
        if (open.kind !== 'open') return;
        expect(await roundTrip(open.ws, 'secure')).toBe('secure');
        await closeWs(open.ws);
      }
      expect(records.filter((r) => r.outcome === 'accepted').map((r) => r.arrival)).toEqual([
        'request',
        'upgrade',
      ]);

      const rejected = await connectWs(`wss://127.0.0.1:${port}/echo`, ['chat.v1'], { ca });
      expect(rejected).toMatchObject({ kind: 'rejected', status: 400 });
    },
  );

  describe('bad arguments throw a TypeError naming @wsgate/koa', () => {
    const cases: Array<[string, () => unknown, RegExp]> = [
      [
        'a bad option value',
        () => websocket('/x', { protocols: ['a b'] }, echo),
        /@wsgate\/koa.*`protocols`/,
      ],
      [
        'an unknown option',
        () => websocket('/x', { protocol: 'chat' } as never, echo),
        /@wsgate\/koa.*`protocol` is not a known option/,
      ],
      [
        'requireProtocol without protocols',
        () => websocket({ requireProtocol: true }, echo),
        /@wsgate\/koa.*`requireProtocol`/,
      ],
      ['a bad logger', () => websocket({ logger: {} as never }, echo), /@wsgate\/koa.*`logger`/],
      ['a bad origin', () => websocket({ origins: ['not an origin'] }, echo), /@wsgate\/koa.*origins/],
      ['a path without a leading slash', () => websocket('chat', {}, echo), /@wsgate\/koa.*path/],
      ['a missing handler', () => websocket('/x', {}, undefined as never), /@wsgate\/koa.*handler/],
      [
        'a ws setting that decides the handshake',
        () => websocket({ ws: { verifyClient: () => true } as never }, echo),
        /@wsgate\/koa: option `ws.verifyClient` is not supported/,
      ],
    ];
    it.each(cases)('%s', (_name, create, message) => {
      expect(create).toThrow(TypeError);
      expect(create).toThrow(message);
    });
  });
});
