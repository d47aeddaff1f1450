import { describe, expect, it } from 'vitest';
import { checkRequest, type HandshakeErrorCode, hasWebSocketSigns, RequestHeaders } from '../src/index.js';
import { decide, type HeaderObject, KEY, minimalHeaders, minimalWith, request } from './fixtures.js';

/** The code `decide` answers with (`accept` when accepted). */
async function outcome(
  headers: HeaderObject | readonly string[],
  init: Parameters<typeof request>[1] = {},
): Promise<string> {
  const decision = await decide(undefined, headers, init);
  if (decision.kind === 'reject') return decision.error.code;
  return decision.kind;
}

type Row = readonly [name: string, headers: HeaderObject, expected: HandshakeErrorCode | 'accept'];

const named = (rows: readonly Row[]) =>
  rows.map(([name, headers, expected]) => ({ name, headers, expected }));

describe('header-list parsing (Connection, Upgrade)', () => {
  const rows: Row[] = [
    ['Connection: Upgrade', minimalWith({ Connection: 'Upgrade' }), 'accept'],
    ['Connection: upgrade (lower case)', minimalWith({ Connection: 'upgrade' }), 'accept'],
    [
      'Connection: keep-alive, Upgrade (Firefox)',
      minimalWith({ Connection: 'keep-alive, Upgrade' }),
      'accept',
    ],
    [
      'Connection: Upgrade,keep-alive (no space)',
      minimalWith({ Connection: 'Upgrade,keep-alive' }),
      'accept',
    ],
    [
      'Connection with tabs and empty elements',
      minimalWith({ Connection: ' ,\tkeep-alive ,, upgrade\t' }),
      'accept',
    ],
    ['Connection on two lines', minimalWith({ Connection: ['keep-alive', 'Upgrade'] }), 'accept'],
    ['Upgrade: WebSocket', minimalWith({ Upgrade: 'WebSocket' }), 'accept'],
    ['Upgrade: WEBSOCKET', minimalWith({ Upgrade: 'WEBSOCKET' }), 'accept'],
    ['Upgrade: h2c, websocket', minimalWith({ Upgrade: 'h2c, websocket' }), 'accept'],
    [
      'Connection: upgraded (token, not substring)',
      minimalWith({ Connection: 'upgraded' }),
      'CONNECTION_UPGRADE_MISSING',
    ],
    [
      'Connection: "upgrade" (quoted)',
      minimalWith({ Connection: '"upgrade"' }),
      'CONNECTION_UPGRADE_MISSING',
    ],
    [
      'Connection: upgrade-insecure',
      minimalWith({ Connection: 'upgrade-insecure' }),
      'CONNECTION_UPGRADE_MISSING',
    ],
    ['Connection: close', minimalWith({ Connection: 'close' }), 'CONNECTION_UPGRADE_MISSING'],
    ['no Connection at all', minimalWith({ Connection: undefined }), 'CONNECTION_UPGRADE_MISSING'],
    [
      'Upgrade: websockets (token, not substring)',
      minimalWith({ Upgrade: 'websockets' }),
      'UPGRADE_NOT_WEBSOCKET',
    ],
    ['Upgrade: h2c', minimalWith({ Upgrade: 'h2c' }), 'UPGRADE_NOT_WEBSOCKET'],
    ['Upgrade: h2c, HTTP/2.0', minimalWith({ Upgrade: 'h2c, HTTP/2.0' }), 'UPGRADE_NOT_WEBSOCKET'],
    ['Upgrade: "" with Connection: upgrade', minimalWith({ Upgrade: '' }), 'UPGRADE_HEADER_MISSING'],
  ];
  it.each(named(rows))('$name → $expected', async ({ headers, expected }) => {
    expect(await outcome(headers)).toBe(expected);
  });
});

