/**
 * Diagnosis (docs/design.md, "Diagnosis"): each row is a request as the proxy or client really sends it,
 * run through the gate on the path it arrives on (Node delivers all of these to `'request'`).
 */
import { describe, expect, it } from 'vitest';
import { catalog, diagnose, type HandshakeErrorCode } from '../src/index.js';
import { type HeaderObject, KEY, request, run } from './fixtures.js';

const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** What a browser's handshake still carries after a proxy removed the hop-by-hop headers. */
const browserRest: HeaderObject = {
  Pragma: 'no-cache',
  'Cache-Control': 'no-cache',
  'User-Agent': UA,
  Origin: 'https://example.com',
  'Sec-WebSocket-Version': '13',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Accept-Language': 'en-US,en;q=0.9',
  'Sec-WebSocket-Key': KEY,
  'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
};

const NGINX_VERSION = 'proxy_http_version 1.1;';
const NGINX_UPGRADE = 'proxy_set_header Upgrade $http_upgrade;';
const NGINX_CONNECTION = 'proxy_set_header Connection "upgrade";';

interface ProxyRow {
  readonly name: string;
  readonly httpVersion?: string;
  readonly headers: HeaderObject | readonly string[];
  readonly code: HandshakeErrorCode;
  readonly proxy: string;
  readonly confidence?: string;
  /** Strings the hint must contain (the fix lines). */
  readonly fix: readonly string[];
}

