import { describe, expect, it } from 'vitest';
import {
  computeAcceptKey,
  HandshakeError,
  prefersJson,
  problemType,
  RequestHeaders,
  renderRejection,
} from '../src/index.js';
import { ACCEPT, KEY, minimalWith, run } from './fixtures.js';

const withAccept = (accept: string | undefined) => RequestHeaders.fromObject({ Accept: accept });

describe('prefersJson', () => {
  const rows: ReadonlyArray<readonly [string | undefined, boolean]> = [
    [undefined, true],
    ['', true],
    ['*/*', true],
    ['application/json', true],
    ['application/problem+json', true],
    ['application/*', true],
    ['APPLICATION/JSON', true],
    ['text/plain', false],
    ['text/*', false],
    ['text/html', false],
    ['text/plain, application/json;q=0.5', false],
    ['application/json;q=0.5, text/plain;q=0.5', true],
    ['application/json;q=0', false],
    ['application/json;q=0, */*', false],
    ['application/json;q=0, application/problem+json', true],
    ['text/plain;q=0, */*', true],
    ['text/*;q=0.9, */*;q=0.1', false],
    ['*/*;q=0.1, text/plain;q=0.05', true],
    ['text/plain;charset=utf-8;q=1, application/json;q=0.2', false],
    // Chrome's navigation Accept: JSON is allowed through */*.
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', true],
  ];
  it.each(rows)('Accept: %j → JSON %s', (accept, json) => {
    expect(prefersJson(withAccept(accept))).toBe(json);
  });
});

