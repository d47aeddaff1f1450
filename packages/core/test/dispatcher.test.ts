/**
 * The upgrade dispatcher on a real http server: the response an upgrade request gets while it runs
 * through an application is a real ServerResponse on the real socket, statuses get their
 * mandatory headers, the application's 404 becomes ENDPOINT_NOT_FOUND, ownership is decided
 * without timers, and every outcome is logged once.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { connect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createGate, HandshakeError, type HandshakeRecord, type Logger } from '../src/index.js';
import {
  attachUpgradeDispatch,
  readRequest,
  routeTaggedUpgrades,
  settleHandshake,
  tagUpgrades,
  UpgradeResponse,
  upgradeConnectionOf,
  wsServerOptions,
} from '../src/node/index.js';
import { completeDetached } from '../src/node/upgrade-response.js';
import { KEY } from './fixtures.js';

class Capture implements Logger {
  readonly records: HandshakeRecord[] = [];
  info(obj: object): void {
    this.records.push(obj as HandshakeRecord);
  }
  error(obj: object): void {
    this.records.push(obj as HandshakeRecord);
  }
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server with core's dispatcher and `app` as its request listener. */
async function dispatched(
  app: (req: IncomingMessage, res: ServerResponse) => void,
  settings: Parameters<typeof attachUpgradeDispatch>[1] = {},
) {
  const server = createServer(app);
  servers.push(server);
  attachUpgradeDispatch(server, settings);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return { server, port: address.port };
}