const proxyRows: ProxyRow[] = [
  {
    name: 'nginx default proxy_pass: HTTP/1.0, Connection: close, Host = upstream',
    httpVersion: '1.0',
    headers: { Host: '127.0.0.1:3000', Connection: 'close', ...browserRest },
    code: 'HTTP_VERSION_TOO_OLD',
    proxy: 'nginx',
    confidence: 'high',
    fix: [NGINX_VERSION, NGINX_UPGRADE, NGINX_CONNECTION],
  },
  {
    name: 'nginx with proxy_http_version 1.1 but without the proxy_set_header lines',
    headers: { Host: 'backend', Connection: 'close', ...browserRest },
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'nginx',
    fix: [NGINX_UPGRADE, NGINX_CONNECTION],
  },
  {
    name: 'nginx with the Upgrade line but not the Connection line',
    headers: { Host: 'backend', Upgrade: 'websocket', Connection: 'close', ...browserRest },
    code: 'CONNECTION_UPGRADE_MISSING',
    proxy: 'nginx',
    fix: [NGINX_CONNECTION],
  },
  {
    name: 'nginx with the Connection line but not the Upgrade line',
    headers: { Host: 'backend', Connection: 'upgrade', ...browserRest },
    code: 'UPGRADE_HEADER_MISSING',
    proxy: 'nginx',
    fix: [NGINX_UPGRADE],
  },
  {
    name: 'Apache mod_proxy_http without WebSocket',
    headers: {
      Host: 'example.com',
      ...browserRest,
      'X-Forwarded-For': '203.0.113.9',
      'X-Forwarded-Host': 'example.com',
      'X-Forwarded-Server': 'example.com',
      Connection: 'Keep-Alive',
    },
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'apache',
    confidence: 'high',
    fix: ['upgrade=websocket', 'RewriteCond %{HTTP:Upgrade} websocket [NC]', '[P,L]'],
  },
  {
    name: 'HAProxy: every header name lower-case',
    headers: [
      'host',
      'example.com',
      'user-agent',
      UA,
      'origin',
      'https://example.com',
      'sec-websocket-version',
      '13',
      'sec-websocket-key',
      KEY,
      'sec-websocket-extensions',
      'permessage-deflate; client_max_window_bits',
      'x-forwarded-for',
      '203.0.113.9',
    ],
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'haproxy',
    confidence: 'low',
    fix: ['HAProxy'],
  },
  {
    name: 'Caddy: Go-style names, Accept-Encoding: gzip, X-Forwarded-Proto',
    headers: [
      'Host',
      'example.com',
      'User-Agent',
      UA,
      'Origin',
      'https://example.com',
      'Sec-Websocket-Version',
      '13',
      'Sec-Websocket-Key',
      KEY,
      'Sec-Websocket-Extensions',
      'permessage-deflate; client_max_window_bits',
      'X-Forwarded-For',
      '203.0.113.9',
      'X-Forwarded-Host',
      'example.com',
      'X-Forwarded-Proto',
      'https',
      'Accept-Encoding',
      'gzip',
    ],
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'caddy',
    fix: ['Caddy'],
  },
  {
    // What real Caddy 2.6 sends for Chromium: the browser's Accept-Encoding, not Go's default gzip.
    name: "Caddy: Go-style names, X-Forwarded-Proto, a browser's own Accept-Encoding",
    headers: [
      'Host',
      'example.com',
      'User-Agent',
      UA,
      'Accept-Encoding',
      'gzip, deflate, br, zstd',
      'Origin',
      'https://example.com',
      'Sec-Websocket-Extensions',
      'permessage-deflate; client_max_window_bits',
      'Sec-Websocket-Key',
      KEY,
      'Sec-Websocket-Version',
      '13',
      'X-Forwarded-For',
      '203.0.113.9',
      'X-Forwarded-Host',
      'example.com',
      'X-Forwarded-Proto',
      'https',
    ],
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'caddy',
    fix: ['Caddy'],
  },
  {
    name: 'Cloudflare: CF-Ray and CDN-Loop',
    headers: {
      Host: 'example.com',
      Connection: 'Keep-Alive',
      ...browserRest,
      'Accept-Encoding': 'gzip, br',
      'CF-Ray': '8f1c2a3b4c5d6e7f-AMS',
      'CF-Connecting-IP': '203.0.113.9',
      'CF-IPCountry': 'NL',
      'CF-Visitor': '{"scheme":"https"}',
      'CDN-Loop': 'cloudflare',
      'X-Forwarded-For': '203.0.113.9',
      'X-Forwarded-Proto': 'https',
    },
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'cloudflare',
    confidence: 'high',
    fix: ['WebSockets'],
  },
  {
    name: 'AWS ALB: X-Amzn-Trace-Id',
    headers: {
      Host: 'example.com',
      ...browserRest,
      'X-Forwarded-For': '203.0.113.9',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Port': '443',
      'X-Amzn-Trace-Id': 'Root=1-67891233-abcdef012345678912345678',
    },
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'aws-alb',
    fix: ['Application Load Balancer'],
  },
  {
    name: 'AWS CloudFront: X-Amz-Cf-Id and Via',
    headers: {
      Host: 'origin.example.com',
      ...browserRest,
      'User-Agent': 'Amazon CloudFront',
      Via: '2.0 3e2a1f0d9c8b7a6.cloudfront.net (CloudFront)',
      'X-Amz-Cf-Id': 'Vbx5Zq0s5kqQ2Hq2V2aK9m8mX0fA1bG7wQyR2mXo3Yp1hZ6aQ1w==',
      'X-Forwarded-For': '203.0.113.9',
    },
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'cloudfront',
    fix: ['Sec-WebSocket-*'],
  },
  {
    name: 'a generic proxy: Via',
    headers: { Host: 'example.com', ...browserRest, Via: '1.1 squid-proxy (squid/5.7)' },
    code: 'UPGRADE_HEADERS_STRIPPED',
    proxy: 'proxy',
    fix: ['Upgrade and Connection'],
  },
  {
    name: 'a header allow-list: Upgrade arrived, Sec-WebSocket-Key/-Version did not',
    headers: {
      Host: 'example.com',
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      Origin: 'https://example.com',
    },
    code: 'WEBSOCKET_VERSION_MISSING',
    proxy: 'header-allow-list',
    fix: ['Sec-WebSocket-Key, Sec-WebSocket-Version'],
  },
];

