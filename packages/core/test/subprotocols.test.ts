import { describe, expect, it } from 'vitest';
import {
  HandshakeError,
  MAX_SUBPROTOCOL_LENGTH,
  MAX_SUBPROTOCOLS_OFFERED,
  parseSubprotocols,
  selectSubprotocol,
  type WsGateOptions,
} from '../src/index.js';
import { minimalWith, run } from './fixtures.js';

/** `accept:<protocol>`, or the rejection code, for a client offering `offer`. */
async function negotiate(
  options: WsGateOptions<unknown>,
  offer: string | readonly string[] | undefined,
  req: unknown = {},
): Promise<string> {
  const { decision } = await run(options, minimalWith({ 'Sec-WebSocket-Protocol': offer }), {}, req);
  if (decision.kind === 'reject') return decision.error.code;
  if (decision.kind === 'accept') return `accept:${decision.protocol ?? '-'}`;
  return decision.kind;
}

const many = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`).join(', ');

describe('parsing Sec-WebSocket-Protocol', () => {
  const rows: ReadonlyArray<readonly [string, string | readonly string[], string]> = [
    ['one token', 'chat', 'accept:chat'],
    ['two lines', ['mqtt', 'chat'], 'accept:chat'],
    ['empty list elements are ignored', 'mqtt,, ,chat,', 'accept:chat'],
    ['tabs around elements', '\tmqtt\t,\tchat\t', 'accept:chat'],
    ['only commas', ',', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['only commas and spaces', ' , ,, ', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['an empty header', '', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['a space inside an element', 'chat v1', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['a quoted element', '"chat"', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['/ in an element', 'chat/1', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['= in an element', 'v=1', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['; in an element', 'chat;q=1', 'SUBPROTOCOL_HEADER_MALFORMED'],
    [': in an element', 'urn:chat', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['@ in an element', 'chat@1', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['a non-ASCII element', 'çhat', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['a control character', 'ch\u0001at', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['a valid token next to a bad one', 'chat, {x}', 'SUBPROTOCOL_HEADER_MALFORMED'],
    ['the same token twice', 'chat, chat', 'SUBPROTOCOL_DUPLICATE'],
    ['the same token on two lines', ['chat', 'chat'], 'SUBPROTOCOL_DUPLICATE'],
    ['two spellings are two tokens', 'chat, Chat', 'accept:chat'],
    [
      `${MAX_SUBPROTOCOLS_OFFERED} offers (the bound)`,
      `chat, ${many(MAX_SUBPROTOCOLS_OFFERED - 1)}`,
      'accept:chat',
    ],
    [
      `${MAX_SUBPROTOCOLS_OFFERED + 1} offers`,
      `chat, ${many(MAX_SUBPROTOCOLS_OFFERED)}`,
      'SUBPROTOCOL_HEADER_MALFORMED',
    ],
    ['a token at the length bound', `chat, ${'x'.repeat(MAX_SUBPROTOCOL_LENGTH)}`, 'accept:chat'],
    [
      'a token over the length bound',
      `chat, ${'x'.repeat(MAX_SUBPROTOCOL_LENGTH + 1)}`,
      'SUBPROTOCOL_HEADER_MALFORMED',
    ],
  ];
  it.each(rows)('%s (%j) → %s', async (_name, offer, expected) => {
    expect(await negotiate({ protocols: ['chat'] }, offer)).toBe(expected);
  });

  it('parseSubprotocols returns the offers in client order', () => {
    expect(parseSubprotocols(['b, a', 'c'])).toEqual({ ok: true, offered: ['b', 'a', 'c'] });
    expect(parseSubprotocols([])).toEqual({ ok: true, offered: [] });
  });

  it('the detail escapes control characters instead of echoing them', () => {
    const parsed = parseSubprotocols(['a\u0000b']);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.detail).toBe('"a\\u0000b" is not a token');
  });
});

describe('declarative selection', () => {
  it('prefers the server order by default', async () => {
    expect(await negotiate({ protocols: ['v2', 'v1'] }, 'v1, v2')).toBe('accept:v2');
  });

  it('prefers the client order with protocolPreference: client', async () => {
    expect(await negotiate({ protocols: ['v2', 'v1'], protocolPreference: 'client' }, 'v1, v2')).toBe(
      'accept:v1',
    );
  });

  it('matches tokens exactly and echoes the client spelling', async () => {
    expect(await negotiate({ protocols: ['chat.v1'] }, 'Chat.V1')).toBe('SUBPROTOCOL_UNSUPPORTED');
    expect(await negotiate({ protocols: ['Chat.V1'] }, 'Chat.V1')).toBe('accept:Chat.V1');
  });

  it('sends no subprotocol when the client offered none', async () => {
    expect(await negotiate({ protocols: ['chat'] }, undefined)).toBe('accept:-');
  });

  it('requires one with requireProtocol, listing the supported ones', async () => {
    const { decision, response } = await run(
      { protocols: ['chat.v2', 'chat.v1'], requireProtocol: true },
      minimalWith({}),
    );
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'SUBPROTOCOL_REQUIRED', status: 400 } });
    expect(JSON.parse(response?.body ?? '')).toMatchObject({ supported: ['chat.v2', 'chat.v1'] });
  });

  it('rejects no overlap by default, with the supported list in the body', async () => {
    const { decision, response } = await run(
      { protocols: ['chat'] },
      minimalWith({ 'Sec-WebSocket-Protocol': 'mqtt' }),
    );
    expect(decision).toMatchObject({
      kind: 'reject',
      error: { code: 'SUBPROTOCOL_UNSUPPORTED', status: 400 },
    });
    const body = JSON.parse(response?.body ?? '');
    expect(body).toMatchObject({ supported: ['chat'], detail: 'the client offered "mqtt"' });
  });

  it('rejects any offer when the endpoint speaks no subprotocol', async () => {
    const { response } = await run(undefined, minimalWith({ 'Sec-WebSocket-Protocol': 'mqtt' }));
    const body = JSON.parse(response?.body ?? '');
    expect(body).toMatchObject({ code: 'SUBPROTOCOL_UNSUPPORTED', supported: [] });
    expect(body.hint).toMatch(/without one/);
  });

  it("goes on without a subprotocol with onNoProtocolMatch: 'proceed'", async () => {
    expect(await negotiate({ protocols: ['chat'], onNoProtocolMatch: 'proceed' }, 'mqtt')).toBe('accept:-');
  });

  it('selectSubprotocol is pure', () => {
    expect(selectSubprotocol(['a', 'b'], ['b', 'a'], 'server')).toBe('a');
    expect(selectSubprotocol(['a', 'b'], ['b', 'a'], 'client')).toBe('b');
    expect(selectSubprotocol(['a'], ['c'], 'server')).toBeUndefined();
  });
});

describe('a selector (selectProtocol)', () => {
  it('gets the offers and the framework request, and may be async', async () => {
    const seen: unknown[] = [];
    const req = { id: 9 };
    const selectProtocol = async (offered: readonly string[], r: unknown) => {
      seen.push([...offered], r);
      return offered[1];
    };
    expect(await negotiate({ selectProtocol }, 'a, b', req)).toBe('accept:b');
    expect(seen).toEqual([['a', 'b'], req]);
  });

  it('is not called when the client offered nothing', async () => {
    const selectProtocol = () => {
      throw new Error('called');
    };
    expect(await negotiate({ selectProtocol }, undefined)).toBe('accept:-');
  });

  it('returning a value the client did not offer is SUBPROTOCOL_SELECTION_INVALID (500)', async () => {
    expect(await negotiate({ selectProtocol: () => 'c' }, 'a, b')).toBe('SUBPROTOCOL_SELECTION_INVALID');
    expect(await negotiate({ selectProtocol: () => 'A' }, 'a, b')).toBe('SUBPROTOCOL_SELECTION_INVALID');
    expect(await negotiate({ selectProtocol: () => 'a, b' }, 'a, b')).toBe('SUBPROTOCOL_SELECTION_INVALID');
    const notAString = (() => 42) as unknown as () => string;
    expect(await negotiate({ selectProtocol: notAString }, 'a')).toBe('SUBPROTOCOL_SELECTION_INVALID');
  });

  it('returning undefined follows onNoProtocolMatch', async () => {
    expect(await negotiate({ selectProtocol: () => undefined }, 'a')).toBe('SUBPROTOCOL_UNSUPPORTED');
    expect(await negotiate({ selectProtocol: () => undefined, onNoProtocolMatch: 'proceed' }, 'a')).toBe(
      'accept:-',
    );
  });

  it('throwing is HOOK_FAILED; throwing a HandshakeError rejects with it', async () => {
    const fails = () => {
      throw new Error('boom');
    };
    expect(await negotiate({ selectProtocol: fails }, 'a')).toBe('HOOK_FAILED');
    const forbids = () => {
      throw new HandshakeError('FORBIDDEN');
    };
    expect(await negotiate({ selectProtocol: forbids }, 'a')).toBe('FORBIDDEN');
  });

  it('takes precedence over protocols', async () => {
    expect(await negotiate({ protocols: ['a'], selectProtocol: () => 'b' }, 'a, b')).toBe('accept:b');
  });
});
