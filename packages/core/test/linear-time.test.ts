/**
 * Every parser of client bytes handles adversarial input up to Node's header limit (16 KiB) in
 * linear time. Each header a rule reads gets worst-case shapes for backtracking and rescanning —
 * long runs of the separators and padding the parsers split and trim on, each followed by a byte
 * that makes the match fail at the end — and the whole decision (checks, origin, negotiation,
 * diagnosis, rendering) runs on it.
 *
 * The bound is not a benchmark: a linear pass over one such request (eight decisions, sixteen
 * renderings) takes 1–20 ms here even on a loaded machine, and the quadratic trim this suite was
 * written for took 1,900–3,500 ms on the same requests. The bound sits between the two with a
 * margin of at least four either way, and a case counts as slow only if it is slow three times in
 * a row (a GC pause or a busy machine does not fail it).
 */
import { describe, expect, it } from 'vitest';
import {
  createGate,
  diagnose,
  type Gate,
  isToken,
  isValidHeader,
  negotiateExtensions,
  parseExtensions,
  parseHost,
  parseList,
  parseOrigin,
  parseSubprotocols,
  prefersJson,
  RequestHeaders,
  type WsGateOptions,
} from '../src/index.js';
import { type HeaderObject, minimalHeaders, request } from './fixtures.js';

/** Room for one adversarial value inside Node's 16 KiB header limit, next to a minimal handshake. */
const SIZE = 16_000;
/** Milliseconds one whole decision on one adversarial request may take. */
const BOUND_MS = 250;

/** A run of `unit` filling `SIZE` characters, then `tail`. */
const run = (unit: string, tail: string) => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE) + tail;

/** 2,000 distinct list tokens (`t0,t1,…,t1999`, about 11 KB). */
const TWO_THOUSAND = Array.from({ length: 2_000 }, (_, i) => `t${i}`).join(',');

/**
 * Shapes that make a backtracking or rescanning parser slow: runs of what the header grammars
 * split on, trim, quote or escape, and prefixes the diagnosis rules look for, each followed by a
 * byte that fails the match only at the end.
 */
const SHAPES: ReadonlyArray<readonly [name: string, value: string]> = [
  ['spaces, then a token', run(' ', 'upgrade')],
  ['tabs, then a token', run('\t', 'websocket')],
  ['spaces, then a control byte', run(' ', '\u0001')],
  ['spaces and tabs, then a token', run(' \t', 'a')],
  ['a token, then spaces', run('a', `${' '.repeat(200)}\u0001`)],
  ['a token, then a NUL', run('a', '\u0000')],
  ['commas, then a token', run(',', 'a')],
  ['comma-space pairs', run(', ', 'a')],
  ['space-comma pairs', run(' ,', ' ')],
  ['comma-tab pairs', run(',\t', '"')],
  ['tokens and commas', run('a,', '"')],
  ['semicolons', run(';', 'a')],
  ['semicolon-space pairs', run('; ', '=')],
  ['equals signs', run('=', 'a')],
  ['parameters without values', run('a;', '=')],
  ['parameters with values', run(';a=1', ';')],
  ['quotes', run('"', 'a')],
  ['escapes in a quoted string', `a;b="${run('\\"', '')}`],
  ['backslashes', run('\\', '"')],
  ['colons', run(':', 'a')],
  ['brackets and colons', `[${run(':', '')}`],
  ['dots', run('.', '!')],
  ['labels and dots', run('a.', '!')],
  ['hyphens', run('-', '/')],
  ['wildcard labels', run('*.', 'a')],
  ['percent signs', run('%', 'a')],
  ['half percent-escapes', run('%4', 'g')],
  ['digits', run('1', 'a')],
  ['zeros', run('0', 'x')],
  ['an origin with a long host', `http://${run('a', '/')}`],
  ['an origin with a long scheme', `${run('a', '')}://example.com/`],
  ['an origin with a long port', `http://example.com:${run('1', '')}`],
  ['an IPv6 origin that never closes', `http://[${run(':', '')}`],
  ['a host with a long port', `example.com:${run('1', '')}`],
  ['media ranges', run('*/*;', 'q')],
  ['quality values', run(';q=0', ',')],
  ['JSON ranges', run('application/json;q=0,', '*')],
  ['user-agent prefixes', run('PostmanRuntime', ' ')],
  ['health-check prefixes', run('Consul Healt', 'x')],
  ['curl prefixes', run('curl', '/')],
  ['navigate prefixes', run('navigat', 'x')],
  ['html prefixes', run('text/htm', 'x')],
  ['cloudflare prefixes', run('cloudflar', 'x')],
  ['deflate offers', run('permessage-deflate,', ';')],
  ['deflate parameters', `permessage-deflate${run('; client_max_window_bits', '=16')}`],
  ['window-bits values', `permessage-deflate; server_max_window_bits=${run('1', '')}`],
  ['subprotocol tokens', run('chat.v1,', ' a b')],
  // Distinct tokens, so that no duplicate stops the scan early (issue #12: a 2,000-token list).
  ['2,000 distinct tokens', TWO_THOUSAND],
  ['2,000 distinct tokens, then a space', `${TWO_THOUSAND} x`],
  ['one offer with 2,000 parameters', `permessage-deflate; ${TWO_THOUSAND.replaceAll(',', '; ')}`],
  ['high bytes', run('\u00ff', '\u0001')],
];