describe('naming the intermediary', () => {
  it.each(proxyRows)('$name → $code, proxy $proxy', async (row) => {
    const { decision } = await run(undefined, row.headers, {
      arrival: 'request',
      httpVersion: row.httpVersion ?? '1.1',
    });
    expect(decision.kind).toBe('reject');
    if (decision.kind !== 'reject') return;
    expect(decision.error.code).toBe(row.code);
    expect(decision.error.status).toBe(catalog[row.code].status);
    const proxy = decision.diagnosis?.proxy;
    expect(proxy?.id).toBe(row.proxy);
    if (row.confidence) expect(proxy?.confidence).toBe(row.confidence);
    expect(proxy?.evidence.length).toBeGreaterThan(0);
    const hint = decision.error.hint ?? '';
    expect(hint).toContain(proxy?.name);
    expect(hint).toContain(`${proxy?.confidence} confidence`);
    for (const evidence of proxy?.evidence ?? []) expect(hint).toContain(evidence);
    for (const line of row.fix) expect(hint).toContain(line);
    expect(decision.diagnosis?.client).toBeUndefined();
  });

  it('the nginx hint reaches the client in the body', async () => {
    const { response } = await run(
      undefined,
      { Host: '127.0.0.1:3000', Connection: 'close', ...browserRest },
      { arrival: 'request', httpVersion: '1.0' },
    );
    const body = JSON.parse(response?.body ?? '');
    for (const line of [NGINX_VERSION, NGINX_UPGRADE, NGINX_CONNECTION]) expect(body.hint).toContain(line);
  });

  it('a stripped handshake with no proxy evidence keeps the catalog hint', async () => {
    // Newer nginx (1.29.7+) talks HTTP/1.1 keep-alive upstream: no Connection: close to go by.
    const { decision } = await run(
      undefined,
      { Host: 'backend:3000', ...browserRest },
      { arrival: 'request' },
    );
    expect(decision).toMatchObject({
      kind: 'reject',
      error: { code: 'UPGRADE_HEADERS_STRIPPED', hint: catalog.UPGRADE_HEADERS_STRIPPED.hint },
      diagnosis: { proxy: undefined, client: undefined },
    });
  });

  it('nginx with X-Forwarded-* set is not taken for the default config', () => {
    const diagnosis = diagnose(
      request(
        { Host: 'backend', Connection: 'close', ...browserRest, 'X-Forwarded-For': '203.0.113.9' },
        { httpVersion: '1.0' },
      ),
    );
    expect(diagnosis.proxy?.id).toBe('proxy');
  });

  it('Go-style names alone are not Caddy', () => {
    const diagnosis = diagnose(
      request(['Host', 'h', 'Sec-Websocket-Key', KEY, 'Sec-Websocket-Version', '13']),
    );
    expect(diagnosis.proxy).toBeUndefined();
  });

  it('CDN-Loop: cloudflare alone names Cloudflare', () => {
    const diagnosis = diagnose(request({ Host: 'h', ...browserRest, 'CDN-Loop': 'cloudflare; loops=1' }));
    expect(diagnosis.proxy).toMatchObject({ id: 'cloudflare', evidence: ['CDN-Loop: cloudflare; loops=1'] });
  });
});

interface ClientRow {
  readonly name: string;
  readonly headers: HeaderObject;
  readonly client: string;
  /** A string the hint must contain. */
  readonly fix: string;
}

/** Chrome opening the URL as a page. */
const browserTab: HeaderObject = {
  Host: 'example.com',
  Connection: 'keep-alive',
  'sec-ch-ua': '"Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"Linux"',
  'Upgrade-Insecure-Requests': '1',
  'User-Agent': UA,
  Accept:
    'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'Sec-Fetch-Site': 'none',
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-User': '?1',
  'Sec-Fetch-Dest': 'document',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Accept-Language': 'en-US,en;q=0.9',
};