/** Sends a handshake and resolves with everything the server sent until it closed. */
function handshake(port: number, path: string, method = 'GET'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nAccept: application/json\r\n\r\n`,
    );
  });
}

/** Sends a handshake and resolves with the response head (for a 101 the connection stays open). */
function responseHead(port: number, path: string, extra = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.destroy();
      resolve(data.slice(0, end + 4));
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
  });
}

/** The body of a response read until the server closed (chunked or not). */
function bodyOf(answer: string): string {
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  if (!/\r\ntransfer-encoding: chunked\r\n/i.test(answer)) return body;
  let out = '';
  for (let rest = body; ; ) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 4 + size);
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('the response of a dispatched upgrade', () => {
  it('is a real ServerResponse on the real socket, on the first handshake and every later one', async () => {
    const seen: unknown[] = [];
    const { port } = await dispatched((_req, res) => {
      // What middleware does on any request (timeouts, reading the peer, listening for the end).
      res.setTimeout(1_000);
      seen.push({
        response: res instanceof ServerResponse,
        socket: res.socket instanceof Socket,
        peer: res.socket?.remoteAddress,
        headers: res.getHeaders(),
      });
      res.once('finish', () => seen.push('finish'));
      res.statusCode = 403;
      res.end('no');
    });
    for (let i = 0; i < 3; i++) expect(await handshake(port, '/x')).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(seen).toEqual(
      Array.from({ length: 3 }, () => [
        { response: true, socket: true, peer: '127.0.0.1', headers: {} },
        'finish',
      ]).flat(),
    );
  });

  it('adds the headers a status requires and logs the code: 401 → WWW-Authenticate, AUTHENTICATION_REQUIRED', async () => {
    const log = new Capture();
    const { port } = await dispatched(
      (_req, res) => {
        res.writeHead(401, { 'Content-Type': 'text/plain' });
        res.end('who are you');
      },
      { gate: createGate<never>({}, { framework: 'test' }), settings: { logger: log } },
    );
    const answer = await handshake(port, '/private');
    expect(answer).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
    expect(answer).toMatch(/\r\nWWW-Authenticate: Bearer\r\n/);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(bodyOf(answer)).toBe('who are you');
    await until(() => log.records.length > 0);
    expect(log.records).toEqual([
      expect.objectContaining({
        outcome: 'rejected',
        status: 401,
        code: 'AUTHENTICATION_REQUIRED',
        framework: 'test',
      }),
    ]);
  });

  it('keeps a header the application set itself', async () => {
    const { port } = await dispatched((_req, res) => {
      res.setHeader('WWW-Authenticate', 'Basic realm="x"');
      res.statusCode = 401;
      res.end();
    });
    expect(await handshake(port, '/private')).toMatch(/\r\nWWW-Authenticate: Basic realm="x"\r\n/);
  });

  it.each([
    ['a 308 redirect', 308, 'REDIRECTED'],
    ['an SPA fallback’s 200', 200, 'HTTP_HANDLER_ANSWERED'],
    ['a rate limiter’s 429', 429, 'RATE_LIMITED'],
    ['a 418', 418, 'APPLICATION_REJECTED'],
    ['a 502', 502, 'APPLICATION_ERROR'],
  ])('logs %s with its catalog code', async (_what, status, code) => {
    const log = new Capture();
    const { port } = await dispatched(
      (_req, res) => {
        res.statusCode = status;
        res.end('x');
      },
      { settings: { logger: log } },
    );
    expect(await handshake(port, '/x')).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    await until(() => log.records.length > 0);
    expect(log.records[0]).toMatchObject({ status, code });
  });

  it('turns the application’s 404 into ENDPOINT_NOT_FOUND, and 405 for another method', async () => {
    const log = new Capture();
    const { port } = await dispatched(
      (_req, res) => {
        // What Express's finalhandler does.
        res.statusCode = 404;
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.setHeader('Content-Security-Policy', "default-src 'none'");
        res.end('<pre>Cannot GET /nowhere</pre>');
      },
      { settings: { logger: log } },
    );
    const answer = await handshake(port, '/nowhere');
    expect(answer).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(answer).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
    expect(answer).not.toMatch(/Content-Security-Policy|Cannot GET|keep-alive/i);
    expect(JSON.parse(bodyOf(answer))).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    const post = await handshake(port, '/nowhere', 'POST');
    expect(post).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(post).toMatch(/\r\nAllow: GET\r\n/);
    await until(() => log.records.length > 1);
    expect(log.records.map((r) => r.code)).toEqual(['ENDPOINT_NOT_FOUND', 'METHOD_NOT_ALLOWED']);
  });

  it('replaces a 404 written with an explicit writeHead too (Fastify-style)', async () => {
    const { port } = await dispatched((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': '2' });
      res.write('{');
      res.end('}');
    });
    const answer = await handshake(port, '/nowhere');
    expect(answer).toMatch(/"code":"ENDPOINT_NOT_FOUND"/);
    expect(answer).not.toMatch(/content-length: 2\r\n/i);
  });

  it('logs CLIENT_DISCONNECTED when the client leaves before the application answers', async () => {
    const log = new Capture();
    let answer: (() => void) | undefined;
    const { port } = await dispatched(
      (_req, res) => {
        answer = () => res.end('late');
      },
      { settings: { logger: log } },
    );
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      `GET /slow HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await until(() => answer !== undefined);
    socket.destroy();
    await until(() => log.records.length > 0);
    answer?.();
    expect(log.records).toEqual([expect.objectContaining({ code: 'CLIENT_DISCONNECTED', status: 499 })]);
  });

  it('answers UPGRADE_LISTENER_MISSING when the server has no request listener', async () => {
    const server = createServer();
    servers.push(server);
    attachUpgradeDispatch(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    expect(await handshake(port, '/x')).toMatch(/^HTTP\/1\.1 500 .*"code":"UPGRADE_LISTENER_MISSING"/s);
  });
});

