import { describe, expect, it } from 'vitest';
import {
  acceptHeaders,
  catalog,
  catalogCodes,
  createGate,
  HandshakeError,
  type HandshakeErrorCode,
  type HandshakeRequest,
  type WsGateOptions,
} from '../src/index.js';
import {
  ACCEPT,
  chromeHeaders,
  firefoxHeaders,
  type HeaderObject,
  header,
  KEY,
  minimalHeaders,
  minimalWith,
  request,
  run,
} from './fixtures.js';

const UPGRADE = { Upgrade: 'websocket', Connection: 'Upgrade' };
const VERSION = { ...UPGRADE, 'Sec-WebSocket-Version': '13' };

interface Row {
  readonly code: HandshakeErrorCode;
  readonly status: number;
  readonly must: Record<string, string>;
  readonly headers: HeaderObject;
  readonly init?: Partial<Omit<HandshakeRequest, 'headers'>>;
  readonly options?: WsGateOptions<unknown>;
}

const hookThrows = (code: HandshakeErrorCode): WsGateOptions<unknown> => ({
  beforeUpgrade: () => {
    throw new HandshakeError(code);
  },
});

/** One row per catalog code that `decide` produces, each the simplest request that triggers it. */
const rows: Row[] = [
  {
    code: 'METHOD_NOT_ALLOWED',
    status: 405,
    must: { Allow: 'GET' },
    headers: minimalHeaders,
    init: { method: 'POST' },
  },
  {
    code: 'HTTP_VERSION_TOO_OLD',
    status: 426,
    must: UPGRADE,
    headers: minimalHeaders,
    init: { httpVersion: '1.0' },
  },
  {
    code: 'NOT_A_WEBSOCKET_REQUEST',
    status: 426,
    must: UPGRADE,
    headers: { Host: 'example.com', Accept: '*/*' },
    init: { arrival: 'request' },
  },
  {
    code: 'UPGRADE_HEADERS_STRIPPED',
    status: 426,
    must: UPGRADE,
    headers: minimalWith({ Upgrade: undefined, Connection: undefined }),
    init: { arrival: 'request' },
  },
  {
    code: 'UPGRADE_HEADER_MISSING',
    status: 426,
    must: UPGRADE,
    headers: minimalWith({ Upgrade: undefined }),
    init: { arrival: 'request' },
  },
  {
    code: 'CONNECTION_UPGRADE_MISSING',
    status: 426,
    must: UPGRADE,
    headers: minimalWith({ Connection: 'keep-alive' }),
    init: { arrival: 'request' },
  },
  { code: 'UPGRADE_NOT_WEBSOCKET', status: 426, must: UPGRADE, headers: minimalWith({ Upgrade: 'h2c' }) },
  { code: 'HOST_MISSING', status: 400, must: {}, headers: minimalWith({ Host: undefined }) },
  {
    code: 'HOST_DUPLICATE',
    status: 400,
    must: {},
    headers: minimalWith({ Host: ['example.com', 'evil.example'] }),
  },
  {
    code: 'HOST_INVALID',
    status: 400,
    must: {},
    headers: minimalWith({ Host: 'example.com, evil.example' }),
  },
  {
    code: 'REQUEST_BODY_NOT_ALLOWED',
    status: 400,
    must: {},
    headers: minimalWith({ 'Content-Length': '5' }),
  },
  {
    code: 'WEBSOCKET_VERSION_MISSING',
    status: 426,
    must: VERSION,
    headers: minimalWith({ 'Sec-WebSocket-Version': undefined }),
  },
  {
    code: 'WEBSOCKET_VERSION_UNSUPPORTED',
    status: 426,
    must: VERSION,
    headers: minimalWith({ 'Sec-WebSocket-Version': '8' }),
  },
  {
    code: 'WEBSOCKET_VERSION_MALFORMED',
    status: 400,
    must: { 'Sec-WebSocket-Version': '13' },
    headers: minimalWith({ 'Sec-WebSocket-Version': '13, 8' }),
  },
  {
    code: 'WEBSOCKET_KEY_MISSING',
    status: 400,
    must: {},
    headers: minimalWith({ 'Sec-WebSocket-Key': undefined }),
  },
  {
    code: 'WEBSOCKET_KEY_INVALID',
    status: 400,
    must: {},
    headers: minimalWith({ 'Sec-WebSocket-Key': 'abc' }),
  },
  {
    code: 'ORIGIN_NOT_ALLOWED',
    status: 403,
    must: {},
    headers: minimalWith({ Origin: 'http://evil.example' }),
  },
  {
    code: 'AUTHENTICATION_REQUIRED',
    status: 401,
    must: { 'WWW-Authenticate': 'Bearer' },
    headers: minimalHeaders,
    options: hookThrows('AUTHENTICATION_REQUIRED'),
  },
  { code: 'FORBIDDEN', status: 403, must: {}, headers: minimalHeaders, options: hookThrows('FORBIDDEN') },
  {
    code: 'TOO_MANY_CONNECTIONS',
    status: 503,
    must: { 'Retry-After': '5' },
    headers: minimalHeaders,
    options: hookThrows('TOO_MANY_CONNECTIONS'),
  },
  {
    code: 'SERVER_SHUTTING_DOWN',
    status: 503,
    must: { 'Retry-After': '5' },
    headers: minimalHeaders,
    options: hookThrows('SERVER_SHUTTING_DOWN'),
  },
  {
    code: 'SUBPROTOCOL_HEADER_MALFORMED',
    status: 400,
    must: {},
    headers: minimalWith({ 'Sec-WebSocket-Protocol': 'chat/1' }),
    options: { protocols: ['chat'] },
  },
  {
    code: 'SUBPROTOCOL_DUPLICATE',
    status: 400,
    must: {},
    headers: minimalWith({ 'Sec-WebSocket-Protocol': 'chat, chat' }),
    options: { protocols: ['chat'] },
  },
  {
    code: 'SUBPROTOCOL_REQUIRED',
    status: 400,
    must: {},
    headers: minimalHeaders,
    options: { protocols: ['chat'], requireProtocol: true },
  },
  {
    code: 'SUBPROTOCOL_UNSUPPORTED',
    status: 400,
    must: {},
    headers: minimalWith({ 'Sec-WebSocket-Protocol': 'mqtt' }),
    options: { protocols: ['chat'] },
  },
  {
    code: 'EXTENSIONS_HEADER_MALFORMED',
    status: 400,
    must: {},
    headers: minimalWith({ 'Sec-WebSocket-Extensions': 'permessage-deflate;' }),
  },
  {
    code: 'HOOK_FAILED',
    status: 500,
    must: {},
    headers: minimalHeaders,
    options: {
      beforeUpgrade: () => {
        throw new Error('database down');
      },
    },
  },
  {
    code: 'SUBPROTOCOL_SELECTION_INVALID',
    status: 500,
    must: {},
    headers: minimalWith({ 'Sec-WebSocket-Protocol': 'chat' }),
    options: { selectProtocol: () => 'other' },
  },
];

