/**
 * The plugins Fastify users actually install, in front of a wsgate route: @fastify/helmet,
 * @fastify/cors, @fastify/compress, @fastify/cookie with @fastify/session, @fastify/rate-limit,
 * and Fastify's own request logging. Every upgrade runs through their hooks as any request does.
 */
import compress from '@fastify/compress';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import session from '@fastify/session';
import {
  buildRequest,
  connectWs,
  expectBare101,
  LogCapture,
  readResponseHead,
  sendRaw,
} from '@wsgate/conformance';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { websocket, wsgate } from '../src/index.js';

declare module 'fastify' {
  interface Session {
    user?: string;
    handshakes?: number;
  }
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('@wsgate/fastify behind real plugins', () => {
  async function start(options: { limit?: number } = {}) {
    const logs = new LogCapture();
    const app = Fastify({ loggerInstance: logs.logger as FastifyBaseLogger });
    apps.push(app);
    await app.register(helmet);
    await app.register(cors, { origin: 'http://app.example', credentials: true });
    await app.register(compress, { threshold: 0 });
    await app.register(rateLimit, { max: options.limit ?? 100, timeWindow: 60_000 });
    await app.register(cookie);
    await app.register(session, {
      secret: 'a secret of at least thirty-two characters',
      cookie: { secure: false },
    });
    await app.register(wsgate, { origins: ['http://app.example'] });
    app.get('/login', async (request) => {
      request.session.user = 'ada';
      return 'logged in';
    });
    app.get('/visits', async (request) => ({ handshakes: request.session.handshakes ?? 0 }));
    app.addHook('preHandler', async (request, reply) => {
      if (request.url === '/chat' && !request.session.user) await reply.code(401).send('log in first');
    });
    app.get(
      '/chat',
      websocket(
        {
          beforeUpgrade: async (request) => {
            request.session.handshakes = (request.session.handshakes ?? 0) + 1;
            // @fastify/session saves in its onSend hook, which never runs for a hijacked reply.
            await request.session.save();
            return { user: request.session.user as string };
          },
        },
        (socket, _request, context) => socket.send(`hello ${context.user}`),
      ),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
    const port = address.port;
    const login = await fetch(`http://127.0.0.1:${port}/login`);
    const sessionCookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(sessionCookie).toMatch(/^sessionId=/);
    return { port, logs, cookie: sessionCookie };
  }

  const handshake = (port: number, headers: Record<string, string | null> = {}) =>
    buildRequest({
      path: '/chat',
      host: `127.0.0.1:${port}`,
      headers: { Origin: 'http://app.example', ...headers },
    });

  /**
   * Fastify's request-logging lines and wsgate's record for one request id, with the status each
   * names, sorted (plugins log lines of their own in between).
   */
  const linesOf = (logs: LogCapture, reqId: unknown) =>
    logs.records
      .filter((r) => r.reqId === reqId)
      .flatMap((r) => {
        if (typeof r.outcome === 'string') return [`wsgate ${r.status}`];
        if (r.msg === 'request completed')
          return [`request completed ${(r.res as { statusCode: number }).statusCode}`];
        return r.msg === 'incoming request' ? ['incoming request'] : [];
      })
      .sort();

  it('the session authorises the 101, and one line per handshake carries its status 101 and request id', async () => {
    const { port, logs, cookie } = await start();
    const outcome = await connectWs(`ws://127.0.0.1:${port}/chat`, [], {
      headers: { Cookie: cookie, Origin: 'http://app.example' },
    });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await outcome.next()).toBe('hello ada');
    const record = await logs.find((r) => r.outcome === 'accepted');
    expect(record).toMatchObject({ status: 101, path: '/chat', route: '/chat' });
    // Fastify logs no 'request completed' for a hijacked reply: wsgate's record is the request's
    // completion line, under the same request id as Fastify's 'incoming request'.
    expect(linesOf(logs, record.reqId)).toEqual(['incoming request', 'wsgate 101']);
    outcome.ws.close();
    const visits = await fetch(`http://127.0.0.1:${port}/visits`, { headers: { Cookie: cookie } });
    expect(await visits.json()).toEqual({ handshakes: 1 });
  });

  it('without a session the application’s 401 reaches the client with WWW-Authenticate, logged', async () => {
    const { port, logs } = await start();
    const response = await sendRaw(port, handshake(port));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBeDefined();
    expect(response.body).toBe('log in first');
    const record = await logs.find((r) => r.status === 401);
    expect(record).toMatchObject({ code: 'AUTHENTICATION_REQUIRED' });
    await expect
      .poll(() => linesOf(logs, record.reqId))
      .toEqual(['incoming request', 'request completed 401', 'wsgate 401']);
  });

  it('the rate limiter’s 429 reaches the client with its headers, and is logged RATE_LIMITED', async () => {
    const { port, logs, cookie } = await start({ limit: 2 });
    const first = await connectWs(`ws://127.0.0.1:${port}/chat`, [], {
      headers: { Cookie: cookie, Origin: 'http://app.example' },
    });
    expect(first.kind).toBe('open');
    if (first.kind === 'open') first.ws.terminate();
    const limited = await sendRaw(port, handshake(port, { Cookie: cookie }));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['x-ratelimit-limit']).toBe('2');
    const record = await logs.find((r) => r.status === 429);
    expect(record).toMatchObject({ code: 'RATE_LIMITED', outcome: 'rejected' });
    await expect
      .poll(() => linesOf(logs, record.reqId))
      .toEqual(['incoming request', 'request completed 429', 'wsgate 429']);
  });

  it('helmet, CORS and compression never touch the 101', async () => {
    const { port, cookie } = await start();
    const head = await readResponseHead(
      port,
      handshake(port, { Cookie: cookie, 'Accept-Encoding': 'gzip, deflate, br' }),
    );
    expectBare101(head);
  });

  it('an upgrade to a path no route serves is wsgate’s 404, logged once', async () => {
    const { port, logs, cookie } = await start();
    const response = await sendRaw(
      port,
      buildRequest({ path: '/nowhere', host: `127.0.0.1:${port}`, headers: { Cookie: cookie } }),
    );
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    const record = await logs.find((r) => r.code === 'ENDPOINT_NOT_FOUND');
    await expect
      .poll(() => linesOf(logs, record.reqId))
      .toEqual(['incoming request', 'request completed 404', 'wsgate 404']);
  });
});
