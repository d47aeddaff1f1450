/**
 * The http stage: every way a server can answer the handshake with something other than a 101 —
 * wsgate's own rejections (through @wsgate/express and core's renderRejection), proxies' error pages,
 * an SPA's index page, a redirect, a bare 426, a silent close, a timeout, a non-HTTP answer.
 */
import { createServer } from 'node:http';
import { HandshakeError, RequestHeaders, renderRejection } from '@wsgate/core';
import { websocket } from '@wsgate/express';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { doctor, evidenceOf } from './cli.js';
import { closeAfterAll, listen, rawHttpServer, rawServer, response } from './servers.js';

const track = closeAfterAll();

/** A raw server that answers every handshake with the same bytes. */
const answering = (bytes: string) =>
  track(
    rawHttpServer((_head, socket) => {
      socket.end(bytes);
    }),
  );

describe('wsgate behind the URL', () => {
  let port = 0;
  const app = express();
  app.get(
    '/echo',
    websocket({ origins: '*', perMessageDeflate: true }, (ws) =>
      ws.on('message', (d, b) => ws.send(d, { binary: b })),
    ),
  );
  app.get(
    '/chat',
    websocket({ protocols: ['chat.v2'], origins: ['http://localhost:5173'] }, () => {}),
  );
  app.get(
    '/same-origin',
    websocket({}, () => {}),
  );
  app.get('/', (_req, res) => {
    res
      .type('html')
      .send(
        '<!doctype html><html><head><title>My SPA</title></head><body><div id="root"></div></body></html>',
      );
  });

  it('a healthy @wsgate/express endpoint with permessage-deflate: every stage passes, exit 0', async () => {
    port = await track(listen(createServer(app)));
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/echo`);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(code).toBe(0);
    expect(evidenceOf(report, 'handshake').extensions).toContain('permessage-deflate');
    expect(evidenceOf(report, 'open').messages, JSON.stringify(report)).toEqual(['wsgate-doctor: hello']);
  });

  it('an Origin wsgate refuses: http-wsgate-rejection with its code, detail and hint; the probe without Origin gets 101', async () => {
    const { code, report } = await doctor(
      `ws://127.0.0.1:${port}/chat`,
      '--protocol',
      'chat.v2',
      '--origin',
      'http://evil.example',
    );
    expect(report, JSON.stringify(report)).toMatchObject({
      stage: 'http',
      cause: 'http-wsgate-rejection',
      exitCode: 7,
    });
    expect(code).toBe(7);
    const http = evidenceOf(report, 'http');
    expect(http.wsgate).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
    expect(report.fix).toContain('docs/errors.md#origin_not_allowed');
    expect(http.probes).toContainEqual(expect.objectContaining({ probe: 'without Origin', status: 101 }));
  });

  it("a cross-origin page on wsgate's default same-origin policy: the probe with the server's own origin gets 101", async () => {
    const { report } = await doctor(`ws://127.0.0.1:${port}/same-origin`, '--origin', 'http://evil.example');
    expect(evidenceOf(report, 'http').wsgate).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
    expect(evidenceOf(report, 'http').probes).toContainEqual(
      expect.objectContaining({ probe: `with Origin http://127.0.0.1:${port}`, status: 101 }),
    );
    expect(report.detail).toContain('same-origin pages only');
    expect(report.fix).toContain('docs/errors.md#origin_not_allowed');
  });

  it('a subprotocol wsgate does not support: the code, and the probe without --protocol', async () => {
    const { report } = await doctor(`ws://127.0.0.1:${port}/chat`, '--protocol', 'chat.v9');
    expect(evidenceOf(report, 'http').wsgate).toMatchObject({
      code: 'SUBPROTOCOL_UNSUPPORTED',
      supported: ['chat.v2'],
    });
    expect(evidenceOf(report, 'http').probes).toContainEqual(
      expect.objectContaining({ probe: 'without --protocol' }),
    );
  });

  it('the SPA index page answers the WebSocket path: http-spa-fallback with the page title', async () => {
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ stage: 'http', cause: 'http-spa-fallback' });
    expect(report.detail).toContain('My SPA');
    expect(code).toBe(7);
  });

  it("wsgate's 426 after a proxy stripped Upgrade/Connection (core's renderRejection on the wire)", async () => {
    const rejection = renderRejection(
      new HandshakeError('UPGRADE_HEADERS_STRIPPED', { detail: 'Sec-WebSocket-Key arrived without Upgrade' }),
      new RequestHeaders([]),
    );
    const p = await answering(
      response(`${rejection.status} Upgrade Required`, rejection.headers, rejection.body),
    );
    const { report } = await doctor(`ws://127.0.0.1:${p}/`);
    expect(report).toMatchObject({ stage: 'http', cause: 'http-wsgate-rejection' });
    expect(evidenceOf(report, 'http').wsgate).toMatchObject({ code: 'UPGRADE_HEADERS_STRIPPED' });
    const { hint } = evidenceOf(report, 'http').wsgate as { hint: string };
    expect(report.fix).toContain(hint);
    expect(report.fix).toContain('docs/errors.md#upgrade_headers_stripped');
  });
});