describe('deadlines', () => {
  it('answers 503 HANDSHAKE_TIMEOUT when middleware neither answers nor reaches an endpoint', async () => {
    const log = new Capture();
    const { port } = await dispatched(() => {}, { settings: { logger: log, handshakeTimeoutMs: 50 } });
    const answer = await handshake(port, '/stuck');
    expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(answer).toMatch(/\r\nRetry-After: 5\r\n/);
    expect(answer).toMatch(/"code":"HANDSHAKE_TIMEOUT"/);
    await until(() => log.records.length > 0);
    expect(log.records).toEqual([expect.objectContaining({ code: 'HANDSHAKE_TIMEOUT', status: 503 })]);
  });

  it('closes the socket when a response was under way but never finished', async () => {
    const log = new Capture();
    const { port } = await dispatched(
      (_req, res) => {
        res.writeHead(200);
        res.write('never ends');
      },
      { settings: { logger: log, handshakeTimeoutMs: 50 } },
    );
    expect(await handshake(port, '/half')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    await until(() => log.records.length > 0);
    expect(log.records[0]).toMatchObject({ code: 'HANDSHAKE_TIMEOUT' });
  });

  it('refuses a handshakeTimeoutMs that is not a duration', () => {
    expect(() => attachUpgradeDispatch(createServer(), { settings: { handshakeTimeoutMs: 0 } })).toThrow(
      /option `handshakeTimeoutMs`/,
    );
  });
});

describe('which upgrade listener owns a request', () => {
  it('never touches a path the application leaves to another library', async () => {
    const other = new WebSocketServer({ noServer: true });
    let appSaw = 0;
    const { server, port } = await dispatched(
      (_req, res) => {
        appSaw++;
        res.statusCode = 404;
        res.end();
      },
      { settings: { leave: ['/graphql'] } },
    );
    // A listener that answers asynchronously (as with an async verifyClient): only `leave` keeps
    // wsgate from answering first.
    server.on('upgrade', (req, socket, head) => {
      if (req.url !== '/graphql') return;
      setTimeout(() => other.handleUpgrade(req, socket, head, () => {}), 50);
    });
    expect(await responseHead(port, '/graphql')).toMatch(/^HTTP\/1\.1 101 /);
    expect(appSaw).toBe(0);
    expect(await handshake(port, '/nowhere')).toMatch(/^HTTP\/1\.1 404 /);
    other.close();
  });

  it('leaves a request another listener took synchronously, answers the rest at once', async () => {
    const other = new WebSocketServer({ noServer: true });
    const { server, port } = await dispatched((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, () => {});
    });
    expect(await responseHead(port, '/other')).toMatch(/^HTTP\/1\.1 101 /);
    expect(await handshake(port, '/nowhere')).toMatch(/^HTTP\/1\.1 404 .*ENDPOINT_NOT_FOUND/s);
    other.close();
  });

  // Found by the hostile-input fuzz: on a keep-alive connection the socket already carries the
  // bytes (and maybe the still-attached response) of earlier requests; the handshake was taken
  // for another listener's and never answered.
  describe('a handshake on a keep-alive connection, after a plain request', () => {
    const plainThenUpgrade = async (app: (req: IncomingMessage, res: ServerResponse) => void) => {
      const { port } = await dispatched(app);
      const upgrade =
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
      const plain = `GET /plain HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
      return { port, upgrade, plain };
    };
    const app = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/plain') {
        res.setHeader('Content-Length', '4');
        res.write('pl');
        // The rest of the body comes later: a handshake pipelined behind it must wait for it.
        setTimeout(() => res.end('ai'), 30);
        return;
      }
      res.statusCode = 401;
      res.end();
    };
    const exchange = (port: number, first: string, second?: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let data = '';
        socket.on('data', (chunk) => {
          data += chunk.toString('latin1');
          if (second && data.endsWith('plai')) socket.write(second);
        });
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.setTimeout(3_000, () => socket.destroy());
        socket.write(first);
      });

    it('is answered when it comes after the first response', async () => {
      const { port, upgrade, plain } = await plainThenUpgrade(app);
      const data = await exchange(port, plain, upgrade);
      expect(data).toMatch(/^HTTP\/1\.1 200 .*\r\n\r\nplaiHTTP\/1\.1 401 /s);
    });

    it('is answered after the earlier response when pipelined behind it, bytes never interleaved', async () => {
      const { port, upgrade, plain } = await plainThenUpgrade(app);
      const data = await exchange(port, plain + upgrade);
      expect(data).toMatch(/^HTTP\/1\.1 200 .*\r\n\r\nplaiHTTP\/1\.1 401 /s);
    });
    it('is answered when another upgrade listener defers it and the earlier response ends in a microtask', async () => {
      // Found in review: the earlier response's bytes, written before the deferred dispatch ran,
      // were taken for another listener's 101.
      const quick = (req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/plain') {
          void Promise.resolve().then(() => res.end('plai'));
          return;
        }
        res.statusCode = 401;
        res.end();
      };
      const { port, upgrade, plain } = await plainThenUpgrade(quick);
      const server = servers.at(-1) as Server;
      // Another library's listener that leaves this path alone: the dispatcher defers to it.
      server.on('upgrade', () => {});
      const data = await exchange(port, plain + upgrade);
      expect(data).toMatch(/^HTTP\/1\.1 200 .*\r\n\r\nplaiHTTP\/1\.1 401 /s);
    });
  });

  it('refuses a `leave` that is not a list of paths', () => {
    const server = createServer();
    expect(() => attachUpgradeDispatch(server, { settings: { leave: ['graphql'] } })).toThrow(
      /option `leave`/,
    );
  });
});

describe('an endpoint claiming a dispatched upgrade', () => {
  it('answers 101 on the socket; the framework’s response finishes with 101 but writes nothing; req.headers stay alone', async () => {
    const wss = new WebSocketServer(wsServerOptions(true));
    const gate = createGate<IncomingMessage>(
      { protocols: ['b'], perMessageDeflate: true },
      { framework: 'test' },
    );
    const headersSeen: unknown[] = [];
    const { port } = await dispatched((req, res) => {
      void settleHandshake({
        gate,
        request: req,
        req,
        server: wss,
        respond: () => {},
        pass: () => {},
        onOpen: () => {
          headersSeen.push(req.headers['sec-websocket-protocol'], req.headers['sec-websocket-extensions']);
        },
      });
      res.once('finish', () => headersSeen.push(`finished ${res.statusCode} headersSent=${res.headersSent}`));
    });
    const answer = await responseHead(
      port,
      '/chat',
      'Sec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8, permessage-deflate\r\n',
    );
    await until(() => headersSeen.length > 2);
    expect(answer).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(answer.match(/HTTP\/1\.1/g)).toHaveLength(1);
    expect(answer).toMatch(/\r\nSec-WebSocket-Protocol: b\r\n/);
    expect(answer, answer).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate\r\n/);
    expect(headersSeen).toEqual([
      // At the 101, before the connection handler: access loggers write their line on 'finish'.
      'finished 101 headersSent=true',
      'a, b',
      'permessage-deflate; server_max_window_bits=8, permessage-deflate',
    ]);
    wss.close();
  });
});

// Found in review: a handshake that reached the normal request path (the server had no 'upgrade'
// listener yet) pipelined behind a plain request whose response was still being written was taken
// over at once: ws's 101 went out before (or into) the earlier response's bytes.
describe('a handshake on the request path, pipelined behind a response still being written', () => {
  /** A server with no dispatcher yet: the endpoint (settleHandshake) installs it, as adapters do. */
  const requestPathServer = async (
    slow: (res: ServerResponse) => void,
    options: { handshakeTimeoutMs?: number } = {},
  ) => {
    const wss = new WebSocketServer(wsServerOptions(false));
    const logger = new Capture();
    const gate = createGate<IncomingMessage>({ logger, ...options }, { framework: 'test' });
    const server = createServer((req, res) => {
      if (req.url === '/plain') {
        slow(res);
        return;
      }
      void settleHandshake({
        gate,
        request: req,
        req,
        response: res,
        server: wss,
        respond: (response) => {
          res.writeHead(response.status, response.headers);
          res.end(response.body);
        },
        pass: () => {},
        onOpen: (ws) => ws.send('hello'),
      });
    });
    servers.push(server);
    server.on('close', () => wss.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { port: (server.address() as { port: number }).port, logger };
  };
  /** Sends a plain request and a handshake in one write; resolves with what came back. */
  const pipelined = (port: number, until: (data: string) => boolean, leaveEarly = false) =>
    new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      const done = () => {
        socket.destroy();
        resolve(data);
      };
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
        if (until(data)) done();
      });
      socket.on('close', done);
      socket.on('error', done);
      socket.setTimeout(3_000, done);
      socket.write(
        `GET /plain HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      if (leaveEarly) setTimeout(() => socket.end(), 50);
    });
  const slowPlain = (ms: number) => (res: ServerResponse) => {
    res.setHeader('Content-Length', '4');
    res.write('pl');
    setTimeout(() => res.end('ai'), ms);
  };

  it('gets its 101 after the whole earlier response, then its messages', async () => {
    const { port, logger } = await requestPathServer(slowPlain(150));
    const data = await pipelined(port, (received) => received.includes('hello'));
    expect(data).toMatch(
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\nplaiHTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*?\r\n\r\n/,
    );
    // The first frame (text, 5 bytes) right after the 101's head.
    expect(data.slice(data.indexOf('\r\n\r\n', data.indexOf(' 101 ')) + 4)).toBe('\x81\x05hello');
    await until(() => logger.records.length > 0);
    expect(logger.records).toMatchObject([{ outcome: 'accepted', status: 101, path: '/ws' }]);
  });

  it('gets a 503 HANDSHAKE_TIMEOUT after the earlier response when that takes longer than handshakeTimeoutMs', async () => {
    const { port, logger } = await requestPathServer(slowPlain(400), { handshakeTimeoutMs: 100 });
    const data = await pipelined(port, () => false);
    expect(data).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\nplaiHTTP\/1\.1 503 [\s\S]*HANDSHAKE_TIMEOUT/);
    expect(data).not.toMatch(/101 Switching Protocols/);
    await until(() => logger.records.length > 0);
    expect(logger.records).toMatchObject([{ outcome: 'rejected', code: 'HANDSHAKE_TIMEOUT', status: 503 }]);
  });

  it('is logged CLIENT_DISCONNECTED when the client leaves while the earlier response is written', async () => {
    const { port, logger } = await requestPathServer(slowPlain(300));
    const data = await pipelined(port, () => false, true);
    expect(data).not.toMatch(/101 Switching Protocols/);
    await until(() => logger.records.length > 0);
    expect(logger.records).toMatchObject([{ outcome: 'rejected', code: 'CLIENT_DISCONNECTED' }]);
  });
});