describe('the upgrade pair', () => {
  const rows: Row[] = [
    ['plain GET', { Host: 'example.com' }, 'NOT_A_WEBSOCKET_REQUEST'],
    [
      'plain GET with Connection: upgrade (nginx configured for WebSocket sends it on every request)',
      { Host: 'example.com', Connection: 'upgrade', 'X-Real-IP': '203.0.113.9' },
      'NOT_A_WEBSOCKET_REQUEST',
    ],
    [
      'Upgrade-Insecure-Requests is not Upgrade',
      { Host: 'example.com', 'Upgrade-Insecure-Requests': '1' },
      'NOT_A_WEBSOCKET_REQUEST',
    ],
    [
      'Key and Version without either upgrade header',
      minimalWith({ Upgrade: undefined, Connection: undefined }),
      'UPGRADE_HEADERS_STRIPPED',
    ],
    [
      'only the Version survived',
      { Host: 'example.com', 'Sec-WebSocket-Version': '13' },
      'UPGRADE_HEADERS_STRIPPED',
    ],
    ['only the Key survived', { Host: 'example.com', 'Sec-WebSocket-Key': KEY }, 'UPGRADE_HEADERS_STRIPPED'],
    [
      'only Sec-WebSocket-Protocol survived, neither upgrade header',
      { Host: 'example.com', Connection: 'keep-alive', 'Sec-WebSocket-Protocol': 'chat' },
      'UPGRADE_HEADERS_STRIPPED',
    ],
    ['Connection: upgrade without Upgrade', minimalWith({ Upgrade: undefined }), 'UPGRADE_HEADER_MISSING'],
    [
      'Upgrade without Connection: upgrade',
      minimalWith({ Connection: 'keep-alive' }),
      'CONNECTION_UPGRADE_MISSING',
    ],
    [
      'Upgrade and Connection only',
      { Host: 'example.com', Connection: 'Upgrade', Upgrade: 'websocket' },
      'WEBSOCKET_VERSION_MISSING',
    ],
  ];
  it.each(named(rows))('$name → $expected', async ({ headers, expected }) => {
    expect(await outcome(headers, { arrival: 'request' })).toBe(expected);
  });

  it('gives a truthful detail for each upgrade-pair failure', async () => {
    const detail = async (headers: HeaderObject) => {
      const decision = await decide(undefined, headers, { arrival: 'request' });
      return decision.kind === 'reject' ? decision.error.detail : undefined;
    };
    expect(await detail(minimalWith({ Upgrade: undefined }))).toMatch(/no Upgrade header/);
    expect(await detail(minimalWith({ Connection: 'close' }))).toBe('Connection is "close"');
    expect(await detail(minimalWith({ Connection: undefined }))).toBe('there is no Connection header');
    const stripped = await detail({ Host: 'h', 'Sec-WebSocket-Protocol': 'chat' });
    expect(stripped).not.toMatch(/Connection has "upgrade"/);
  });
});

describe('method and HTTP version', () => {
  it.each(['POST', 'HEAD', 'OPTIONS', 'CONNECT', 'get'])('%s → METHOD_NOT_ALLOWED', async (method) => {
    expect(await outcome(minimalHeaders, { method })).toBe('METHOD_NOT_ALLOWED');
  });
  it.each(['1.0', '0.9'])('HTTP/%s → HTTP_VERSION_TOO_OLD', async (httpVersion) => {
    expect(await outcome(minimalHeaders, { httpVersion })).toBe('HTTP_VERSION_TOO_OLD');
  });
  it('HTTP/1.0 without Host is only too old (Host is optional in 1.0)', async () => {
    const decision = await decide(undefined, minimalWith({ Host: undefined }), { httpVersion: '1.0' });
    expect(decision).toMatchObject({ error: { code: 'HTTP_VERSION_TOO_OLD' } });
    expect(decision.kind === 'reject' && decision.otherFailures).not.toContain('HOST_MISSING');
  });
});

