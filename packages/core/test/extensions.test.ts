import { describe, expect, it } from 'vitest';
import {
  checkPerMessageDeflateOffer,
  formatExtensions,
  MAX_EXTENSION_OFFERS,
  negotiateExtensions,
  parseExtensions,
} from '../src/index.js';
import { chromeHeaders, firefoxHeaders, minimalWith, run } from './fixtures.js';

/** The extensions handed on (`-` for none), or the rejection code. */
async function offer(value: string | readonly string[], perMessageDeflate = true): Promise<string> {
  const { decision } = await run({ perMessageDeflate }, minimalWith({ 'Sec-WebSocket-Extensions': value }));
  if (decision.kind === 'reject') return decision.error.code;
  if (decision.kind === 'accept') return decision.extensions ?? '-';
  return decision.kind;
}

describe('parseExtensions (RFC 6455 §9.1)', () => {
  it('reads names and parameters in order', () => {
    expect(
      parseExtensions(['permessage-deflate; client_max_window_bits=15; server_no_context_takeover, x-foo']),
    ).toEqual({
      ok: true,
      offers: [
        {
          name: 'permessage-deflate',
          params: [
            ['client_max_window_bits', '15'],
            ['server_no_context_takeover', true],
          ],
        },
        { name: 'x-foo', params: [] },
      ],
    });
  });

  it('unescapes quoted values, skips empty elements and OWS', () => {
    expect(parseExtensions([' , permessage-deflate ;\tclient_max_window_bits = "10" ,, ', 'x'])).toEqual({
      ok: true,
      offers: [
        { name: 'permessage-deflate', params: [['client_max_window_bits', '10']] },
        { name: 'x', params: [] },
      ],
    });
    expect(parseExtensions(['a; b="\\1\\0"'])).toEqual({
      ok: true,
      offers: [{ name: 'a', params: [['b', '10']] }],
    });
  });

  const malformed: ReadonlyArray<readonly [string, string]> = [
    ['a trailing ;', 'permessage-deflate;'],
    ['a leading ;', '; client_max_window_bits'],
    ['a space inside a name', 'permessage deflate'],
    ['no value after =', 'permessage-deflate; client_max_window_bits='],
    ['an unterminated quote', 'permessage-deflate; client_max_window_bits="10'],
    ['a quoted value that is not a token', 'permessage-deflate; x="a b"'],
    ['an empty quoted value', 'permessage-deflate; x=""'],
    ['a second =', 'permessage-deflate; x=1=2'],
    ['a separator as a name', '@'],
    ['a value without a parameter name', 'permessage-deflate; =10'],
    ['a non-ASCII name', 'pérmessage-deflate'],
    ['a quoted name', '"permessage-deflate"'],
    [
      `more than ${MAX_EXTENSION_OFFERS} offers`,
      Array.from({ length: MAX_EXTENSION_OFFERS + 1 }, (_, i) => `x${i}`).join(','),
    ],
  ];
  it.each(malformed)('%s (%j) → EXTENSIONS_HEADER_MALFORMED', async (_name, value) => {
    expect(parseExtensions([value]).ok).toBe(false);
    expect(await offer(value)).toBe('EXTENSIONS_HEADER_MALFORMED');
  });

  it('is malformed whatever perMessageDeflate says', async () => {
    expect(await offer('permessage-deflate;', false)).toBe('EXTENSIONS_HEADER_MALFORMED');
  });

  it('an empty header has no offers and is not a failure', async () => {
    expect(parseExtensions([''])).toEqual({ ok: true, offers: [] });
    expect(await offer('')).toBe('-');
  });
});