/** Codes an adapter detects itself and hands to `gate.reject`: they are not decided from the request. */
/** Codes the dispatcher and adapters produce (dispatcher.test.ts, catalog.test.ts's codeForStatus, conformance). */
const ADAPTER_CODES: HandshakeErrorCode[] = [
  'ENDPOINT_NOT_FOUND',
  'UPGRADE_LISTENER_MISSING',
  'CLIENT_DISCONNECTED',
  // Decided from the endpoint's open connections: tested under "connection limits".
  'CLIENT_CONNECTION_LIMIT',
  // A hook or middleware that never settles: tested under "deadlines" and in dispatcher.test.ts.
  'HANDSHAKE_TIMEOUT',
  'RATE_LIMITED',
  'APPLICATION_REJECTED',
  'REDIRECTED',
  'HTTP_HANDLER_ANSWERED',
  'APPLICATION_ERROR',
];

describe('gate.decide: one row per catalog code', () => {
  it('covers every catalog code', () => {
    const covered = new Set([...rows.map((row) => row.code), ...ADAPTER_CODES]);
    expect([...covered].sort()).toEqual([...catalogCodes].sort());
  });

  it.each(rows)('$code → $status', async ({ code, status, must, headers, init, options }) => {
    const { decision, response } = await run(options, headers, init);
    expect(decision.kind).toBe('reject');
    if (decision.kind !== 'reject' || !response) return;
    expect(decision.error.code).toBe(code);
    expect(decision.error.status).toBe(status);
    expect(response.status).toBe(status);
    for (const [name, value] of Object.entries(must)) expect(header(response, name)).toBe(value);
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({
      code,
      status,
      title: catalog[code].title,
      type: `urn:wsgate:error:${code}`,
    });
    expect(header(response, 'Content-Type')).toBe('application/problem+json');
  });

  // Codes of 1xx–3xx responses classify what the application wrote; no rejection carries them.
  const rejectable = ADAPTER_CODES.filter((code) => catalog[code].status >= 400);
  it.each(rejectable)('%s is rendered from gate.reject with its status', (code) => {
    const gate = createGate();
    const handshake = request(minimalHeaders);
    const decision = gate.reject(new HandshakeError(code, { detail: 'adapter detail' }));
    expect(decision).toMatchObject({ kind: 'reject', otherFailures: [], diagnosis: undefined });
    const response = gate.render(decision, handshake);
    expect(response.status).toBe(catalog[code].status);
    expect(JSON.parse(response.body)).toMatchObject({ code });
  });
});

