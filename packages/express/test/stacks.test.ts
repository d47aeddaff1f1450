/**
 * The middleware Express users actually install, in front of a wsgate endpoint: morgan, helmet,
 * CORS, compression, express-session and express-rate-limit, in their usual order. Every upgrade
 * runs through them as any request does.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildRequest,
  connectWs,
  expectBare101,
  LogCapture,
  readResponseHead,
  sendRaw,
} from '@wsgate/conformance';
import compression from 'compression';
import cors from 'cors';
import { rateLimit } from 'express-rate-limit';
import session from 'express-session';
import helmet from 'helmet';
import morgan from 'morgan';
import { afterEach, describe, expect, it } from 'vitest';
import { websocket, wsgate } from '../src/index.js';
import { majors } from './majors.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    handshakes?: number;
  }
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe.each(majors)('@wsgate/express behind a real middleware stack on $name', ({ module: express }) => {
  async function start(options: { limit?: number } = {}) {
    const logs = new LogCapture();
    const access: string[] = [];
    const store = new session.MemoryStore();
    const app = express();
    app.use(
      morgan(':method :url :status', { stream: { write: (line: string) => void access.push(line.trim()) } }),
    );
    app.use(wsgate({ logger: logs.logger }));
    app.use(helmet());
    app.use(cors({ origin: 'http://app.example', credentials: true }));
    app.use(compression({ threshold: 0 }));
    app.use(
      rateLimit({
        windowMs: 60_000,
        limit: options.limit ?? 100,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      }),
    );
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, store }));
    app.get('/login', (req, res) => {
      req.session.user = 'ada';
      res.send('logged in');
    });
    app.get('/visits', (req, res) => {
      res.json({ handshakes: req.session.handshakes ?? 0 });
    });
    app.get(
      '/chat',
      (req, res, next) => {
        if (req.session.user) next();
        else res.status(401).send('log in first');
      },
      websocket(
        {
          origins: ['http://app.example'],
          beforeUpgrade: (req) => {
            req.session.handshakes = (req.session.handshakes ?? 0) + 1;
            return { user: req.session.user as string };
          },
        },
        (ws, _req, context) => ws.send(`hello ${context.user}`),
      ),
    );
    const server = http.createServer(app);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const login = await fetch(`http://127.0.0.1:${port}/login`);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(cookie).toMatch(/^connect\.sid=/);
    await expect.poll(() => access).toEqual(['GET /login 200']);
    access.length = 0;
    return { port, logs, access, cookie, store };
  }

  const handshake = (port: number, headers: Record<string, string | null> = {}) =>
    buildRequest({
      path: '/chat',
      host: `127.0.0.1:${port}`,
      headers: { Origin: 'http://app.example', ...headers },
    });

  it('the session authorises the 101, and what the hook changed in it is saved', async () => {
    const { port, logs, cookie } = await start();
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
    // The login request was the first of the window.
    const first = await connectWs(`ws://127.0.0.1:${port}/chat`, [], {
      headers: { Cookie: cookie, Origin: 'http://app.example' },
    });
    expect(first.kind).toBe('open');
    if (first.kind === 'open') first.ws.terminate();
    const limited = await sendRaw(port, handshake(port, { Cookie: cookie }));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers.ratelimit).toBeDefined();
    expect(await logs.find((r) => r.status === 429)).toMatchObject({
      code: 'RATE_LIMITED',
      outcome: 'rejected',
    });
    await expect.poll(() => access).toEqual(['GET /chat 101', 'GET /chat 429']);
  });

  it('the access logger writes one line with status 101 for an accepted handshake, at the 101', async () => {
    const { port, logs, access, cookie } = await start();
    const outcome = await connectWs(`ws://127.0.0.1:${port}/chat`, [], {
      headers: { Cookie: cookie, Origin: 'http://app.example' },
    });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    await logs.find((r) => r.outcome === 'accepted');
    // The connection is still open: the line is written when the handshake ends, not the connection.
    await expect.poll(() => access).toEqual(['GET /chat 101']);
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
    const { port, logs, access } = await start();
    const response = await sendRaw(port, buildRequest({ path: '/nowhere', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    await logs.find((r) => r.code === 'ENDPOINT_NOT_FOUND');
    await expect.poll(() => access).toEqual(['GET /nowhere 404']);
  });

  it('on a fresh server whose first request is a handshake (arrival "request"), the access line says 101', async () => {
    const logs = new LogCapture();
    const access: string[] = [];
    const app = express();
    app.use(
      morgan(':method :url :status', { stream: { write: (line: string) => void access.push(line.trim()) } }),
    );
    app.use(helmet());
    app.get(
      '/chat',
      websocket({ logger: logs.logger }, (ws) => ws.send('hello')),
    );
    const server = http.createServer(app);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const outcome = await connectWs(`ws://127.0.0.1:${port}/chat`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await outcome.next()).toBe('hello');
    expect(await logs.find((r) => r.outcome === 'accepted')).toMatchObject({ arrival: 'request' });
    // Node's response for this request never finishes (its socket carries frames now): the
    // access logger, which also watches the socket, writes its line when the connection closes.
    outcome.ws.close();
    await expect.poll(() => access).toEqual(['GET /chat 101']);
  });
});