describe('tagging for a plugin that owns the upgrade path', () => {
  it('tags every upgrade before the plugin’s own listener, whatever the registration order', async () => {
    const server = createServer();
    servers.push(server);
    const seen: unknown[] = [];
    server.on('upgrade', (req, socket) => {
      const connection = upgradeConnectionOf(req);
      seen.push(connection?.socket === socket, connection?.claimed);
      socket.destroy();
    });
    tagUpgrades(server);
    tagUpgrades(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    await handshake((server.address() as { port: number }).port, '/x');
    expect(seen).toEqual([true, false]);
    expect(server.listenerCount('upgrade')).toBe(2);
  });

  // Found by the hostile-input fuzz on Fastify: both left the upgrade socket open for good.
  /** A plugin routing upgrades as @fastify/websocket does: a response of its own, then the app. */
  const pluginServer = async (app: (req: IncomingMessage, res: ServerResponse) => void) => {
    const server = createServer((req, res) => {
      if (req.url === '/plain') res.end('plain');
    });
    servers.push(server);
    tagUpgrades(server);
    const router = (req: IncomingMessage, socket: Duplex) => {
      const res = new ServerResponse(req);
      try {
        res.assignSocket(socket as Socket);
        app(req, res);
      } catch {
        // @fastify/websocket logs a warning and leaves the socket.
      }
    };
    server.on('upgrade', router);
    routeTaggedUpgrades(server, router);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { port: (server.address() as { port: number }).port, server };
  };

  it('closes the socket after a response the framework wrote without its hooks (a bad URL)', async () => {
    const { port } = await pluginServer((_req, res) => {
      res.writeHead(400, { 'Content-Length': '3' });
      res.end('bad');
    });
    // `handshake` resolves once the server closes the connection.
    expect(await handshake(port, '/%zz')).toMatch(/^HTTP\/1\.1 400 .*\r\n\r\nbad$/s);
  });

  it('hands a handshake pipelined behind a plain request to the plugin’s listener alone once that response is done', async () => {
    const { port, server } = await pluginServer((_req, res) => {
      res.writeHead(401, { 'Content-Length': '0', Connection: 'close' });
      res.end(() => res.socket?.destroy());
    });
    // Another library's listener (it leaves /ws alone): it had the upgrade once, not again.
    const seen: unknown[] = [];
    server.on('upgrade', (req: IncomingMessage) => seen.push(req.url));
    const data = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(received));
      socket.setTimeout(3_000, () => socket.destroy());
      socket.write(
        `GET /plain HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    expect(data).toMatch(/^HTTP\/1\.1 200 .*\r\n\r\nplainHTTP\/1\.1 401 /s);
    expect(seen).toEqual(['/ws']);
  });
});

// Canary: core relies on these public but undocumented methods of http.ServerResponse, which
// Node's own server uses for every request. If they move, the dispatcher must change.
describe('completeDetached', () => {
  it('completes a claimed response once: statusCode and headersSent set, one finish for two end() calls', async () => {
    const socket = new Socket();
    const res = new UpgradeResponse(
      { headers: {}, method: 'GET', httpVersion: '1.1' } as IncomingMessage,
      socket,
      { claimed: true, notFound: () => ({ status: 404, headers: {}, body: '' }) },
    );
    res.detachSocket(socket);
    let finished = 0;
    let closed = 0;
    res.on('finish', () => finished++);
    res.on('close', () => closed++);
    completeDetached(res.control, 101, 'now');
    // A late answer (after a deadline, say) must not finish the response a second time.
    res.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect([res.statusCode, res.headersSent, finished, closed]).toEqual([101, true, 1, 1]);
    socket.destroy();
  });
});

describe('canary: ServerResponse#assignSocket and #detachSocket, Socket#_httpMessage', () => {
  it('exist and attach a response to a socket', () => {
    expect(typeof ServerResponse.prototype.assignSocket, 'http.ServerResponse#assignSocket moved').toBe(
      'function',
    );
    expect(typeof ServerResponse.prototype.detachSocket, 'http.ServerResponse#detachSocket moved').toBe(
      'function',
    );
    const socket = new Socket();
    const res = new UpgradeResponse(
      { headers: {}, method: 'GET', httpVersion: '1.1' } as IncomingMessage,
      socket,
      { claimed: false, notFound: () => ({ status: 404, headers: {}, body: '' }) },
    );
    expect(res.socket).toBe(socket);
    // The dispatcher reads `socket._httpMessage` (no public accessor exists) to find the response
    // of an earlier request still being written on a keep-alive connection.
    expect(
      (socket as Socket & { _httpMessage?: unknown })._httpMessage,
      'net.Socket#_httpMessage (set by ServerResponse#assignSocket) moved: fix responseOn() in dispatcher.ts',
    ).toBe(res);
    res.detachSocket(socket);
    expect(res.socket).toBeNull();
    expect(
      (socket as Socket & { _httpMessage?: unknown })._httpMessage,
      'detachSocket no longer clears _httpMessage',
    ).toBeNull();
    socket.destroy();
  });
});

describe('per-request logger and in-process requests', () => {
  it('logs to the logger given with the outcome instead of the logger option', () => {
    const option = new Capture();
    const own = new Capture();
    const gate = createGate({ logger: option }, { framework: 'test' });
    const decision = gate.reject(new HandshakeError('FORBIDDEN'));
    const request = readRequest(
      { method: 'GET', url: '/x', httpVersion: '1.1', headers: { host: 'a' } } as unknown as IncomingMessage,
      'upgrade',
    );
    gate.report(request, decision, { startedAt: performance.now(), logger: own });
    expect(option.records).toEqual([]);
    expect(own.records).toHaveLength(1);
  });

  it('reads a request object that has headers but no rawHeaders (@fastify/websocket injectWS), numbers included', () => {
    const request = readRequest(
      {
        method: 'GET',
        url: '/ws',
        httpVersion: '1.1',
        headers: { host: 'localhost', upgrade: 'websocket', 'sec-websocket-version': 13 },
      } as unknown as IncomingMessage,
      'upgrade',
    );
    expect(request.headers.get('sec-websocket-version')).toBe('13');
    expect(request.headers.get('host')).toBe('localhost');
    expect(request.remoteAddress).toBeUndefined();
  });
});