describe('gate.decide: accepting', () => {
  it('accepts Chrome with the permessage-deflate offer kept and no subprotocol', async () => {
    const { decision } = await run({ perMessageDeflate: true }, chromeHeaders);
    expect(decision).toEqual({
      kind: 'accept',
      protocol: undefined,
      extensions: 'permessage-deflate; client_max_window_bits',
      context: undefined,
      origin: 'http://example.com',
      release: expect.any(Function),
    });
  });

  it('accepts Firefox (`Connection: keep-alive, Upgrade`)', async () => {
    const { decision } = await run(undefined, firefoxHeaders);
    expect(decision).toMatchObject({ kind: 'accept', extensions: undefined });
  });

  it('hands no extensions on when perMessageDeflate is off (the default)', async () => {
    const { decision } = await run(undefined, chromeHeaders);
    expect(decision).toMatchObject({ kind: 'accept', extensions: undefined });
  });

  it('accepts a complete handshake that arrived on the request path (no upgrade listener)', async () => {
    const { decision } = await run(undefined, minimalHeaders, { arrival: 'request' });
    expect(decision.kind).toBe('accept');
  });

  it('accepts HTTP/2.0-or-later version strings as not too old', async () => {
    const { decision } = await run(undefined, minimalHeaders, { httpVersion: '2.0' });
    expect(decision.kind).toBe('accept');
  });

  it('builds exactly the RFC 6455 101 header set', () => {
    expect(Object.entries(acceptHeaders(KEY))).toEqual([
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Accept', ACCEPT],
    ]);
    expect(Object.keys(acceptHeaders(KEY, 'chat', 'permessage-deflate'))).toEqual([
      'Upgrade',
      'Connection',
      'Sec-WebSocket-Accept',
      'Sec-WebSocket-Protocol',
      'Sec-WebSocket-Extensions',
    ]);
  });
});

describe('gate.decide: passing', () => {
  it('passes a plain non-GET on the request path (a form POST is not ours)', async () => {
    const { decision } = await run(
      undefined,
      { Host: 'example.com' },
      { arrival: 'request', method: 'POST' },
    );
    expect(decision.kind).toBe('pass');
  });

  it('passes a plain GET when plainRequests is "pass"', async () => {
    const { decision } = await run(
      { plainRequests: 'pass' },
      { Host: 'example.com', Accept: 'text/html' },
      { arrival: 'request' },
    );
    expect(decision).toMatchObject({ kind: 'pass' });
  });

  it('never passes a request that shows WebSocket signs, even with plainRequests "pass"', async () => {
    const { decision } = await run(
      { plainRequests: 'pass' },
      minimalWith({ Upgrade: undefined, Connection: undefined }),
      { arrival: 'request' },
    );
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'UPGRADE_HEADERS_STRIPPED' } });
  });

  it('rejects a non-GET handshake attempt instead of passing it', async () => {
    const { decision } = await run(undefined, minimalHeaders, { arrival: 'request', method: 'PUT' });
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'METHOD_NOT_ALLOWED' } });
  });
});

