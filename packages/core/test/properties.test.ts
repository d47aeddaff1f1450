/**
 * Property-based tests: whatever a client sends, `decide` answers with a decision and nothing
 * the client sent can break a response header.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptHeaders,
  createGate,
  type Decision,
  type Gate,
  type HandshakeRequest,
  type HttpResponse,
  isValidHeader,
  RequestHeaders,
  type WsGateOptions,
} from '../src/index.js';
import { KEY } from './fixtures.js';

const RUNS = { numRuns: 300 };

/** Pieces that steer values into the interesting parts of each parser. */
const pieces = [
  'websocket',
  'WebSocket',
  'upgrade',
  'Upgrade',
  'keep-alive',
  'close',
  'h2c',
  ',',
  ', ',
  ';',
  '=',
  '"',
  '\\',
  ' ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '\u0000',
  '\u007f',
  'é',
  '😀',
  '13',
  '8',
  '0',
  '013',
  'permessage-deflate',
  'client_max_window_bits',
  'server_max_window_bits',
  'server_no_context_takeover',
  'chat',
  'v2',
  'null',
  'http://',
  'https://',
  'example.com',
  ':80',
  ':443',
  ':99999',
  '[::1]',
  '*',
  '/',
  '@',
  KEY,
  '==',
];

/** Any string: structured around the pieces above, or arbitrary code units. */
const value = fc.oneof(
  fc.array(fc.constantFrom(...pieces), { maxLength: 8 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

const handshakeHeaders = [
  'Host',
  'Upgrade',
  'Connection',
  'Origin',
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Extensions',
  'Accept',
  'User-Agent',
  'Content-Length',
  'Transfer-Encoding',
  'X-Forwarded-Host',
  'X-Forwarded-Proto',
  'Via',
  'Sec-Fetch-Mode',
];

/** A flat raw header array: known names in random case with random values, plus random names. */
const rawHeaders = fc
  .array(
    fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...handshakeHeaders) },
        { weight: 1, arbitrary: fc.constantFrom(...handshakeHeaders).map((n) => n.toLowerCase()) },
        { weight: 1, arbitrary: value },
      ),
      value,
    ),
    { maxLength: 14 },
  )
  .map((pairs) => pairs.flat());

const replaceable = [
  'Host',
  'Upgrade',
  'Connection',
  'Origin',
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Extensions',
] as const;

/**
 * A valid handshake with a few of its headers replaced by arbitrary values or removed, so that
 * both accepts and every kind of rejection come up.
 */
const mutatedHandshake = fc
  .array(fc.tuple(fc.constantFrom(...replaceable), fc.option(value, { freq: 6, nil: undefined })), {
    maxLength: 3,
  })
  .map((changes) =>
    RequestHeaders.fromObject({
      Host: 'example.com',
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': KEY,
      'Sec-WebSocket-Version': '13',
      ...Object.fromEntries(changes),
    }),
  );

const request = fc.record({
  method: fc.oneof(
    { weight: 8, arbitrary: fc.constant('GET') },
    { weight: 1, arbitrary: fc.constantFrom('POST', 'HEAD', 'CONNECT') },
    { weight: 1, arbitrary: value },
  ),
  url: fc.oneof(
    fc.constant('/chat?room=1'),
    value.map((v) => `/${v}`),
  ),
  httpVersion: fc.oneof(
    { weight: 8, arbitrary: fc.constant('1.1') },
    { weight: 1, arbitrary: fc.constantFrom('1.0', '2.0', '0.9') },
    { weight: 1, arbitrary: value },
  ),
  headers: fc.oneof(
    { weight: 3, arbitrary: mutatedHandshake },
    { weight: 1, arbitrary: rawHeaders.map((raw) => new RequestHeaders(raw)) },
  ),
  arrival: fc.constantFrom('upgrade' as const, 'request' as const),
  remoteAddress: fc.option(fc.constant('127.0.0.1'), { nil: undefined }),
  secure: fc.boolean(),
}) satisfies fc.Arbitrary<HandshakeRequest>;

