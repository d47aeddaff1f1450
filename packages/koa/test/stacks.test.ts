/**
 * The middleware Koa users actually install, in front of a wsgate endpoint: koa-logger,
 * koa-helmet, @koa/cors, koa-compress, koa-session and koa-ratelimit, in their usual order.
 * Every upgrade runs through them as any request does.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import cors from '@koa/cors';
import {
  buildRequest,
  connectWs,
  expectBare101,
  LogCapture,
  readResponseHead,
  sendRaw,
} from '@wsgate/conformance';
import compress from 'koa-compress';
import helmet from 'koa-helmet';
import logger from 'koa-logger';
import ratelimit from 'koa-ratelimit';
import session from 'koa-session';
import { afterEach, describe, expect, it } from 'vitest';
import { websocket, wsgate } from '../src/index.js';
import { majors } from './majors.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

interface Session {
  user?: string;
  handshakes?: number;
}

describe.each(majors)('@wsgate/koa behind a real middleware stack on $name', ({ module: Koa }) => {
  async function start(options: { limit?: number } = {}) {
    const logs = new LogCapture();
    /** koa-logger's response lines (`-->`), as method, path and status. */
    const access: string[] = [];
    /** What the middleware after the endpoint saw once `await next()` returned. */
    const seenAfter: number[] = [];
    const sessions = new Map<string, unknown>();
    const app = new Koa();
    app.keys = ['test secret'];
    app.silent = true;
    /** What Koa reports on 'error' (a header set after the response was sent would land here). */
    const errors: unknown[] = [];
    app.on('error', (error) => errors.push(error));
    app.use(
      logger({
        transporter: (_line, args) => {
          const [, method, url, status] = args as unknown[];
          if (String(args[0]).includes('-->')) access.push(`${method} ${url} ${status}`);
        },
      }),
    );
    app.use(async (ctx, next) => {
      await next();
      seenAfter.push(ctx.status);
    });
    app.use(wsgate({ logger: logs.logger }));
    app.use(helmet());
    app.use(cors({ origin: 'http://app.example', credentials: true }));
    app.use(compress({ threshold: 0 }));
    app.use(
      ratelimit({
        driver: 'memory',
        db: new Map(),
        duration: 60_000,
        max: options.limit ?? 100,
        id: (ctx) => ctx.ip,
      }),
    );
    app.use(
      session(app, {
        store: {
          // Asynchronous, as a real store (Redis) is.
          get: async (key: string) => sessions.get(key),
          set: async (key: string, value: unknown) => void sessions.set(key, value),
          destroy: async (key: string) => void sessions.delete(key),
        },
      }),
    );
    app.use(async (ctx, next) => {
      const state = ctx.session as unknown as Session;
      if (ctx.path === '/login') {
        state.user = 'ada';
        ctx.body = 'logged in';
      } else if (ctx.path === '/visits') {
        ctx.body = { handshakes: state.handshakes ?? 0 };
      } else if (ctx.path === '/chat' && !state.user) {
        ctx.status = 401;
        ctx.body = 'log in first';
      } else await next();
    });
    app.use(
      websocket(
        '/chat',
        {
          origins: ['http://app.example'],
          beforeUpgrade: (ctx) => {
            const state = ctx.session as unknown as Session;
            state.handshakes = (state.handshakes ?? 0) + 1;
            return { user: state.user as string };
          },
        },
        (ws, _ctx, context) => ws.send(`hello ${context.user}`),
      ),
    );
    const server = http.createServer(app.callback());
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const login = await fetch(`http://127.0.0.1:${port}/login`);
    const cookie = login.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    expect(cookie).toMatch(/koa\.sess=/);
    await expect.poll(() => access).toEqual(['GET /login 200']);
    access.length = 0;
    seenAfter.length = 0;
    return { port, logs, access, seenAfter, cookie, sessions, errors };
  }

  const handshake = (port: number, headers: Record<string, string | null> = {}) =>
    buildRequest({
      path: '/chat',
      host: `127.0.0.1:${port}`,
      headers: { Origin: 'http://app.example', ...headers },
    });

  it('the session authorises the 101, and what the hook changed in it is saved', async () => {
    const { port, logs, cookie, errors } = await start();
    const outcome = await connectWs(`ws://127.0.0.1:${port}/chat`, [], {
      headers: { Cookie: cookie, Origin: 'http://app.example' },
    });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await outcome.next()).toBe('hello ada');
    outcome.ws.close();
    await logs.find((r) => r.outcome === 'accepted');
    const visits = await fetch(`http://127.0.0.1:${port}/visits`, { headers: { Cookie: cookie } });
    expect(await visits.json()).toEqual({ handshakes: 1 });
    expect(errors).toEqual([]);
  });

  it('without a session the application’s 401 reaches the client with WWW-Authenticate, logged', async () => {
    const { port, logs, access } = await start();
    const response = await sendRaw(port, handshake(port));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBeDefined();
    expect(response.body).toBe('log in first');
    expect(await logs.find((r) => r.status === 401)).toMatchObject({ code: 'AUTHENTICATION_REQUIRED' });
    await expect.poll(() => access).toEqual(['GET /chat 401']);
  });

  it('the rate limiter’s 429 reaches the client with its headers, and is logged RATE_LIMITED', async () => {
    const { port, logs, access, cookie } = await start({ limit: 2 });
    const first = await connectWs(`ws://127.0.0.1:${port}/chat`, [], {
      headers: { Cookie: cookie, Origin: 'http://app.example' },
    });
    expect(first.kind).toBe('open');
    if (first.kind === 'open') first.ws.terminate();
    const limited = await sendRaw(port, handshake(port, { Cookie: cookie }));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['x-ratelimit-limit']).toBe('2');
    expect(await logs.find((r) => r.status === 429)).toMatchObject({
      code: 'RATE_LIMITED',
      outcome: 'rejected',
    });
    await expect.poll(() => access).toEqual(['GET /chat 101', 'GET /chat 429']);
  });

  it('koa-logger writes one response line with 101, and middleware after `await next()` sees 101', async () => {
    const { port, logs, access, seenAfter, cookie } = await start();
    const outcome = await connectWs(`ws://127.0.0.1:${port}/chat`, [], {
      headers: { Cookie: cookie, Origin: 'http://app.example' },
    });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    await logs.find((r) => r.outcome === 'accepted');
    await expect.poll(() => access).toEqual(['GET /chat 101']);
    expect(seenAfter).toEqual([101]);
    outcome.ws.close();
    await once(outcome.ws, 'close');
    expect(access).toEqual(['GET /chat 101']);
  });

  it('helmet, CORS and compression never touch the 101', async () => {
    const { port, cookie } = await start();
    const head = await readResponseHead(
      port,
      handshake(port, { Cookie: cookie, 'Accept-Encoding': 'gzip, deflate, br' }),
    );
    expectBare101(head);
  });

  it('an upgrade to a path no endpoint serves is wsgate’s 404, logged once and written to the access log', async () => {
    const { port, logs, access, cookie } = await start();
    const response = await sendRaw(
      port,
      buildRequest({ path: '/nowhere', host: `127.0.0.1:${port}`, headers: { Cookie: cookie } }),
    );
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    await logs.find((r) => r.code === 'ENDPOINT_NOT_FOUND');
    await expect.poll(() => access).toEqual(['GET /nowhere 404']);
  });

  it('on a fresh server whose first request is a handshake (arrival "request"), the access line says 101', async () => {
    const logs = new LogCapture();
    const access: string[] = [];
    const app = new Koa();
    app.use(
      logger({
        transporter: (_line, args) => {
          const [, method, url, status] = args as unknown[];
          if (String(args[0]).includes('-->')) access.push(`${method} ${url} ${status}`);
        },
      }),
    );
    app.use(helmet());
    app.use(websocket('/chat', { logger: logs.logger }, (ws) => ws.send('hello')));
    const server = http.createServer(app.callback());
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const outcome = await connectWs(`ws://127.0.0.1:${port}/chat`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await outcome.next()).toBe('hello');
    expect(await logs.find((r) => r.outcome === 'accepted')).toMatchObject({ arrival: 'request' });
    // Node's response of this request never emits 'finish' (on it Node's server would reuse or
    // close the socket ws owns): koa-logger, which also watches the socket, writes its line when
    // the connection closes.
    outcome.ws.close();
    await expect.poll(() => access).toEqual(['GET /chat 101']);
  });
});