describe('gate.decide: check order', () => {
  it('the first failing check decides and the others are collected', async () => {
    const { decision } = await run(
      undefined,
      {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '8',
        'Sec-WebSocket-Protocol': 'a,a',
      },
      { method: 'POST' },
    );
    expect(decision).toMatchObject({
      kind: 'reject',
      error: { code: 'METHOD_NOT_ALLOWED' },
      otherFailures: [
        'HOST_MISSING',
        'WEBSOCKET_VERSION_UNSUPPORTED',
        'WEBSOCKET_KEY_MISSING',
        'SUBPROTOCOL_DUPLICATE',
      ],
    });
  });

  it('checks the origin before the hook, and the hook before subprotocol syntax', async () => {
    const calls: string[] = [];
    const options: WsGateOptions<unknown> = {
      beforeUpgrade: () => {
        calls.push('hook');
        throw new HandshakeError('FORBIDDEN');
      },
    };
    const bad = minimalWith({ Origin: 'http://evil.example', 'Sec-WebSocket-Protocol': ',' });
    expect((await run(options, bad)).decision).toMatchObject({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
    expect(calls).toEqual([]);
    const malformed = minimalWith({ 'Sec-WebSocket-Protocol': ',' });
    expect((await run(options, malformed)).decision).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(calls).toEqual(['hook']);
  });

  it('collects the negotiation failures whichever later check decides', async () => {
    const bad = minimalWith({ 'Sec-WebSocket-Protocol': ',', 'Sec-WebSocket-Extensions': ';' });
    expect((await run(undefined, bad)).decision).toMatchObject({
      error: { code: 'SUBPROTOCOL_HEADER_MALFORMED' },
      otherFailures: ['EXTENSIONS_HEADER_MALFORMED'],
    });
    const hook = { beforeUpgrade: () => new HandshakeError('FORBIDDEN') };
    expect((await run(hook, bad)).decision).toMatchObject({
      error: { code: 'FORBIDDEN' },
      otherFailures: ['SUBPROTOCOL_HEADER_MALFORMED', 'EXTENSIONS_HEADER_MALFORMED'],
    });
    const origin = { ...bad, Origin: 'http://evil.example' };
    expect((await run(undefined, origin)).decision).toMatchObject({
      error: { code: 'ORIGIN_NOT_ALLOWED' },
      otherFailures: ['SUBPROTOCOL_HEADER_MALFORMED', 'EXTENSIONS_HEADER_MALFORMED'],
    });
  });

  it('the Origin check never runs before the transport checks pass', async () => {
    const origins = () => {
      throw new Error('must not be called');
    };
    const { decision } = await run({ origins }, minimalWith({ Origin: 'http://a.example', Host: undefined }));
    expect(decision).toMatchObject({ error: { code: 'HOST_MISSING' } });
  });
});

describe('beforeUpgrade', () => {
  it('accepts with the returned context and sees offered protocols, origin and path', async () => {
    const seen: unknown[] = [];
    const req = { user: 'ada' };
    const { decision } = await run(
      {
        protocols: ['chat'],
        beforeUpgrade: async (r, info) => {
          seen.push(r, info);
          return { userId: 7 };
        },
      },
      minimalWith({ Origin: 'http://EXAMPLE.com:80', 'Sec-WebSocket-Protocol': 'chat, x' }),
      { url: '/chat?ticket=secret' },
      req,
    );
    expect(decision).toMatchObject({ kind: 'accept', context: { userId: 7 }, protocol: 'chat' });
    expect(seen).toEqual([
      req,
      { offeredProtocols: ['chat', 'x'], origin: 'http://example.com', path: '/chat' },
    ]);
  });

  // Found in review: a hook's result was awaited only when it was a native Promise, so a
  // rejecting thenable (Bluebird, a query builder) accepted the handshake with itself as context.
  it('awaits a thenable that is not a native Promise, rejecting or resolving', async () => {
    const thenable = (settle: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => void) => ({
      // biome-ignore lint/suspicious/noThenProperty: a non-native thenable is the point of the test
      then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
        setTimeout(() => settle(resolve, reject), 1);
      },
    });
    const rejected = await run(
      { beforeUpgrade: () => thenable((_, reject) => reject(new HandshakeError('FORBIDDEN'))) as never },
      minimalHeaders,
    );
    expect(rejected.decision).toMatchObject({ kind: 'reject', error: { code: 'FORBIDDEN' } });
    const resolved = await run(
      { beforeUpgrade: () => thenable((resolve) => resolve({ userId: 7 })) as never },
      minimalHeaders,
    );
    expect(resolved.decision).toMatchObject({ kind: 'accept', context: { userId: 7 } });
    const picked = await run(
      { protocols: ['chat'], selectProtocol: () => thenable((resolve) => resolve('chat')) as never },
      minimalWith({ 'Sec-WebSocket-Protocol': 'chat' }),
    );
    expect(picked.decision).toMatchObject({ kind: 'accept', protocol: 'chat' });
  });

  it('rejects with a thrown HandshakeError; AUTHENTICATION_REQUIRED gets WWW-Authenticate', async () => {
    const { decision, response } = await run(
      {
        beforeUpgrade: () => {
          throw new HandshakeError('AUTHENTICATION_REQUIRED', { detail: 'no token' });
        },
      },
      minimalHeaders,
    );
    expect(decision).toMatchObject({
      kind: 'reject',
      error: { code: 'AUTHENTICATION_REQUIRED', status: 401 },
    });
    expect(response && header(response, 'WWW-Authenticate')).toBe('Bearer');
    expect(response && JSON.parse(response.body).detail).toBe('no token');
  });

  it('keeps a WWW-Authenticate the hook gives, whatever its case', async () => {
    const { response } = await run(
      {
        beforeUpgrade: () =>
          new HandshakeError('AUTHENTICATION_REQUIRED', {
            headers: { 'www-authenticate': 'Basic realm="x"' },
          }),
      },
      minimalHeaders,
    );
    expect(response?.headers).toEqual({
      'www-authenticate': 'Basic realm="x"',
      'Content-Type': 'application/problem+json',
    });
  });

  it('rejects with a returned HandshakeError (async)', async () => {
    const { decision } = await run(
      { beforeUpgrade: async () => new HandshakeError('FORBIDDEN', { detail: 'not in room' }) },
      minimalHeaders,
    );
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'FORBIDDEN', status: 403 } });
  });

  it('rejects with a custom code and status', async () => {
    const { decision, response } = await run(
      { beforeUpgrade: () => new HandshakeError('ROOM_FULL', { status: 409, title: 'The room is full' }) },
      minimalHeaders,
    );
    expect(decision).toMatchObject({ error: { code: 'ROOM_FULL', status: 409 } });
    expect(response?.status).toBe(409);
    expect(JSON.parse(response?.body ?? '')).toMatchObject({ code: 'ROOM_FULL', title: 'The room is full' });
  });

  it('turns a plain thrown Error into HOOK_FAILED: detail hidden from the client, error kept as cause', async () => {
    const boom = new Error('connect ECONNREFUSED 10.0.0.5:5432');
    const { decision, response } = await run(
      {
        production: false,
        beforeUpgrade: () => {
          throw boom;
        },
      },
      minimalHeaders,
    );
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'HOOK_FAILED', status: 500 } });
    if (decision.kind !== 'reject' || !response) return;
    expect(decision.error.cause).toBe(boom);
    expect(decision.error.detail).toBe(boom.message);
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(JSON.parse(response.body)).not.toHaveProperty('detail');
  });

  it('turns a rejected promise with a non-Error into HOOK_FAILED', async () => {
    const { decision } = await run({ beforeUpgrade: () => Promise.reject('nope') }, minimalHeaders);
    expect(decision).toMatchObject({ error: { code: 'HOOK_FAILED', detail: 'nope', cause: 'nope' } });
  });

  it('accepts a HandshakeError from another copy of @wsgate/core (brand check)', async () => {
    const brand = Symbol.for('@wsgate/core.HandshakeError');
    const foreign = Object.assign(new Error('from another copy'), {
      [brand]: true,
      code: 'FORBIDDEN',
      status: 403,
      title: 'Not allowed',
      headers: {},
      detail: 'other copy',
      hint: undefined,
      body: undefined,
      supported: undefined,
      isServerFault: false,
    });
    expect(foreign instanceof HandshakeError).toBe(true);
    const { decision, response } = await run(
      {
        beforeUpgrade: () => {
          throw foreign;
        },
      },
      minimalHeaders,
    );
    expect(decision).toMatchObject({ kind: 'reject' });
    if (decision.kind !== 'reject') return;
    expect(decision.error).toBe(foreign);
    expect(response?.status).toBe(403);
  });
});