/** A spread of endpoint configurations, hooks included. */
const gates: Gate<unknown>[] = (
  [
    {},
    { protocols: ['chat', 'v2'], perMessageDeflate: true },
    {
      protocols: ['chat'],
      requireProtocol: true,
      protocolPreference: 'client',
      onNoProtocolMatch: 'proceed',
    },
    { selectProtocol: (offered) => offered.at(-1), origins: '*' },
    { selectProtocol: (offered) => `${offered[0]}!` },
    { origins: ['https://*.example.com', /^http:\/\/localhost:\d+$/, 'null'] },
    { origins: async (origin) => origin.length % 2 === 0, plainRequests: 'pass', production: true },
    {
      beforeUpgrade: (_req, info) => {
        if (info.offeredProtocols.length > 1) throw new Error('too many');
        return info.origin;
      },
    },
  ] satisfies WsGateOptions<unknown>[]
).map((options) => createGate(options));

const gate = fc.constantFrom(...gates);

function assertSafeHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, headerValue] of Object.entries(headers)) {
    expect(`${name}${headerValue}`).not.toMatch(/[\r\n\0]/);
    expect(isValidHeader(name, headerValue)).toBe(true);
  }
}

describe('properties of decide', () => {
  it('never throws and always returns a decision', async () => {
    await fc.assert(
      fc.asyncProperty(gate, request, async (g, handshake) => {
        const decision: Decision = await g.decide(handshake, {});
        expect(['accept', 'reject', 'pass']).toContain(decision.kind);
        if (decision.kind === 'reject') {
          expect(decision.error.status).toBeGreaterThanOrEqual(400);
          expect(decision.error.status).toBeLessThanOrEqual(599);
          expect(typeof decision.error.code).toBe('string');
        }
      }),
      RUNS,
    );
  });

  it('renders rejections whose headers never carry CR, LF or NUL, with a parseable body', async () => {
    await fc.assert(
      fc.asyncProperty(gate, request, async (g, handshake) => {
        const decision = await g.decide(handshake, {});
        if (decision.kind !== 'reject') return;
        const response: HttpResponse = g.render(decision, handshake);
        expect(response.status).toBe(decision.error.status);
        assertSafeHeaders(response.headers);
        if (response.headers['Content-Type'] === 'application/problem+json') {
          expect(JSON.parse(response.body)).toMatchObject({
            code: decision.error.code,
            status: response.status,
          });
        }
      }),
      RUNS,
    );
  });

  it('accepts only with a valid key, an offered subprotocol and well-formed extensions, all safe to send', async () => {
    await fc.assert(
      fc.asyncProperty(gate, request, async (g, handshake) => {
        const decision = await g.decide(handshake, {});
        if (decision.kind !== 'accept') return;
        const key = handshake.headers.get('sec-websocket-key') ?? '';
        expect(key.trim()).toMatch(/^[A-Za-z0-9+/]{22}==$/);
        expect(Buffer.from(key.trim(), 'base64')).toHaveLength(16);
        if (decision.protocol !== undefined) {
          expect(handshake.headers.list('sec-websocket-protocol')).toContain(decision.protocol);
        }
        if (decision.extensions !== undefined) expect(decision.extensions).toMatch(/^permessage-deflate/);
        assertSafeHeaders(acceptHeaders(key.trim(), decision.protocol, decision.extensions));
      }),
      RUNS,
    );
  });

  it('records a report for every decision without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(gate, request, async (g, handshake) => {
        const decision = await g.decide(handshake, {});
        if (decision.kind === 'pass') return;
        const record = g.report(handshake, decision, { startedAt: performance.now() });
        expect(record.outcome).toBe(decision.kind === 'accept' ? 'accepted' : 'rejected');
        expect(() => JSON.stringify(record)).not.toThrow();
      }),
      RUNS,
    );
  });
});