describe('Host values (RFC 9112 §3.2: uri-host [":" port])', () => {
  const rows: Row[] = [
    ['Host: example.com', minimalWith({ Host: 'example.com' }), 'accept'],
    ['Host: Example.COM:8080', minimalWith({ Host: 'Example.COM:8080' }), 'accept'],
    ['Host: 127.0.0.1:3521', minimalWith({ Host: '127.0.0.1:3521' }), 'accept'],
    ['Host: [::1]:3000', minimalWith({ Host: '[::1]:3000' }), 'accept'],
    ['Host: example.com: (empty port)', minimalWith({ Host: 'example.com:' }), 'accept'],
    ['Host: xn--bcher-kva.example', minimalWith({ Host: 'xn--bcher-kva.example' }), 'accept'],
    ['Host: two hosts joined', minimalWith({ Host: '127.0.0.1:3521, evil.example' }), 'HOST_INVALID'],
    ['Host: empty', minimalWith({ Host: '' }), 'HOST_INVALID'],
    ['Host: only spaces', minimalWith({ Host: '   ' }), 'HOST_INVALID'],
    ['Host: a port only', minimalWith({ Host: ':80' }), 'HOST_INVALID'],
    ['Host: with a path', minimalWith({ Host: 'example.com/chat' }), 'HOST_INVALID'],
    ['Host: with user info', minimalWith({ Host: 'user@example.com' }), 'HOST_INVALID'],
    ['Host: port not digits', minimalWith({ Host: 'example.com:http' }), 'HOST_INVALID'],
    ['Host: port above 65535', minimalWith({ Host: 'example.com:65536' }), 'HOST_INVALID'],
    ['Host: two ports', minimalWith({ Host: 'example.com:80:81' }), 'HOST_INVALID'],
    ['Host: bad percent-encoding', minimalWith({ Host: 'ex%zzample.com' }), 'HOST_INVALID'],
    ['Host: IPv6 without brackets', minimalWith({ Host: '::1' }), 'HOST_INVALID'],
    ['Host: not an IPv6 address', minimalWith({ Host: '[example.com]' }), 'HOST_INVALID'],
    ['Host: unclosed bracket', minimalWith({ Host: '[::1' }), 'HOST_INVALID'],
    ['Host: IPv6 zone id', minimalWith({ Host: '[fe80::1%eth0]' }), 'HOST_INVALID'],
    ['Host: non-ASCII', minimalWith({ Host: 'bücher.example' }), 'HOST_INVALID'],
  ];
  it.each(named(rows))('$name → $expected', async ({ headers, expected }) => {
    expect(await outcome(headers)).toBe(expected);
  });

  it('never compares an Origin against a Host that is not a host (same-origin policy)', async () => {
    const joined = minimalWith({ Host: 'evil.example, example.com', Origin: 'http://example.com' });
    expect(await outcome(joined)).toBe('HOST_INVALID');
  });
});

describe('headers that must not repeat', () => {
  const rows: Row[] = [
    ['Host twice', minimalWith({ Host: ['example.com', 'example.com'] }), 'HOST_DUPLICATE'],
    [
      'Origin twice',
      minimalWith({ Origin: ['http://example.com', 'http://example.com'] }),
      'ORIGIN_NOT_ALLOWED',
    ],
    ['Sec-WebSocket-Key twice', minimalWith({ 'Sec-WebSocket-Key': [KEY, KEY] }), 'WEBSOCKET_KEY_INVALID'],
    [
      'Sec-WebSocket-Version twice',
      minimalWith({ 'Sec-WebSocket-Version': ['13', '13'] }),
      'WEBSOCKET_VERSION_MALFORMED',
    ],
  ];
  it.each(named(rows))('$name → $expected', async ({ headers, expected }) => {
    expect(await outcome(headers)).toBe(expected);
  });

  it('detects duplicates in raw header arrays whatever the spelling', async () => {
    const raw = ['Host', 'example.com', 'Connection', 'Upgrade', 'Upgrade', 'websocket'];
    const tail = ['Sec-WebSocket-Version', '13', 'Sec-WebSocket-Key', KEY];
    expect(await outcome([...raw, ...tail, 'host', 'evil.example'])).toBe('HOST_DUPLICATE');
    expect(await outcome([...raw, ...tail, 'sec-websocket-key', KEY])).toBe('WEBSOCKET_KEY_INVALID');
    expect(await outcome([...raw, ...tail, 'SEC-WEBSOCKET-VERSION', '13'])).toBe(
      'WEBSOCKET_VERSION_MALFORMED',
    );
    expect(
      await outcome([...raw, ...tail, 'Origin', 'http://example.com', 'ORIGIN', 'http://example.com']),
    ).toBe('ORIGIN_NOT_ALLOWED');
    expect(await outcome([...raw, ...tail])).toBe('accept');
  });
});

