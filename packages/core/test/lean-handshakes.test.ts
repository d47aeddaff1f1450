/**
 * What a handshake leaves behind: core's own rejections are built without a stack trace, and an
 * open WebSocket does not keep its upgrade request alive (found by packages/bench).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createGate, HandshakeError, RequestHeaders } from '../src/index.js';
import { settleHandshake, wsServerOptions } from '../src/node/index.js';
import { KEY } from './fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('rejections core decides', () => {
  it('carry no stack frames; a HandshakeError the application creates keeps them', async () => {
    const limit = Error.stackTraceLimit;
    const gate = createGate({ origins: ['https://app.example'] });
    const decision = await gate.decide(
      {
        method: 'GET',
        url: '/chat',
        httpVersion: '1.1',
        headers: new RequestHeaders([
          'Host',
          'example.com',
          'Upgrade',
          'websocket',
          'Connection',
          'Upgrade',
          'Sec-WebSocket-Version',
          '13',
          'Sec-WebSocket-Key',
          KEY,
          'Origin',
          'https://evil.example',
        ]),
        arrival: 'upgrade',
        remoteAddress: '127.0.0.1',
        secure: false,
      },
      undefined,
    );
    expect(decision.kind).toBe('reject');
    if (decision.kind !== 'reject') return;
    expect(decision.error).toBeInstanceOf(HandshakeError);
    expect(decision.error.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(decision.error.stack).toBe(`HandshakeError: ${decision.error.message}`);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new HandshakeError('FORBIDDEN').stack).toContain('\n    at ');
  });
});

describe('an accepted upgrade', () => {
  it('does not keep its request alive while the WebSocket stays open', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const gate = createGate({});
    const wss = new WebSocketServer(wsServerOptions(false));
    let request: WeakRef<IncomingMessage> | undefined;
    const server = createServer((req, res) => {
      request = new WeakRef(req);
      void settleHandshake({
        gate,
        request: req,
        req,
        server: wss,
        respond: (response) => res.writeHead(response.status, response.headers).end(response.body),
        pass: () => res.writeHead(404).end(),
        onOpen: () => {},
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    cleanups.push(() => {
      server.closeAllConnections();
      server.close();
    });

    const open = async () => {
      const socket = connect(address.port, '127.0.0.1');
      cleanups.push(() => socket.destroy());
      socket.write(
        `GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
      return socket;
    };
    // The first request reaches the app on the request path and installs the dispatcher; the
    // second comes through the dispatcher, which holds a response for the app.
    await open();
    const socket = await open();
    expect(request?.deref()).toBeDefined();
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    gc();
    gc();
    expect(socket.destroyed).toBe(false);
    expect(request?.deref()).toBeUndefined();
  });
});