describe('permessage-deflate offers (RFC 7692 §7)', () => {
  const declined: ReadonlyArray<readonly [string, string]> = [
    ['an unknown parameter', 'permessage-deflate; foo'],
    ['a repeated parameter', 'permessage-deflate; client_max_window_bits; client_max_window_bits'],
    [
      'a repeated parameter in another case',
      'permessage-deflate; server_no_context_takeover; SERVER_NO_CONTEXT_TAKEOVER',
    ],
    ['a value on server_no_context_takeover', 'permessage-deflate; server_no_context_takeover=1'],
    ['a value on client_no_context_takeover', 'permessage-deflate; client_no_context_takeover="true"'],
    ['client_max_window_bits=7', 'permessage-deflate; client_max_window_bits=7'],
    ['client_max_window_bits=16', 'permessage-deflate; client_max_window_bits=16'],
    ['client_max_window_bits=0', 'permessage-deflate; client_max_window_bits=0'],
    ['client_max_window_bits=09 (leading zero)', 'permessage-deflate; client_max_window_bits=09'],
    ['server_max_window_bits=010 (leading zero)', 'permessage-deflate; server_max_window_bits=010'],
    ['server_max_window_bits=16', 'permessage-deflate; server_max_window_bits=16'],
    ['server_max_window_bits=8 (zlib cannot honour it)', 'permessage-deflate; server_max_window_bits=8'],
    ['server_max_window_bits without a value', 'permessage-deflate; server_max_window_bits'],
    ['a non-numeric window', 'permessage-deflate; client_max_window_bits=ten'],
  ];
  it.each(declined)('declines %s, never failing the handshake', async (_name, value) => {
    expect(await offer(value)).toBe('-');
    const parsed = parseExtensions([value]);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(checkPerMessageDeflateOffer(parsed.offers[0] as (typeof parsed.offers)[0])).toEqual(
      expect.any(String),
    );
  });

  const kept: ReadonlyArray<readonly [string, string, string]> = [
    [
      "Chrome's offer",
      'permessage-deflate; client_max_window_bits',
      'permessage-deflate; client_max_window_bits',
    ],
    ["Firefox's offer", 'permessage-deflate', 'permessage-deflate'],
    [
      'every parameter, valid',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8',
    ],
    [
      'windows at the bounds',
      'permessage-deflate; server_max_window_bits=15; client_max_window_bits=15',
      'permessage-deflate; server_max_window_bits=15; client_max_window_bits=15',
    ],
    [
      'a quoted window, handed on unquoted',
      'permessage-deflate; client_max_window_bits="10"',
      'permessage-deflate; client_max_window_bits=10',
    ],
    [
      'an invalid offer, then a valid fallback',
      'permessage-deflate; foo, permessage-deflate',
      'permessage-deflate',
    ],
    ['an unknown extension is ignored', 'x-webkit-deflate-frame, permessage-deflate', 'permessage-deflate'],
    [
      'two valid offers, in client order',
      'permessage-deflate; client_max_window_bits=10, permessage-deflate',
      'permessage-deflate; client_max_window_bits=10, permessage-deflate',
    ],
    [
      'names in another case, handed on in the spelling ws expects',
      'PerMessage-Deflate; Client_Max_Window_Bits=10; SERVER_NO_CONTEXT_TAKEOVER',
      'permessage-deflate; client_max_window_bits=10; server_no_context_takeover',
    ],
  ];
  it.each(kept)('keeps %s', async (_name, value, expected) => {
    expect(await offer(value)).toBe(expected);
  });

  it('keeps Chrome and Firefox offers end to end through the gate', async () => {
    const chrome = await run({ perMessageDeflate: true }, chromeHeaders);
    expect(chrome.decision).toMatchObject({
      kind: 'accept',
      extensions: 'permessage-deflate; client_max_window_bits',
    });
    const firefox = await run({ perMessageDeflate: true }, firefoxHeaders);
    expect(firefox.decision).toMatchObject({ kind: 'accept', extensions: 'permessage-deflate' });
  });

  it('hands nothing on when perMessageDeflate is off', async () => {
    expect(await offer('permessage-deflate; client_max_window_bits', false)).toBe('-');
  });

  it('negotiateExtensions reports each declined offer with its reason', () => {
    const parsed = parseExtensions([
      'x-foo, permessage-deflate; server_max_window_bits=8, permessage-deflate',
    ]);
    if (!parsed.ok) throw new Error(parsed.reason);
    const result = negotiateExtensions(parsed.offers, true);
    expect(formatExtensions(result.accepted)).toBe('permessage-deflate');
    expect(result.declined).toEqual([
      { offer: 'x-foo', reason: 'unknown extension' },
      { offer: 'permessage-deflate; server_max_window_bits=8', reason: expect.stringMatching(/zlib/) },
    ]);
    expect(negotiateExtensions(parsed.offers, false).declined[2]).toEqual({
      offer: 'permessage-deflate',
      reason: 'permessage-deflate is disabled',
    });
  });
});