describe('Sec-WebSocket-Key shapes', () => {
  const rows: ReadonlyArray<readonly [string, string, HandshakeErrorCode | 'accept']> = [
    ['RFC 6455 sample', KEY, 'accept'],
    ['16 random bytes', Buffer.from('0123456789abcdef').toString('base64'), 'accept'],
    ['16 bytes with + and /', Buffer.alloc(16, 0xfb).toString('base64'), 'accept'],
    ['non-canonical trailing bits (Q== ends in 0b010000 → R==)', 'dGhlIHNhbXBsZSBub25jZR==', 'accept'],
    ['non-canonical trailing bits (/==)', 'AAAAAAAAAAAAAAAAAAAAA/==', 'accept'],
    [
      'base64url alphabet',
      Buffer.alloc(16, 0xfb).toString('base64url').padEnd(24, '='),
      'WEBSOCKET_KEY_INVALID',
    ],
    ['no padding', 'dGhlIHNhbXBsZSBub25jZQ', 'WEBSOCKET_KEY_INVALID'],
    ['one = only', 'dGhlIHNhbXBsZSBub25jZQ=', 'WEBSOCKET_KEY_INVALID'],
    ['15 bytes', Buffer.alloc(15, 1).toString('base64'), 'WEBSOCKET_KEY_INVALID'],
    ['17 bytes', Buffer.alloc(17, 1).toString('base64'), 'WEBSOCKET_KEY_INVALID'],
    ['20 bytes', Buffer.alloc(20, 1).toString('base64'), 'WEBSOCKET_KEY_INVALID'],
    ['24 characters that are not base64', '!!!!!!!!!!!!!!!!!!!!!!==', 'WEBSOCKET_KEY_INVALID'],
    ['space inside', 'dGhlIHNhbXBs ZSBub25jZQ==', 'WEBSOCKET_KEY_INVALID'],
    ['empty', '', 'WEBSOCKET_KEY_INVALID'],
    ['a UUID', '5f2b1c7e-3c1a-4e8e-9d0b-2b6f0e7a8c11', 'WEBSOCKET_KEY_INVALID'],
  ];
  it.each(rows)('%s (%s) → %s', async (_name, key, expected) => {
    expect(await outcome(minimalWith({ 'Sec-WebSocket-Key': key }))).toBe(expected);
  });

  it('every 16-byte value in standard base64 passes', async () => {
    for (const fill of [0x00, 0x3e, 0x3f, 0x7f, 0x80, 0xff]) {
      expect(
        await outcome(minimalWith({ 'Sec-WebSocket-Key': Buffer.alloc(16, fill).toString('base64') })),
      ).toBe('accept');
    }
  });
});

