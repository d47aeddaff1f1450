/**
 * holdUpgradeResponse for a framework plugin that owns `'upgrade'` and routes upgrades itself
 * (@fastify/websocket), per-request loggers, and in-process request objects.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createGate,
  HandshakeError,
  type HandshakeRecord,
  holdUpgradeResponse,
  type Logger,
  readRequest,
  settleHandshake,
  upgradeConnectionOf,
} from '../src/index.js';
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

/** A server whose 'upgrade' listener works like @fastify/websocket's: a response on the socket, then the app. */
async function pluginServer(app: (req: IncomingMessage, res: ServerResponse, socket: Duplex) => void) {
  const server = createServer();
  servers.push(server);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const res = new ServerResponse(req);
    res.assignSocket(socket as never);
    app(req, res, socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return { server, port: address.port };
}

function handshake(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nAccept: application/json\r\n\r\n`,
    );
  });
}

describe('holdUpgradeResponse', () => {
  it('takes over a response already assigned to the socket: completes, flushes and logs an app 401', async () => {
    const gateLog = new Capture();
    const requestLog = new Capture();
    const gate = createGate({ logger: gateLog }, { framework: 'test' });
    const { server, port } = await pluginServer((req, res, socket) => {
      const connection = holdUpgradeResponse({ server, req, res, socket, gate: gate as never });
      expect(upgradeConnectionOf(req)).toBe(connection);
      connection.logger = requestLog;
      connection.requestId = 'req-7';
      res.statusCode = 401;
      res.end('no');
    });
    const response = await handshake(port, '/private');
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response).toMatch(/\r\nWWW-Authenticate: Bearer\r\n/i);
    expect(response).toMatch(/\r\nConnection: close\r\n/i);
    expect(response.endsWith('\r\n\r\nno')).toBe(true);
    expect(gateLog.records).toEqual([]);
    expect(requestLog.records).toEqual([
      expect.objectContaining({ code: 'AUTHENTICATION_REQUIRED', framework: 'test', requestId: 'req-7' }),
    ]);
  });

  it('answers an unclaimed 404 with ENDPOINT_NOT_FOUND through the request logger', async () => {
    const requestLog = new Capture();
    const gate = createGate({}, { framework: 'test' });
    const { server, port } = await pluginServer((req, res, socket) => {
      const connection = holdUpgradeResponse({ server, req, res, socket, gate: gate as never });
      connection.logger = requestLog;
      connection.requestId = 'req-8';
      res.statusCode = 404;
      res.end('{"message":"Route GET:/nowhere not found"}');
    });
    const response = await handshake(port, '/nowhere');
    expect(response).toMatch(/^HTTP\/1\.1 404 /);
    expect(response).toContain('"code":"ENDPOINT_NOT_FOUND"');
    expect(requestLog.records).toEqual([
      expect.objectContaining({ code: 'ENDPOINT_NOT_FOUND', requestId: 'req-8', arrival: 'upgrade' }),
    ]);
  });

  it('settleHandshake without the dispatcher installs no listener and answers a request-path handshake UPGRADE_LISTENER_MISSING', async () => {
    const log = new Capture();
    const gate = createGate({ origins: '*' }, { framework: 'test' });
    const server = createServer((req, res) => {
      void settleHandshake({
        gate,
        request: req,
        req,
        server: { handleUpgrade: () => expect.fail('no upgrade on the request path') },
        respond: (response) =>
          res.writeHead(response.status, { ...response.headers, Connection: 'close' }).end(response.body),
        pass: () => res.end('passed'),
        onOpen: () => {},
        logger: log,
        requestId: 'req-9',
        installDispatcher: false,
      });
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const response = await handshake(port, '/chat');
    expect(response).toMatch(/^HTTP\/1\.1 500 /);
    expect(response).toContain('UPGRADE_LISTENER_MISSING');
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(log.records).toEqual([expect.objectContaining({ requestId: 'req-9', status: 500 })]);
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