describe('production', () => {
  const selectorFault: WsGateOptions<unknown> = { selectProtocol: () => 'zzz' };
  const headers = minimalWith({ 'Sec-WebSocket-Protocol': 'chat' });

  it('shows the detail of a server fault outside production', async () => {
    const { response } = await run({ ...selectorFault, production: false }, headers);
    expect(JSON.parse(response?.body ?? '')).toMatchObject({
      code: 'SUBPROTOCOL_SELECTION_INVALID',
      detail: expect.stringContaining('"zzz"'),
    });
  });

  it('hides the detail of a server fault in production, never the code', async () => {
    const { response } = await run({ ...selectorFault, production: true }, headers);
    const body = JSON.parse(response?.body ?? '');
    expect(body.code).toBe('SUBPROTOCOL_SELECTION_INVALID');
    expect(body.status).toBe(500);
    expect(body).not.toHaveProperty('detail');
  });

  it('keeps the detail of client faults in production', async () => {
    const { response } = await run({ production: true }, minimalWith({ 'Sec-WebSocket-Version': '8' }));
    expect(JSON.parse(response?.body ?? '').detail).toBe('Sec-WebSocket-Version is 8');
  });
});

describe('connection limits', () => {
  const from = (address: string) => request(minimalHeaders, { remoteAddress: address });

  it('refuses beyond maxConnections with 503 TOO_MANY_CONNECTIONS and Retry-After, and admits again after a release', async () => {
    const gate = createGate({ maxConnections: 2 });
    const first = await gate.decide(from('10.0.0.1'), {});
    const second = await gate.decide(from('10.0.0.2'), {});
    expect([first.kind, second.kind]).toEqual(['accept', 'accept']);
    const third = await gate.decide(from('10.0.0.3'), {});
    expect(third).toMatchObject({ kind: 'reject', error: { code: 'TOO_MANY_CONNECTIONS', status: 503 } });
    if (third.kind === 'reject')
      expect(gate.render(third, from('10.0.0.3')).headers['Retry-After']).toBe('5');
    expect(gate.openConnections()).toBe(2);
    if (first.kind === 'accept') {
      first.release();
      first.release();
    }
    expect(gate.openConnections()).toBe(1);
    expect((await gate.decide(from('10.0.0.3'), {})).kind).toBe('accept');
  });

  it('refuses beyond maxConnectionsPerClient with 429 CLIENT_CONNECTION_LIMIT, per client address', async () => {
    const gate = createGate({ maxConnectionsPerClient: 1 });
    const first = await gate.decide(from('10.0.0.1'), {});
    expect(first.kind).toBe('accept');
    expect(await gate.decide(from('10.0.0.1'), {})).toMatchObject({
      kind: 'reject',
      error: { code: 'CLIENT_CONNECTION_LIMIT', status: 429 },
    });
    expect((await gate.decide(from('10.0.0.2'), {})).kind).toBe('accept');
    expect(gate.openConnections('10.0.0.1')).toBe(1);
    if (first.kind === 'accept') first.release();
    expect(gate.openConnections('10.0.0.1')).toBe(0);
    expect((await gate.decide(from('10.0.0.1'), {})).kind).toBe('accept');
  });

  it.each([0, -1, 1.5, '10'])('refuses %j as a limit', (value) => {
    expect(() => createGate({ maxConnections: value as number })).toThrow(/option `maxConnections`/);
    expect(() => createGate({ maxConnectionsPerClient: value as number })).toThrow(
      /option `maxConnectionsPerClient`/,
    );
  });
});

describe('deadlines', () => {
  it('refuses with 503 HANDSHAKE_TIMEOUT when a hook never settles, logged as a server fault', async () => {
    const gate = createGate({ handshakeTimeoutMs: 20, beforeUpgrade: () => new Promise(() => {}) });
    const decision = await gate.decide(request(minimalHeaders), {});
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'HANDSHAKE_TIMEOUT', status: 503 } });
    if (decision.kind === 'reject') expect(decision.error.isServerFault).toBe(true);
  });

  it('lets a hook that settles in time decide', async () => {
    const gate = createGate({
      handshakeTimeoutMs: 5_000,
      beforeUpgrade: async () => ({ ok: true }),
    });
    expect(await gate.decide(request(minimalHeaders), {})).toMatchObject({
      kind: 'accept',
      context: { ok: true },
    });
  });

  it.each([0, 1.5, 'soon'])('refuses %j as handshakeTimeoutMs', (value) => {
    expect(() => createGate({ handshakeTimeoutMs: value as number })).toThrow(/option `handshakeTimeoutMs`/);
  });
});