describe('renderRejection', () => {
  const error = new HandshakeError('SUBPROTOCOL_UNSUPPORTED', {
    detail: 'the client offered "mqtt"',
    hint: 'Offer one of the supported subprotocols.',
    supported: ['chat.v2', 'chat.v1'],
  });

  it('renders RFC 9457 problem+json with exactly the documented fields', () => {
    const response = renderRejection(error, withAccept(undefined));
    expect(response.status).toBe(400);
    expect(response.headers).toEqual({ 'Content-Type': 'application/problem+json' });
    expect(JSON.parse(response.body)).toEqual({
      type: problemType('SUBPROTOCOL_UNSUPPORTED'),
      title: 'None of the offered subprotocols is supported',
      status: 400,
      detail: 'the client offered "mqtt"',
      code: 'SUBPROTOCOL_UNSUPPORTED',
      hint: 'Offer one of the supported subprotocols.',
      supported: ['chat.v2', 'chat.v1'],
    });
    expect(problemType('X')).toBe('urn:wsgate:error:X');
  });

  it('leaves out fields that are not set', () => {
    const response = renderRejection(new HandshakeError('HOST_MISSING'), withAccept('application/json'));
    expect(Object.keys(JSON.parse(response.body))).toEqual(['type', 'title', 'status', 'code']);
  });

  it('renders text/plain with code, title, detail, hint and supported', () => {
    const response = renderRejection(error, withAccept('text/plain'));
    expect(response.headers).toEqual({ 'Content-Type': 'text/plain; charset=utf-8' });
    expect(response.body).toBe(
      [
        '400 SUBPROTOCOL_UNSUPPORTED: None of the offered subprotocols is supported',
        'the client offered "mqtt"',
        'hint: Offer one of the supported subprotocols.',
        'supported: chat.v2, chat.v1',
        '',
      ].join('\n'),
    );
  });

  it('keeps the mandatory headers next to the Content-Type', () => {
    const response = renderRejection(
      new HandshakeError('WEBSOCKET_VERSION_MISSING'),
      withAccept('text/plain'),
    );
    expect(response.headers).toEqual({
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Version': '13',
      'Content-Type': 'text/plain; charset=utf-8',
    });
  });

  it('sends a given body as is, text/plain unless a Content-Type is given', () => {
    const plain = renderRejection(
      new HandshakeError('FORBIDDEN', { body: 'go away' }),
      withAccept(undefined),
    );
    expect(plain).toEqual({
      status: 403,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'go away',
    });
    const html = renderRejection(
      new HandshakeError('FORBIDDEN', { body: '<p>no</p>', headers: { 'content-type': 'text/html' } }),
      withAccept(undefined),
    );
    expect(html.headers).toEqual({ 'content-type': 'text/html' });
  });

  it('replaces a Content-Type the error carries when it renders the body itself', () => {
    const error = new HandshakeError('FORBIDDEN', { headers: { 'content-type': 'text/html', 'X-Id': '7' } });
    const json = renderRejection(error, withAccept(undefined));
    expect(json.headers).toEqual({ 'X-Id': '7', 'Content-Type': 'application/problem+json' });
    const text = renderRejection(error, withAccept('text/plain'));
    expect(text.headers).toEqual({ 'X-Id': '7', 'Content-Type': 'text/plain; charset=utf-8' });
  });

  it('leaves message framing to the writer: no Content-Length or Transfer-Encoding from the error', () => {
    const error = new HandshakeError('FORBIDDEN', {
      headers: { 'Content-Length': '0', 'transfer-encoding': 'chunked' },
    });
    expect(renderRejection(error, withAccept(undefined)).headers).toEqual({
      'Content-Type': 'application/problem+json',
    });
    const withBody = new HandshakeError('FORBIDDEN', { body: 'no', headers: { 'Content-Length': '99' } });
    expect(renderRejection(withBody, withAccept(undefined)).headers).toEqual({
      'Content-Type': 'text/plain; charset=utf-8',
    });
  });

  it('never shows the detail of HOOK_FAILED; hides server-fault detail only in production', () => {
    const hook = new HandshakeError('HOOK_FAILED', { detail: 'password=hunter2' });
    expect(renderRejection(hook, withAccept(undefined), { production: false }).body).not.toContain('hunter2');
    expect(renderRejection(hook, withAccept('text/plain')).body).not.toContain('hunter2');
    const selection = new HandshakeError('SUBPROTOCOL_SELECTION_INVALID', { detail: 'returned "x"' });
    expect(renderRejection(selection, withAccept(undefined)).body).toContain('returned');
    const hidden = renderRejection(selection, withAccept('text/plain'), { production: true }).body;
    expect(hidden).not.toContain('returned');
    expect(hidden).toContain('SUBPROTOCOL_SELECTION_INVALID');
    const custom = new HandshakeError('UPSTREAM_DOWN', { status: 502, detail: 'redis at 10.0.0.3' });
    expect(renderRejection(custom, withAccept(undefined), { production: true }).body).not.toContain(
      '10.0.0.3',
    );
    const client = new HandshakeError('FORBIDDEN', { detail: 'not in room 7' });
    expect(renderRejection(client, withAccept(undefined), { production: true }).body).toContain(
      'not in room 7',
    );
  });

  it('drops headers with CR, LF or NUL even from a foreign (branded) error', () => {
    const forged = Object.assign(Object.create(HandshakeError.prototype) as HandshakeError, {
      code: 'FORBIDDEN',
      status: 403,
      title: 'Not allowed',
      headers: { 'X-Ok': 'yes', 'X-Injected': 'a\r\nSet-Cookie: sid=1', 'X-Nul': 'a\u0000', 'Bad Name': 'v' },
      detail: undefined,
      hint: undefined,
      body: undefined,
      supported: undefined,
    });
    const response = renderRejection(forged, withAccept(undefined));
    expect(response.headers).toEqual({ 'X-Ok': 'yes', 'Content-Type': 'application/problem+json' });
  });

  it('never puts a client value in a header, whatever the request carried', async () => {
    const nasty = 'x\r\nSet-Cookie: sid=1';
    const { response } = await run(
      undefined,
      minimalWith({ Origin: `http://evil.example${nasty}`, 'Sec-WebSocket-Protocol': nasty }),
      {},
    );
    expect(response).toBeDefined();
    for (const [name, value] of Object.entries(response?.headers ?? {})) {
      expect(`${name}: ${value}`).not.toMatch(/[\r\n]/);
    }
  });
});

describe('computeAcceptKey', () => {
  it('computes the RFC 6455 §1.3 sample', () => {
    expect(computeAcceptKey(KEY)).toBe(ACCEPT);
  });
});
