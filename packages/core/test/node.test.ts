/**
 * The raw-socket response writer on real TCP sockets: a `net` server on an ephemeral port of
 * 127.0.0.1, a `net` client reading the bytes exactly as a browser would receive them.
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGate, type HandshakeRequest, type HttpResponse } from '../src/index.js';
import { guardSocket, readRequest, writeRawResponse } from '../src/node/index.js';
import { KEY, minimalWith, request } from './fixtures.js';

let server: Server;
let port: number;
const clients: Socket[] = [];

beforeEach(async () => {
  server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  // close() calls back only once every connection is gone: no socket may be left behind.
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

/** Connects a client and returns both ends of the connection. */
async function pair(): Promise<{ serverSide: Socket; client: Socket }> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(port, '127.0.0.1');
  clients.push(client);
  const [[serverSide]] = await Promise.all([accepted, once(client, 'connect')]);
  return { serverSide, client };
}

/** Everything the client receives until the server closes, and whether the server side ended cleanly. */
async function received(client: Socket): Promise<{ raw: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let ended = false;
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  client.on('end', () => {
    ended = true;
  });
  await once(client, 'close');
  return { raw: Buffer.concat(chunks), ended };
}

/** Resolves on 'close' (unlike `once`, an 'error' on the way does not reject: the writer handles it). */
function closed(socket: Socket): Promise<void> {
  return socket.destroyed
    ? Promise.resolve()
    : new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Splits a raw HTTP/1.1 response into status line, header lines and body. */
function parse(raw: Buffer): { statusLine: string; headers: string[]; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  const [statusLine = '', ...headers] = raw.subarray(0, end).toString('latin1').split('\r\n');
  return { statusLine, headers, body: raw.subarray(end + 4) };
}

describe('writeRawResponse', () => {
  it('writes a 426 with Upgrade, Connection: Upgrade, close, Content-Length, body; then closes', async () => {
    const { serverSide, client } = await pair();
    const reading = received(client);
    const body = '{"code":"UPGRADE_HEADERS_STRIPPED","title":"é"}';
    writeRawResponse(serverSide, {
      status: 426,
      headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Content-Type': 'application/problem+json' },
      body,
    });
    const { raw, ended } = await reading;
    const { statusLine, headers, body: sent } = parse(raw);
    expect(statusLine).toBe('HTTP/1.1 426 Upgrade Required');
    expect(headers).toEqual([
      'Upgrade: websocket',
      'Content-Type: application/problem+json',
      'Connection: Upgrade, close',
      `Content-Length: ${Buffer.byteLength(body)}`,
    ]);
    expect(sent.toString('utf8')).toBe(body);
    expect(ended).toBe(true);
    await closed(serverSide);
    expect(serverSide.destroyed).toBe(true);
  });

  it('writes Connection: close for a response without Upgrade', async () => {
    const { serverSide, client } = await pair();
    const reading = received(client);
    writeRawResponse(serverSide, {
      status: 403,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'no',
    });
    const { statusLine, headers, body } = parse((await reading).raw);
    expect(statusLine).toBe('HTTP/1.1 403 Forbidden');
    expect(headers).toEqual([
      'Content-Type: text/plain; charset=utf-8',
      'Connection: close',
      'Content-Length: 2',
    ]);
    expect(body.toString()).toBe('no');
  });

  it('never writes an invalid header, nor a second Connection, Content-Length or Transfer-Encoding', async () => {
    const { serverSide, client } = await pair();
    const reading = received(client);
    writeRawResponse(serverSide, {
      status: 400,
      headers: {
        'X-Ok': 'fine',
        'X-Injected': 'a\r\nSet-Cookie: sid=1',
        'X-Lf': 'a\nb',
        'X-Nul': 'a\u0000b',
        'Bad Name': 'v',
        'X-Bad:': 'v',
        'content-length': '999',
        'Transfer-Encoding': 'chunked',
        connection: 'keep-alive',
      },
      body: '',
    });
    const { raw } = await reading;
    const { statusLine, headers, body } = parse(raw);
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(headers).toEqual(['X-Ok: fine', 'Connection: close', 'Content-Length: 0']);
    expect(body.length).toBe(0);
    expect(raw.toString('latin1')).not.toContain('Set-Cookie');
  });

  it('writes a rendered rejection end to end', async () => {
    const gate = createGate();
    const handshake = request(minimalWith({ 'Sec-WebSocket-Version': '8' }));
    const decision = await gate.decide(handshake, {});
    if (decision.kind !== 'reject') throw new Error('expected a rejection');
    const response: HttpResponse = gate.render(decision, handshake);
    const { serverSide, client } = await pair();
    const reading = received(client);
    writeRawResponse(serverSide, response);
    const { statusLine, headers, body } = parse((await reading).raw);
    expect(statusLine).toBe('HTTP/1.1 426 Upgrade Required');
    expect(headers).toEqual(
      expect.arrayContaining([
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Connection: Upgrade, close',
        `Content-Length: ${Buffer.byteLength(response.body)}`,
      ]),
    );
    expect(headers.filter((line) => /^connection:/i.test(line))).toHaveLength(1);
    expect(JSON.parse(body.toString())).toMatchObject({ code: 'WEBSOCKET_VERSION_UNSUPPORTED', status: 426 });
  });

  it('uses "Unknown" for a status Node has no reason phrase for', async () => {
    const { serverSide, client } = await pair();
    const reading = received(client);
    writeRawResponse(serverSide, { status: 499, headers: {}, body: 'x' });
    expect(parse((await reading).raw).statusLine).toBe('HTTP/1.1 499 Unknown');
  });

  it('does nothing on a destroyed socket and does not throw', async () => {
    const { serverSide, client } = await pair();
    const closed = once(client, 'close');
    serverSide.destroy();
    expect(() => writeRawResponse(serverSide, { status: 400, headers: {}, body: 'x' })).not.toThrow();
    await closed;
  });

  it('destroys a socket that is no longer writable', async () => {
    const { serverSide, client } = await pair();
    serverSide.end();
    await once(serverSide, 'finish');
    writeRawResponse(serverSide, { status: 400, headers: {}, body: 'x' });
    expect(serverSide.destroyed).toBe(true);
    client.destroy();
  });

  it('survives the client resetting the connection during the write', async () => {
    const { serverSide, client } = await pair();
    client.resetAndDestroy();
    writeRawResponse(serverSide, { status: 400, headers: {}, body: 'x'.repeat(1 << 20) });
    await closed(serverSide);
    expect(serverSide.destroyed).toBe(true);
  });
});

describe('guardSocket', () => {
  it('keeps an error listener while the async work runs, and removes it', async () => {
    const { serverSide } = await pair();
    const before = serverSide.listenerCount('error');
    const release = guardSocket(serverSide);
    expect(serverSide.listenerCount('error')).toBe(before + 1);
    expect(() => serverSide.emit('error', new Error('ECONNRESET'))).not.toThrow();
    release();
    expect(serverSide.listenerCount('error')).toBe(before);
    serverSide.destroy();
  });
});

describe('readRequest on a real http server', () => {
  /** Sends raw bytes to an http server whose upgrade and request paths both go through core. */
  async function exchange(bytes: string): Promise<{ seen: HandshakeRequest; response: string }> {
    const gate = createGate();
    let seen: HandshakeRequest | undefined;
    const http = createHttpServer((req, res) => {
      const handshake = readRequest(req, 'request');
      seen = handshake;
      void gate.decide(handshake, req).then((decision) => {
        if (decision.kind !== 'reject') return res.end('not rejected');
        const response = gate.render(decision, handshake);
        res.writeHead(response.status, response.headers).end(response.body);
      });
    });
    http.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      const release = guardSocket(socket);
      const handshake = readRequest(req, 'upgrade');
      seen = handshake;
      void gate.decide(handshake, req).then((decision) => {
        release();
        if (decision.kind !== 'reject') return socket.destroy();
        writeRawResponse(socket, gate.render(decision, handshake));
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const client = connect((http.address() as { port: number }).port, '127.0.0.1');
    clients.push(client);
    await once(client, 'connect');
    const reading = received(client);
    client.write(bytes);
    const { raw } = await reading;
    http.close();
    await once(http, 'close');
    if (!seen) throw new Error('no request reached the server');
    return { seen, response: raw.toString('utf8') };
  }

  it('keeps a repeated Host that req.headers would drop, on the upgrade path', async () => {
    const { seen, response } = await exchange(
      [
        'GET /chat?ticket=1 HTTP/1.1',
        'Host: example.com',
        'Host: evil.example',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${KEY}`,
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
    expect(seen).toMatchObject({
      method: 'GET',
      url: '/chat?ticket=1',
      httpVersion: '1.1',
      arrival: 'upgrade',
      remoteAddress: '127.0.0.1',
      secure: false,
    });
    expect(seen.headers.all('host')).toEqual(['example.com', 'evil.example']);
    expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(response).toContain('Connection: close\r\n');
    expect(response).toContain('"code":"HOST_DUPLICATE"');
  });

  it('reads the request path of an nginx-default handshake and answers 426 with the nginx fix', async () => {
    const { seen, response } = await exchange(
      [
        'GET /chat HTTP/1.0',
        'Host: 127.0.0.1:3000',
        'Connection: close',
        `Sec-WebSocket-Key: ${KEY}`,
        'Sec-WebSocket-Version: 13',
        'Origin: https://example.com',
        '',
        '',
      ].join('\r\n'),
    );
    expect(seen).toMatchObject({ httpVersion: '1.0', arrival: 'request' });
    expect(seen.headers.names).toEqual([
      'Host',
      'Connection',
      'Sec-WebSocket-Key',
      'Sec-WebSocket-Version',
      'Origin',
    ]);
    expect(response).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
    expect(response).toMatch(/\r\nUpgrade: websocket\r\n/i);
    expect(response).toContain('HTTP_VERSION_TOO_OLD');
    expect(response).toContain('proxy_http_version 1.1;');
  });
});