describe('other answers', () => {
  it.each([
    [
      'a 301 to the trailing-slash path',
      response('301 Moved Permanently', { Location: '/chat/' }),
      'http-redirect',
    ],
    [
      'a bare 426',
      response('426 Upgrade Required', { Upgrade: 'websocket', Connection: 'Upgrade' }),
      'http-upgrade-required',
    ],
    [
      'a 200 JSON API',
      response('200 OK', { 'Content-Type': 'application/json' }, '{"ok":true}'),
      'http-not-websocket',
    ],
    [
      'a 404',
      response('404 Not Found', { 'Content-Type': 'text/plain' }, 'Cannot GET /chat'),
      'http-not-found',
    ],
    ['a 401', response('401 Unauthorized', { 'WWW-Authenticate': 'Bearer' }), 'http-unauthorized'],
    ['a 403 (the probe with the own origin gets 403 too)', response('403 Forbidden', {}), 'http-forbidden'],
    [
      'a 400 from ws',
      response('400 Bad Request', { 'Content-Type': 'text/plain' }, 'Invalid Sec-WebSocket-Key header'),
      'http-bad-request',
    ],
    ['a 500', response('500 Internal Server Error', {}), 'http-server-error'],
    ['a 418', response("418 I'm a teapot", {}), 'http-unexpected-status'],
  ])('%s', async (_name, bytes, cause) => {
    const port = await answering(bytes);
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/chat`);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'http', cause });
    expect(code).toBe(7);
  });

  it('the redirect is reported with its Location as a ws:// URL, not followed', async () => {
    const port = await answering(
      response('308 Permanent Redirect', { Location: 'https://example.invalid/chat' }),
    );
    const { report } = await doctor(`ws://127.0.0.1:${port}/chat`);
    expect(evidenceOf(report, 'http').location).toBe('https://example.invalid/chat');
    expect(report.fix).toContain('wss://example.invalid/chat');
  });

  // The error pages as nginx 1.22, Apache 2.4, HAProxy 2.6 and Caddy 2.6 send them (headers and body).
  it.each([
    [
      'nginx 502',
      response(
        '502 Bad Gateway',
        { Server: 'nginx/1.22.1', 'Content-Type': 'text/html' },
        '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n',
      ),
      'nginx',
    ],
    [
      'Apache 503',
      response(
        '503 Service Unavailable',
        { Server: 'Apache/2.4.57 (Debian)', 'Content-Type': 'text/html; charset=iso-8859-1' },
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>503 Service Unavailable</title>\n</head><body>\n<h1>Service Unavailable</h1>\n<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n<hr>\n<address>Apache/2.4.57 (Debian) Server at 127.0.0.1 Port 80</address>\n</body></html>\n',
      ),
      'apache',
    ],
    [
      'HAProxy 503 (no Server header)',
      `HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n`,
      'haproxy',
    ],
    ['Caddy 502', response('502 Bad Gateway', { Server: 'Caddy' }), 'caddy'],
  ])('%s → http-proxy-error naming the product', async (_name, bytes, product) => {
    const port = await answering(bytes);
    const { report } = await doctor(`ws://127.0.0.1:${port}/chat`);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'http', cause: 'http-proxy-error' });
    expect(evidenceOf(report, 'http').server).toMatchObject({ product });
  });

  it("nginx's 400 for plain HTTP on its TLS port → url-ws-to-tls-port", async () => {
    const port = await answering(
      response(
        '400 Bad Request',
        { Server: 'nginx' },
        '<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
      ),
    );
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ stage: 'url', cause: 'url-ws-to-tls-port' });
    expect(code).toBe(3);
  });

  it('a chunked, gzip-encoded error page is decoded', async () => {
    const { gzipSync } = await import('node:zlib');
    const body = gzipSync('<html><body>No server is available to handle this request.</body></html>');
    const port = await track(
      rawHttpServer((_head, socket) => {
        socket.write(
          'HTTP/1.1 503 Service Unavailable\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n',
        );
        socket.end(
          Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
        );
      }),
    );
    const { report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ cause: 'http-proxy-error' });
    expect(evidenceOf(report, 'http').server).toMatchObject({ product: 'haproxy' });
  });

  it('closed without an answer: http-no-response', async () => {
    const port = await track(rawServer((socket) => socket.once('data', () => socket.destroy())));
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ stage: 'http', cause: 'http-no-response' });
    expect(code).toBe(7);
  });

  it('accepted, never answered: http-timeout within --timeout', async () => {
    const port = await track(rawServer(() => {}));
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`, '--timeout', '1');
    expect(report).toMatchObject({ stage: 'http', cause: 'http-timeout' });
    expect(code).toBe(7);
  });

  it('another protocol answers (an SSH banner): http-not-http', async () => {
    const port = await track(rawHttpServer((_head, socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n')));
    const { report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ stage: 'http', cause: 'http-not-http' });
  });

  it('a response head over 16 KiB: http-response-too-large (bounded read)', async () => {
    const port = await track(
      rawHttpServer((_head, socket) => socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)),
    );
    const { report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ stage: 'http', cause: 'http-response-too-large' });
  });
});