describe('Sec-WebSocket-Version shapes', () => {
  const rows: ReadonlyArray<
    readonly [string | readonly string[] | undefined, HandshakeErrorCode | 'accept']
  > = [
    ['13', 'accept'],
    [undefined, 'WEBSOCKET_VERSION_MISSING'],
    ['8', 'WEBSOCKET_VERSION_UNSUPPORTED'],
    ['7', 'WEBSOCKET_VERSION_UNSUPPORTED'],
    ['0', 'WEBSOCKET_VERSION_UNSUPPORTED'],
    ['14', 'WEBSOCKET_VERSION_UNSUPPORTED'],
    ['255', 'WEBSOCKET_VERSION_UNSUPPORTED'],
    ['013', 'WEBSOCKET_VERSION_MALFORMED'],
    ['13.0', 'WEBSOCKET_VERSION_MALFORMED'],
    ['13, 8', 'WEBSOCKET_VERSION_MALFORMED'],
    ['8, 13', 'WEBSOCKET_VERSION_MALFORMED'],
    ['', 'WEBSOCKET_VERSION_MALFORMED'],
    ['256', 'WEBSOCKET_VERSION_MALFORMED'],
    ['-13', 'WEBSOCKET_VERSION_MALFORMED'],
    ['thirteen', 'WEBSOCKET_VERSION_MALFORMED'],
    [['13', '13'], 'WEBSOCKET_VERSION_MALFORMED'],
    [['13', '8'], 'WEBSOCKET_VERSION_MALFORMED'],
  ];
  it.each(rows)('%j → %s', async (version, expected) => {
    expect(await outcome(minimalWith({ 'Sec-WebSocket-Version': version }))).toBe(expected);
  });

  it('a version error carries Sec-WebSocket-Version: 13 and, for 426, the upgrade pair', async () => {
    for (const version of ['8', '13.0', undefined]) {
      const decision = await decide(undefined, minimalWith({ 'Sec-WebSocket-Version': version }));
      if (decision.kind !== 'reject') throw new Error('expected a rejection');
      expect(decision.error.headers['Sec-WebSocket-Version']).toBe('13');
      if (decision.error.status === 426) {
        expect(decision.error.headers).toMatchObject({ Upgrade: 'websocket', Connection: 'Upgrade' });
      }
    }
  });
});

describe('a body on the handshake', () => {
  const rows: ReadonlyArray<readonly [string, HeaderObject, HandshakeErrorCode | 'accept']> = [
    ['Content-Length: 0', { 'Content-Length': '0' }, 'accept'],
    ['Content-Length: 5', { 'Content-Length': '5' }, 'REQUEST_BODY_NOT_ALLOWED'],
    ['Content-Length: abc', { 'Content-Length': 'abc' }, 'REQUEST_BODY_NOT_ALLOWED'],
    ['Transfer-Encoding: chunked', { 'Transfer-Encoding': 'chunked' }, 'REQUEST_BODY_NOT_ALLOWED'],
    ['Transfer-Encoding: identity', { 'Transfer-Encoding': 'identity' }, 'REQUEST_BODY_NOT_ALLOWED'],
    [
      'Transfer-Encoding with Content-Length: 0',
      { 'Transfer-Encoding': 'chunked', 'Content-Length': '0' },
      'REQUEST_BODY_NOT_ALLOWED',
    ],
  ];
  it.each(rows)('%s → %s', async (_name, extra, expected) => {
    expect(await outcome(minimalWith(extra))).toBe(expected);
  });
});

describe('checkRequest and hasWebSocketSigns', () => {
  it('lists every failure in catalog order', () => {
    const checked = checkRequest(
      request(
        { 'Sec-WebSocket-Key': 'x', 'Content-Length': '3', 'Sec-WebSocket-Extensions': ';' },
        { method: 'POST' },
      ),
    );
    expect(checked.transport.map((f) => f.code)).toEqual([
      'METHOD_NOT_ALLOWED',
      'UPGRADE_HEADERS_STRIPPED',
      'HOST_MISSING',
      'REQUEST_BODY_NOT_ALLOWED',
      'WEBSOCKET_VERSION_MISSING',
      'WEBSOCKET_KEY_INVALID',
    ]);
    expect(checked.negotiation.map((f) => f.code)).toEqual(['EXTENSIONS_HEADER_MALFORMED']);
    expect(checked.isPlainRequest).toBe(false);
  });

  it('sees WebSocket signs in Upgrade or any Sec-WebSocket-* name, in any case', () => {
    expect(hasWebSocketSigns(RequestHeaders.fromObject({ upgrade: 'x' }))).toBe(true);
    expect(hasWebSocketSigns(RequestHeaders.fromObject({ 'SEC-WEBSOCKET-EXTENSIONS': 'x' }))).toBe(true);
    expect(hasWebSocketSigns(RequestHeaders.fromObject({ Connection: 'upgrade', Host: 'h' }))).toBe(false);
    expect(hasWebSocketSigns(RequestHeaders.fromObject({ 'Sec-Fetch-Mode': 'navigate' }))).toBe(false);
  });
});