/**
 * Each shape as the whole value, and after a leading token: Node strips leading whitespace from a
 * header value, and an anchored `^[ \t]+` consumes a leading run in one go, but a run inside the
 * value is where `[ \t]+$` retries from every character.
 */
const VALUES = SHAPES.flatMap(([name, value]) => [
  [name, value],
  [`token, then ${name}`, `a${value}`],
  [`list element, then ${name}`, `upgrade, a${value}`],
]) as ReadonlyArray<readonly [string, string]>;

/** Every header a check, negotiation or diagnosis rule reads. */
const HEADERS = [
  'Connection',
  'Upgrade',
  'Host',
  'Origin',
  'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Extensions',
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'Content-Length',
  'Transfer-Encoding',
  'Accept',
  'User-Agent',
  'CDN-Loop',
  'Sec-Fetch-Mode',
  'X-Forwarded-Host',
  'X-Forwarded-Proto',
  'Via',
] as const;

/** Option sets that send a request down every path: each origin policy kind, negotiation, trust. */
const OPTIONS: ReadonlyArray<WsGateOptions> = [
  {},
  { protocols: ['chat.v2', 'chat.v1'], requireProtocol: true },
  {
    origins: ['https://app.example.com', 'https://*.example.com', 'null'],
    protocols: ['chat.v1'],
    protocolPreference: 'client',
  },
  { origins: '*', perMessageDeflate: false, onNoProtocolMatch: 'proceed' },
];
const gates: Gate[] = OPTIONS.map((options) => createGate(options));

/** The whole decision for one request, through every gate, rendered both ways, and diagnosed. */
async function decideEverything(headers: HeaderObject): Promise<void> {
  for (const arrival of ['upgrade', 'request'] as const) {
    const handshake = request(headers, { arrival });
    for (const gate of gates) {
      const decision = await gate.decide(handshake, undefined);
      if (decision.kind === 'reject') {
        gate.render(decision, handshake);
        gate.render(decision, request({ ...headers, Accept: 'text/plain' }, { arrival }));
      }
    }
    diagnose(handshake);
  }
}

/** The direct parsers, on the value alone. */
function parseEverything(value: string): void {
  parseList([value, value]);
  parseSubprotocols([value]);
  const extensions = parseExtensions([value]);
  if (extensions.ok) negotiateExtensions(extensions.offers, true);
  parseOrigin(value);
  parseHost(value);
  prefersJson(RequestHeaders.fromObject({ Accept: value }));
  isValidHeader('X-Test', value);
  isToken(value);
}

/** The fastest of up to three runs, in milliseconds: only a case slow every time counts. */
async function fastest(work: () => unknown): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3 && best > BOUND_MS; attempt++) {
    const started = performance.now();
    await work();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('linear time on adversarial 16 KiB input', () => {
  it.each(HEADERS)('%s: every shape is decided within the bound', async (name) => {
    const slow: string[] = [];
    for (const [shape, value] of VALUES) {
      const ms = await fastest(() => decideEverything({ ...minimalHeaders, [name]: value }));
      if (ms > BOUND_MS) slow.push(`${shape}: ${ms.toFixed(0)} ms`);
    }
    expect(slow, `${name} took more than ${BOUND_MS} ms`).toEqual([]);
  });

  it('each parser on its own, every shape', async () => {
    const slow: string[] = [];
    for (const [shape, value] of VALUES) {
      const ms = await fastest(() => parseEverything(value));
      if (ms > BOUND_MS) slow.push(`${shape}: ${ms.toFixed(0)} ms`);
    }
    expect(slow).toEqual([]);
  });

  it('two thousand headers (Node’s default maxHeadersCount), names the rules scan', async () => {
    const raw: string[] = [];
    for (const [name, value] of Object.entries(minimalHeaders)) raw.push(name, value as string);
    for (let i = 0; i < 2_000; i++) raw.push(i % 2 ? `X-Forwarded-${i}` : `sec-websocket-x${i}`, 'a');
    const ms = await fastest(async () => {
      for (const gate of gates) await gate.decide(request(raw), undefined);
      diagnose(request(raw));
    });
    expect(ms).toBeLessThan(BOUND_MS);
  });
});