const clientRows: ClientRow[] = [
  { name: 'a browser tab', headers: browserTab, client: 'browser-tab', fix: 'new WebSocket(' },
  {
    name: 'a browser tab without Sec-Fetch-* (older browser): Accept: text/html',
    headers: { Host: 'example.com', Accept: 'text/html,*/*;q=0.8', 'User-Agent': UA },
    client: 'browser-tab',
    fix: 'new WebSocket(',
  },
  {
    name: 'a browser tab through nginx configured for WebSocket (Connection: upgrade on every request)',
    headers: {
      ...browserTab,
      Connection: 'upgrade',
      'X-Real-IP': '203.0.113.9',
      'X-Forwarded-For': '203.0.113.9',
      'X-Forwarded-Proto': 'https',
    },
    client: 'browser-tab',
    fix: 'new WebSocket(',
  },
  {
    name: "Postman's HTTP mode",
    headers: {
      'User-Agent': 'PostmanRuntime/7.43.0',
      Accept: '*/*',
      'Postman-Token': '3c2b1a0f-1111-4d2c-9b8e-0123456789ab',
      Host: 'localhost:3000',
      'Accept-Encoding': 'gzip, deflate, br',
      Connection: 'keep-alive',
    },
    client: 'postman',
    fix: 'WebSocket request',
  },
  {
    name: 'curl',
    headers: { Host: 'localhost:3000', 'User-Agent': 'curl/8.5.0', Accept: '*/*' },
    client: 'curl',
    fix: 'Sec-WebSocket-Key',
  },
  {
    name: "Apifox's HTTP mode",
    headers: {
      'User-Agent': 'Apifox/1.0.0 (https://apifox.com)',
      Accept: '*/*',
      Host: 'localhost:3000',
      'Accept-Encoding': 'gzip, deflate, br',
      Connection: 'keep-alive',
    },
    client: 'apifox',
    fix: 'WebSocket request',
  },
  {
    name: 'a Kubernetes probe',
    headers: { Host: '10.0.0.7:3000', 'User-Agent': 'kube-probe/1.31', Accept: '*/*', Connection: 'close' },
    client: 'health-check',
    fix: '/health',
  },
  {
    name: 'an ALB health check',
    headers: { Host: '10.0.0.7:3000', 'User-Agent': 'ELB-HealthChecker/2.0', Connection: 'close' },
    client: 'health-check',
    fix: '/health',
  },
];

describe('naming the client of a plain GET', () => {
  it.each(clientRows)('$name → $client', async (row) => {
    const { decision, response } = await run(undefined, row.headers, { arrival: 'request' });
    expect(decision).toMatchObject({
      kind: 'reject',
      error: { code: 'NOT_A_WEBSOCKET_REQUEST', status: 426 },
    });
    if (decision.kind !== 'reject' || !response) return;
    expect(decision.diagnosis?.client?.id).toBe(row.client);
    expect(decision.error.hint).toContain(row.fix);
    expect(response.headers).toMatchObject({ Upgrade: 'websocket', Connection: 'Upgrade' });
  });

  it('an unknown plain client gets the catalog hint', async () => {
    const { decision } = await run(undefined, { Host: 'example.com' }, { arrival: 'request' });
    expect(decision).toMatchObject({
      error: { code: 'NOT_A_WEBSOCKET_REQUEST', hint: catalog.NOT_A_WEBSOCKET_REQUEST.hint },
    });
  });

  it('a handshake-shaped request is never given a client diagnosis', () => {
    const diagnosis = diagnose(
      request({ Host: 'h', 'User-Agent': 'curl/8.5.0', 'Sec-WebSocket-Version': '13' }),
    );
    expect(diagnosis.client).toBeUndefined();
  });

  it('diagnosis does not run for codes a proxy does not cause', async () => {
    const { decision } = await run(undefined, {
      Host: 'h',
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'short',
      Via: '1.1 squid',
    });
    expect(decision).toMatchObject({ error: { code: 'WEBSOCKET_KEY_INVALID' }, diagnosis: undefined });
  });
});
