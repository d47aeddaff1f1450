import { describe, expect, it } from 'vitest';
import { type OriginPolicy, parseOrigin } from '../src/index.js';
import { type HeaderObject, minimalWith, type request, run } from './fixtures.js';

/** `accept`, or the rejection code, for a handshake with these extra headers. */
async function verdict(
  origins: OriginPolicy<unknown> | undefined,
  extra: HeaderObject,
  init: Parameters<typeof request>[1] = {},
): Promise<string> {
  const { decision } = await run(origins === undefined ? {} : { origins }, minimalWith(extra), init);
  return decision.kind === 'reject' ? decision.error.code : decision.kind;
}

describe('parseOrigin', () => {
  const rows: ReadonlyArray<readonly [string, string | undefined]> = [
    ['http://example.com', 'http://example.com'],
    ['HTTP://EXAMPLE.COM', 'http://example.com'],
    ['http://example.com:80', 'http://example.com'],
    ['https://example.com:443', 'https://example.com'],
    ['https://example.com:80', 'https://example.com:80'],
    ['http://example.com:0080', 'http://example.com'],
    ['http://localhost:5173', 'http://localhost:5173'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
    ['http://[2001:DB8::1]', 'http://[2001:db8::1]'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['wss://example.com:443', 'wss://example.com'],
    ['chrome-extension://abcdefghijklmnop', 'chrome-extension://abcdefghijklmnop'],
    ['tauri://localhost', 'tauri://localhost'],
    ['http://example.com/', undefined],
    ['http://example.com/path', undefined],
    ['http://user@example.com', undefined],
    ['http://example.com:99999', undefined],
    ['http://example.com:', undefined],
    ['http://example.com?x', undefined],
    ['http://exa mple.com', undefined],
    ['example.com', undefined],
    ['//example.com', undefined],
    ['http://', undefined],
    ['', undefined],
    ['null', undefined],
  ];
  it.each(rows)('%j → %j', (value, normalized) => {
    expect(parseOrigin(value)?.normalized).toBe(normalized);
  });
});

describe('same-origin (the default)', () => {
  const rows: ReadonlyArray<readonly [string, HeaderObject, Partial<{ secure: boolean }>, string]> = [
    ['no Origin', { Origin: undefined }, {}, 'accept'],
    ['the same host', { Origin: 'http://example.com' }, {}, 'accept'],
    ['the host in another case', { Origin: 'http://EXAMPLE.com', Host: 'Example.COM' }, {}, 'accept'],
    ['an explicit default port in Origin', { Origin: 'http://example.com:80' }, {}, 'accept'],
    [
      'an explicit default port in Host',
      { Origin: 'http://example.com', Host: 'example.com:80' },
      {},
      'accept',
    ],
    ['the same explicit port', { Origin: 'http://localhost:3000', Host: 'localhost:3000' }, {}, 'accept'],
    ['another port', { Origin: 'http://localhost:5173', Host: 'localhost:3000' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['https page, TLS connection', { Origin: 'https://example.com' }, { secure: true }, 'accept'],
    ['https page, plain connection (443 ≠ 80)', { Origin: 'https://example.com' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['IPv6 literal', { Origin: 'http://[::1]:3000', Host: '[::1]:3000' }, {}, 'accept'],
    ['another host', { Origin: 'http://evil.example' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['a subdomain', { Origin: 'http://www.example.com' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['Origin: null', { Origin: 'null' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['a malformed Origin (trailing slash)', { Origin: 'http://example.com/' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['a malformed Origin (no scheme)', { Origin: 'example.com' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['an empty Origin', { Origin: '' }, {}, 'ORIGIN_NOT_ALLOWED'],
    ['Origin twice', { Origin: ['http://example.com', 'http://example.com'] }, {}, 'ORIGIN_NOT_ALLOWED'],
    // Host is checked before the origin: a value that is not a host never reaches the comparison.
    ['a malformed Host', { Origin: 'http://example.com', Host: 'example.com/x' }, {}, 'HOST_INVALID'],
  ];
  it.each(rows)('%s → %s', async (_name, extra, init, expected) => {
    expect(await verdict(undefined, extra, init)).toBe(expected);
  });

  // The framework resolves host and scheme under its own trust-proxy setting (req.hostname and
  // req.protocol in Express, ctx.* in Koa, request.* in Fastify) and hands them over as `site`.
  describe('with the site the framework resolved (its trust-proxy setting applied)', () => {
    const proxied: HeaderObject = {
      Host: 'backend:3000',
      Origin: 'https://example.com',
      'X-Forwarded-Host': 'example.com',
      'X-Forwarded-Proto': 'https',
    };
    const trusted = { site: { hostname: 'example.com', protocol: 'https' } };
    const untrusted = { site: { hostname: 'backend', protocol: 'http' } };
    it('compares with the forwarded host when the framework trusts the proxy, with Host when not', async () => {
      expect(await verdict(undefined, proxied, trusted)).toBe('accept');
      expect(await verdict(undefined, proxied, untrusted)).toBe('ORIGIN_NOT_ALLOWED');
      expect(await verdict(undefined, { ...proxied, Origin: 'http://backend:3000' }, untrusted)).toBe(
        'accept',
      );
    });
    it('takes the port of the first (client-facing) forwarded element', async () => {
      const chained = { ...proxied, 'X-Forwarded-Host': 'example.com:8443, edge.internal' };
      expect(await verdict(undefined, { ...chained, Origin: 'https://example.com:8443' }, trusted)).toBe(
        'accept',
      );
      expect(await verdict(undefined, chained, trusted)).toBe('ORIGIN_NOT_ALLOWED');
    });
    it('takes the default port from the framework’s scheme', async () => {
      expect(await verdict(undefined, proxied, { site: { hostname: 'example.com', protocol: 'http' } })).toBe(
        'ORIGIN_NOT_ALLOWED',
      );
      expect(
        await verdict(
          undefined,
          { ...proxied, Origin: 'http://example.com' },
          {
            site: { hostname: 'example.com', protocol: 'http' },
          },
        ),
      ).toBe('accept');
    });
    it('never matches a forwarded value that is not a host', async () => {
      for (const forwarded of ['example.com/x', 'example.com:http', 'exa mple.com']) {
        const headers = { ...proxied, 'X-Forwarded-Host': forwarded };
        expect(await verdict(undefined, headers, trusted), forwarded).toBe('ORIGIN_NOT_ALLOWED');
      }
    });
    it('without a site, compares with Host and the connection only', async () => {
      expect(await verdict(undefined, { Origin: 'http://example.com' })).toBe('accept');
      const spoofed = { Origin: 'http://evil.example', 'X-Forwarded-Host': 'evil.example' };
      expect(await verdict(undefined, spoofed)).toBe('ORIGIN_NOT_ALLOWED');
    });
  });
});

describe('an allow-list', () => {
  const list = [
    'https://app.example.com',
    'http://localhost:5173',
    'https://*.preview.example.com',
    /^https:\/\/[a-z]+\.test$/g,
  ];
  const rows: ReadonlyArray<readonly [string, string]> = [
    ['https://app.example.com', 'accept'],
    ['https://APP.Example.COM', 'accept'],
    ['https://app.example.com:443', 'accept'],
    ['https://app.example.com:8443', 'ORIGIN_NOT_ALLOWED'],
    ['http://app.example.com', 'ORIGIN_NOT_ALLOWED'],
    ['http://localhost:5173', 'accept'],
    ['http://localhost:5174', 'ORIGIN_NOT_ALLOWED'],
    ['https://pr-1.preview.example.com', 'accept'],
    ['https://a.b.preview.example.com', 'accept'],
    ['https://preview.example.com', 'ORIGIN_NOT_ALLOWED'],
    ['https://evilpreview.example.com', 'ORIGIN_NOT_ALLOWED'],
    ['https://x.preview.example.com.evil.io', 'ORIGIN_NOT_ALLOWED'],
    ['http://x.preview.example.com', 'ORIGIN_NOT_ALLOWED'],
    ['https://x.preview.example.com:8443', 'ORIGIN_NOT_ALLOWED'],
    ['https://abc.test', 'accept'],
    ['https://abc.test:444', 'ORIGIN_NOT_ALLOWED'],
    ['http://example.com', 'ORIGIN_NOT_ALLOWED'],
    ['null', 'ORIGIN_NOT_ALLOWED'],
  ];
  it.each(rows)('%s → %s', async (origin, expected) => {
    expect(await verdict(list, { Origin: origin })).toBe(expected);
  });

  it('a global RegExp matches on every call (lastIndex is reset)', async () => {
    for (let i = 0; i < 3; i++) expect(await verdict(list, { Origin: 'https://abc.test' })).toBe('accept');
  });

  it('a wildcard with a port matches that port only; a default port is normalised away', async () => {
    expect(await verdict(['https://*.example.com:8443'], { Origin: 'https://a.example.com:8443' })).toBe(
      'accept',
    );
    expect(await verdict(['https://*.example.com:8443'], { Origin: 'https://a.example.com' })).toBe(
      'ORIGIN_NOT_ALLOWED',
    );
    expect(await verdict(['https://*.example.com:443'], { Origin: 'https://a.example.com' })).toBe('accept');
  });

  it("allows Origin: null only when 'null' is listed", async () => {
    expect(await verdict(['null'], { Origin: 'null' })).toBe('accept');
    expect(await verdict(['https://app.example.com'], { Origin: 'null' })).toBe('ORIGIN_NOT_ALLOWED');
  });

  it("a RegExp never lets Origin: null in; only 'null' does", async () => {
    expect(await verdict([/.*/], { Origin: 'null' })).toBe('ORIGIN_NOT_ALLOWED');
    expect(await verdict([/null/], { Origin: 'null' })).toBe('ORIGIN_NOT_ALLOWED');
    expect(await verdict([/.*/, 'null'], { Origin: 'null' })).toBe('accept');
    expect(await verdict([/.*/], { Origin: 'https://anything.example' })).toBe('accept');
  });

  it('allows origins of schemes without a default port (browser extensions, app shells)', async () => {
    const extension = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
    expect(await verdict([extension], { Origin: extension })).toBe('accept');
    expect(await verdict([extension], { Origin: 'chrome-extension://other' })).toBe('ORIGIN_NOT_ALLOWED');
    expect(await verdict(['tauri://localhost'], { Origin: 'tauri://localhost' })).toBe('accept');
  });

  it('a malformed Origin is rejected even when the list would match its prefix', async () => {
    expect(await verdict(['https://app.example.com'], { Origin: 'https://app.example.com/' })).toBe(
      'ORIGIN_NOT_ALLOWED',
    );
  });
});

describe("'*'", () => {
  it.each(['https://anything.example', 'http://localhost:1', 'null', 'moz-extension://5a1b2c3d'])(
    'allows %s',
    async (origin) => {
      expect(await verdict('*', { Origin: origin })).toBe('accept');
    },
  );
  it('still rejects a malformed or repeated Origin', async () => {
    expect(await verdict('*', { Origin: 'not an origin' })).toBe('ORIGIN_NOT_ALLOWED');
    expect(await verdict('*', { Origin: ['http://a.example', 'http://b.example'] })).toBe(
      'ORIGIN_NOT_ALLOWED',
    );
  });
});

describe('a function', () => {
  it('gets the normalised origin and the framework request; may be async', async () => {
    const seen: unknown[] = [];
    const req = { id: 1 };
    const policy = async (origin: string, r: unknown) => {
      seen.push(origin, r);
      return origin.endsWith('.example.com');
    };
    const ok = await run({ origins: policy }, minimalWith({ Origin: 'HTTPS://A.Example.com:443' }), {}, req);
    expect(ok.decision).toMatchObject({ kind: 'accept', origin: 'https://a.example.com' });
    expect(seen).toEqual(['https://a.example.com', req]);
    const no = await run({ origins: policy }, minimalWith({ Origin: 'https://a.example.org' }));
    expect(no.decision).toMatchObject({ kind: 'reject', error: { code: 'ORIGIN_NOT_ALLOWED' } });
  });

  it('is not called without an Origin', async () => {
    const { decision } = await run(
      {
        origins: () => {
          throw new Error('called');
        },
      },
      minimalWith({}),
    );
    expect(decision.kind).toBe('accept');
  });

  it('a throwing function is HOOK_FAILED, not a 403', async () => {
    const { decision } = await run(
      {
        origins: () => {
          throw new Error('lookup failed');
        },
      },
      minimalWith({ Origin: 'https://a.example.com' }),
    );
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'HOOK_FAILED', status: 500 } });
  });
});

describe('the 403', () => {
  it('names the received origin and the option, never the allow-list', async () => {
    const { decision, response } = await run(
      { origins: ['https://secret-admin.example.com'] },
      minimalWith({ Origin: 'https://evil.example' }),
    );
    expect(decision).toMatchObject({ kind: 'reject', origin: 'https://evil.example' });
    const body = JSON.parse(response?.body ?? '');
    expect(body).toMatchObject({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(body.hint).toContain('"https://evil.example"');
    expect(body.hint).toContain('`origins`');
    expect(response?.body).not.toContain('secret-admin');
  });

  // One row per policy kind that can refuse: the hint names what to change for that policy.
  const hints: ReadonlyArray<
    readonly [string, OriginPolicy<unknown> | undefined, RegExp, RegExp | undefined]
  > = [
    [
      'same-origin (the default)',
      undefined,
      /`origins` option, or open the page from the same host/,
      undefined,
    ],
    ['a list', ['http://localhost:5173'], /not in this endpoint's `origins` list: add it there/, /same host/],
    [
      'a list of patterns',
      ['https://*.example.com', /^https:\/\/app\d\.test$/],
      /`origins` list/,
      /same host/,
    ],
    [
      'a function',
      () => false,
      /`origins` function did not allow the origin "https:\/\/evil.example"/,
      /same host/,
    ],
  ];
  it.each(hints)('hints at what to change for %s', async (_name, origins, hint, notHint) => {
    const { decision } = await run(
      origins === undefined ? undefined : { origins },
      minimalWith({ Origin: 'https://evil.example' }),
    );
    expect(decision).toMatchObject({ kind: 'reject', error: { code: 'ORIGIN_NOT_ALLOWED' } });
    const given = decision.kind === 'reject' ? decision.error.hint : undefined;
    expect(given).toMatch(hint);
    expect(given).toContain('"https://evil.example"');
    if (notHint) expect(given).not.toMatch(notHint);
  });

  it('says why a null, malformed or repeated Origin failed', async () => {
    const detail = async (origin: string | string[]) => {
      const { decision } = await run(undefined, minimalWith({ Origin: origin }));
      return decision.kind === 'reject' ? decision.error.detail : undefined;
    };
    expect(await detail('null')).toMatch(/opaque/);
    expect(await detail('http://x/')).toMatch(/malformed/);
    expect(await detail(['http://a', 'http://b'])).toMatch(/repeated/);
  });
});
