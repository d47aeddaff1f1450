import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
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
import { WebSocketServer } from 'ws';
import { attach, drain, websocket, wsgate } from '../src/index.js';
import { majors } from './majors.js';

const servers: Array<http.Server | https.Server> = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen<T extends http.Server | https.Server>(server: T): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe.each(majors)('@wsgate/express on $name', ({ module: express }) => {
  function echoApp() {
    const app = express();
    app.get(
      '/echo',
      websocket({ origins: '*' }, (ws) => ws.on('message', (data) => ws.send(data))),
    );
    return app;
  }

  // Found in review: the app-level view of the request was read only when the 404's record was
  // written, by when a route that called next() had left its `req.route` behind.
  it('logs a 404 behind a route that called next() without that route', async () => {
    const logs = new LogCapture();
    const app = express();
    app.use(wsgate({ logger: logs.logger }));
    app.get('/x', (_req, _res, next) => next());
    app.get(
      '/chat',
      websocket({ origins: '*' }, (ws) => ws.close()),
    );
    const port = await listen(http.createServer(app));
    await fetch(`http://127.0.0.1:${port}/health`);
    const response = await sendRaw(port, buildRequest({ path: '/x', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(404);
    const record = await logs.find((r) => r.path === '/x');
    expect(record).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    expect(record.route).toBeUndefined();
  });

  // Found in review: a client that left while slow middleware ran was logged twice (the
  // dispatcher's CLIENT_DISCONNECTED, then the endpoint's once the middleware went on), and the
  // record had no client address (first read from the destroyed socket).
  it('logs a client that leaves during slow middleware once, with its address', async () => {
    const logs = new LogCapture();
    const app = express();
    app.use(wsgate({ logger: logs.logger }));
    app.use('/slow', (_req, _res, next) => {
      setTimeout(next, 200);
    });
    app.get(
      '/slow',
      websocket({ origins: '*' }, (ws) => ws.close()),
    );
    const port = await listen(http.createServer(app));
    // A first request installs the dispatcher: the handshake then arrives on 'upgrade'.
    await fetch(`http://127.0.0.1:${port}/health`);
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.write(buildRequest({ path: '/slow', host: `127.0.0.1:${port}` }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.end();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const records = logs.records.filter((r) => r.path === '/slow');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ code: 'CLIENT_DISCONNECTED', remoteAddress: '127.0.0.1' });
    client.destroy();
  });

  // Found in review: on a fresh server (no 'upgrade' listener yet) a handshake pipelined behind a
  // plain request arrives on the request path while that request's response is still being
  // written; its 101 went out into the middle of that response.
  it('answers a handshake pipelined behind a slow plain request on a fresh server after that response', async () => {
    const app = express();
    app.get('/slow', (_req, res) => {
      res.set('Content-Length', '4').write('sl');
      setTimeout(() => res.end('ow'), 100);
    });
    app.get(
      '/chat',
      websocket({ origins: '*' }, (ws) => ws.send('hello')),
    );
    const port = await listen(http.createServer(app));
    const data = await sendPipelined(port, '/slow', '/chat', (received) => received.endsWith('hello'));
    expect(data).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\nslowHTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(data.endsWith('hello')).toBe(true);
  });

  it('drain(server): open connections close with the code given, new handshakes get 503 SERVER_SHUTTING_DOWN', async () => {
    const app = express();
    app.use(wsgate());
    app.get(
      '/echo',
      websocket({ origins: '*' }, (ws) => ws.on('message', (d) => ws.send(d))),
    );
    const server = http.createServer(app);
    const port = await listen(server);
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
    const logs = new LogCapture();
    const app = express();
    app.use(wsgate({ logger: logs.logger, maxServerConnections: 1 }));
    for (const path of ['/a', '/b'])
      app.get(
        path,
        websocket({ origins: '*' }, (ws) => ws.on('message', (d) => ws.send(d))),
      );
    const port = await listen(http.createServer(app));
    await expectServerConnectionLimit(port, (where) => logs.find(where));
    expect(() => wsgate({ maxServerConnections: 0 })).toThrow(
      /@wsgate\/express: option `maxServerConnections`/,
    );
    expect(() => attach(http.createServer(), { maxServerConection: 3 } as never)).toThrow(
      /did you mean `maxServerConnections`/,
    );
  });

  it('a client that leaves while a large answer to its first request is still flushing: no crash, logged once', async () => {
    const logs = new LogCapture();
    const app = express();
    app.use(wsgate({ logger: logs.logger }));
    // 8 MB: more than the socket buffers take while the client reads nothing.
    const body = 'x'.repeat(8 << 20);
    app.use('/big', (_req, res) => {
      res.status(401).send(body);
    });
    app.get(
      '/echo',
      websocket({ origins: '*' }, () => {}),
    );
    const port = await listen(http.createServer(app));
    // The server's first request: Node hands it to the request path, where wsgate adopts it.
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.pause();
    socket.write(buildRequest({ path: '/big', host: `127.0.0.1:${port}` }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Leave without reading: the server sees 'end' with the response ended but not flushed.
    socket.end();
    const record = await logs.find((r) => r.path === '/big');
    expect(record).toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED', arrival: 'request' });
    socket.destroy();
    // Still up.
    const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind === 'open') await closeWs(outcome.ws);
  });

  it('keeps an open WebSocket past Node’s requestTimeout and headersTimeout', async () => {
    const server = http.createServer(
      { requestTimeout: 200, headersTimeout: 100, connectionsCheckingInterval: 50 },
      echoApp(),
    );
    const port = await listen(server);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    // Several of Node's connection checks pass while the connection stays open and idle.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await roundTrip(outcome.ws, 'still here')).toBe('still here');
    await closeWs(outcome.ws);
  });

  it('logs the route pattern the framework matched, for bounded metrics', async () => {
    const logs = new LogCapture();
    const app = express();
    const rooms = express.Router();
    rooms.get(
      '/:id',
      websocket({ origins: '*', logger: logs.logger }, (ws) => ws.close()),
    );
    app.use('/rooms', rooms);
    const port = await listen(http.createServer(app));
    const response = await sendRaw(port, buildRequest({ path: '/rooms/7', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(101);
    expect(await logs.find((r) => r.path === '/rooms/7')).toMatchObject({
      route: '/rooms/:id',
      path: '/rooms/7',
    });
  });

  it('the endpoint handle: typed context, open connections, and close() that refuses new handshakes', async () => {
    const app = express();
    const chat = websocket(
      { origins: '*', beforeUpgrade: (req) => ({ path: req.path }) },
      (ws, _req, context) => ws.send(context.path),
    );
    app.get('/chat', chat);
    const port = await listen(http.createServer(app));
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

  it('works with http.createServer(app), first connection included', async () => {
    const port = await listen(http.createServer(echoApp()));
    for (let i = 0; i < 2; i++) {
      const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
      expect(outcome.kind).toBe('open');
      if (outcome.kind !== 'open') return;
      expect(await roundTrip(outcome.ws, `n${i}`)).toBe(`n${i}`);
      await closeWs(outcome.ws);
    }
  });

  const certificate = selfSignedCertificate();
  it.skipIf(!certificate)(
    'works with https.createServer(options, app) (skipped: no openssl to make a certificate)',
    async () => {
      const port = await listen(https.createServer(certificate ?? {}, echoApp()));
      for (let i = 0; i < 2; i++) {
        const outcome = await connectWs(`wss://127.0.0.1:${port}/echo`, [], { ca: certificate?.cert });
        expect(outcome.kind).toBe('open');
        if (outcome.kind !== 'open') return;
        expect(await roundTrip(outcome.ws, 'secure')).toBe('secure');
        await closeWs(outcome.ws);
      }
    },
  );

  it('attach(server) takes upgrades when another library listened first and no request came yet', async () => {
    const server = http.createServer(echoApp());
    const other = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => ws.close());
    });
    attach(server);
    const port = await listen(server);
    const outcome = await connectWs(`ws://127.0.0.1:${port}/echo`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind === 'open') await closeWs(outcome.ws);
    other.close();
  });

  it('owns every upgrade from the first request of any kind with app.use(wsgate()), logger set once', async () => {
    const logs = new LogCapture();
    const app = express();
    app.use(wsgate({ logger: logs.logger }));
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    app.get(
      '/echo',
      websocket({ origins: '*' }, (ws) => ws.close()),
    );
    const port = await listen(http.createServer(app));
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok');
    const response = await sendRaw(port, buildRequest({ path: '/nowhere', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(404);
    expect(response.headers.connection).toBe('close');
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    expect(await logs.find((r) => r.path === '/nowhere')).toMatchObject({
      code: 'ENDPOINT_NOT_FOUND',
      framework: 'express',
      arrival: 'upgrade',
    });
    // The endpoint has no logger of its own: it logs to the app-level one.
    const accepted = await sendRaw(port, buildRequest({ path: '/echo', host: `127.0.0.1:${port}` }));
    expect(accepted.status).toBe(101);
    expect(await logs.find((r) => r.path === '/echo')).toMatchObject({ outcome: 'accepted' });
  });

  it('logs the client address Express trusts (req.ip) and compares origins with its host and scheme', async () => {
    const logs = new LogCapture();
    const app = express();
    app.set('trust proxy', 'loopback');
    app.get(
      '/chat',
      websocket({ logger: logs.logger }, (ws) => ws.close()),
    );
    const port = await listen(http.createServer(app));
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
    app.set('trust proxy', false);
    const untrusted = await sendRaw(
      port,
      buildRequest({ path: '/chat', host: `127.0.0.1:${port}`, headers: proxied }),
    );
    expect(untrusted.status).toBe(403);
    const record = await logs.find((r) => r.code === 'ORIGIN_NOT_ALLOWED');
    expect(record.remoteAddress).toBe('127.0.0.1');
    expect(record.peerAddress).toBeUndefined();
  });

  it('answers every upgrade even when the app has no WebSocket endpoint at all', async () => {
    const app = express();
    app.get('/', (_req, res) => {
      res.send('home');
    });
    const server = http.createServer(app);
    const records: Array<{ record: object; message: string | undefined }> = [];
    const logger = {
      info: (record: object, message?: string) => records.push({ record, message }),
      error: (record: object, message?: string) => records.push({ record, message }),
    };
    attach(server, { logger });
    const port = await listen(server);
    const response = await sendRaw(port, buildRequest({ path: '/anything', host: `127.0.0.1:${port}` }));
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    expect(records).toEqual([
      {
        record: expect.objectContaining({
          code: 'ENDPOINT_NOT_FOUND',
          framework: 'express',
          path: '/anything',
        }),
        message: 'websocket handshake rejected',
      },
    ]);
  });

  it('leaves a plain GET to the next handler with plainRequests: "pass"', async () => {
    const app = express();
    app.get(
      '/both',
      websocket({ plainRequests: 'pass' }, (ws) => ws.close()),
    );
    app.get('/both', (_req, res) => {
      res.send('http view');
    });
    const port = await listen(http.createServer(app));
    const response = await fetch(`http://127.0.0.1:${port}/both`);
    expect(await response.text()).toBe('http view');
  });

  it.each([
    [{ protocols: ['bad token'] }, /^@wsgate\/express: option `protocols`/],
    [{ origins: ['https://example.com/path'] }, /^@wsgate\/express: option `origins`/],
    [{ onNoProtocolMatch: 'ignore' }, /^@wsgate\/express: option `onNoProtocolMatch`/],
    [{ protcols: [] }, /^@wsgate\/express: option `protcols` is not a known option/],
    [{ logger: console.log }, /^@wsgate\/express: option `logger`/],
    [{ ws: { verifyClient: () => true } }, /^@wsgate\/express: option `ws.verifyClient` is not supported/],
    [{ ws: 'fast' }, /^@wsgate\/express: option `ws` must be an object/],
  ])('rejects bad options at startup: %j', (options, message) => {
    expect(() => websocket(options as never, () => {})).toThrow(TypeError);
    expect(() => websocket(options as never, () => {})).toThrow(message);
  });

  it('needs a connection handler', () => {
    expect(() => websocket({}, undefined as never)).toThrow(/^@wsgate\/express: .*connection handler/);
  });
});
