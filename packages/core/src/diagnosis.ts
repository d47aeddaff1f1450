/**
 * Diagnosis: which intermediary broke a handshake, or which kind of client sent a plain GET.
 *
 * A proxy that drops `Upgrade`/`Connection` still forwards `Sec-WebSocket-*` and `Origin`; a plain
 * GET carries none of them. The fingerprints below were taken from real nginx 1.22, Apache 2.4,
 * HAProxy 2.6 and Caddy 2.6 in front of Node (docs/design.md, "Diagnosis"). Each rule is one entry:
 * a new proxy is one more object in {@link intermediaryRules}.
 */
import type { RequestHeaders } from './headers.js';
import type { HandshakeRequest } from './request.js';
import { hasWebSocketSigns } from './validate.js';

/** How sure a diagnosis is. */
export type Confidence = 'high' | 'medium' | 'low';

/** A named intermediary or client, with the headers that gave it away and what to change. */
export interface Finding {
  /** A stable id, e.g. `nginx`, `apache`, `postman`. Logged as `proxy` or `client`. */
  readonly id: string;
  /** Human name, e.g. `nginx (proxy_pass without WebSocket lines)`. */
  readonly name: string;
  readonly confidence: Confidence;
  /** The request facts that led here, e.g. `HTTP/1.0`, `Connection: close`. */
  readonly evidence: readonly string[];
  /** What to change, as configuration lines or one sentence. */
  readonly fix: readonly string[];
}

/** What diagnosis found out about a failed handshake. */
export interface Diagnosis {
  /** A proxy, load balancer or CDN on the way. */
  readonly proxy?: Finding | undefined;
  /** The kind of client. */
  readonly client?: Finding | undefined;
}

/** Facts about a request that the rules test. */
export interface RequestFacts {
  readonly httpVersion: string;
  readonly headers: RequestHeaders;
  /** `Sec-WebSocket-Key` or `-Version` arrived: a WebSocket client sent this. */
  readonly hasWebSocketHeaders: boolean;
  readonly hasUpgrade: boolean;
  readonly hasConnectionUpgrade: boolean;
  /** The `Connection` tokens, lower-cased. */
  readonly connection: readonly string[];
  /** Header names as spelled on the wire. */
  readonly names: readonly string[];
}

/** A diagnosis rule: returns the evidence when it matches, `undefined` otherwise. */
export interface Rule {
  readonly id: string;
  readonly name: string;
  readonly confidence: Confidence;
  readonly fix: readonly string[];
  match(facts: RequestFacts): readonly string[] | undefined;
}

const NGINX_LINES = {
  version: 'proxy_http_version 1.1;',
  upgrade: 'proxy_set_header Upgrade $http_upgrade;',
  connection: 'proxy_set_header Connection "upgrade";',
} as const;

const hasForwarded = (f: RequestFacts) => f.headers.names.some((n) => /^x-forwarded-/i.test(n));
const present = (f: RequestFacts, name: string) => f.headers.has(name);
const evidenceOf = (f: RequestFacts, ...names: string[]) =>
  names.filter((n) => present(f, n)).map((n) => `${n}: ${f.headers.get(n)}`);
const onlyWhen = (ok: boolean, evidence: readonly string[]) => (ok ? evidence : undefined);

/**
 * Intermediary fingerprints, most specific first. The first match names the proxy; CDN and load
 * balancer rules are independent markers and are tested after the proxy rules.
 */
export const intermediaryRules: readonly Rule[] = [
  {
    id: 'nginx',
    name: 'nginx: proxy_pass without the WebSocket lines',
    confidence: 'high',
    fix: [NGINX_LINES.version, NGINX_LINES.upgrade, NGINX_LINES.connection],
    match: (f) =>
      onlyWhen(
        f.hasWebSocketHeaders &&
          f.httpVersion === '1.0' &&
          f.connection.includes('close') &&
          !f.hasUpgrade &&
          !hasForwarded(f),
        ['HTTP/1.0', 'Connection: close', 'no Upgrade', 'no X-Forwarded-*'],
      ),
  },
  {
    id: 'nginx',
    name: 'nginx: proxy_http_version 1.1 without the two proxy_set_header lines',
    confidence: 'medium',
    fix: [NGINX_LINES.upgrade, NGINX_LINES.connection],
    match: (f) =>
      onlyWhen(
        f.hasWebSocketHeaders &&
          f.httpVersion === '1.1' &&
          f.connection.includes('close') &&
          !f.hasUpgrade &&
          !hasForwarded(f),
        ['HTTP/1.1', 'Connection: close', 'no Upgrade', 'no X-Forwarded-*'],
      ),
  },
  {
    id: 'nginx',
    name: 'nginx: the Connection "upgrade" line is missing',
    confidence: 'medium',
    fix: [NGINX_LINES.connection],
    match: (f) =>
      onlyWhen(f.hasWebSocketHeaders && f.hasUpgrade && f.connection.includes('close'), [
        `Upgrade: ${f.headers.get('upgrade')}`,
        'Connection: close',
      ]),
  },
  {
    id: 'nginx',
    name: 'nginx: the Upgrade $http_upgrade line is missing',
    confidence: 'medium',
    fix: [NGINX_LINES.upgrade],
    match: (f) =>
      onlyWhen(f.hasWebSocketHeaders && f.hasConnectionUpgrade && !f.hasUpgrade, [
        'Connection: upgrade',
        'no Upgrade',
      ]),
  },
  {
    id: 'apache',
    name: 'Apache httpd mod_proxy_http without WebSocket support',
    confidence: 'high',
    fix: [
      'ProxyPass /path ws://backend/path upgrade=websocket   (Apache 2.4.47+)',
      'or: RewriteEngine On',
      '    RewriteCond %{HTTP:Upgrade} websocket [NC]',
      '    RewriteCond %{HTTP:Connection} upgrade [NC]',
      '    RewriteRule ^/?(.*) ws://backend/$1 [P,L]',
    ],
    match: (f) =>
      onlyWhen(
        f.hasWebSocketHeaders &&
          f.connection.includes('keep-alive') &&
          present(f, 'x-forwarded-for') &&
          present(f, 'x-forwarded-host') &&
          present(f, 'x-forwarded-server'),
        [
          'Connection: Keep-Alive',
          ...evidenceOf(f, 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Server'),
        ],
      ),
  },
  {
    id: 'caddy',
    name: 'Caddy (or another Go reverse proxy)',
    confidence: 'medium',
    fix: [
      'Caddy forwards WebSocket upgrades by default: check for a handler that rewrites headers, or an HTTP/1.0 hop.',
    ],
    match: (f) =>
      // Go adds `Accept-Encoding: gzip` only when the client sent none; real Caddy 2.6 passes a
      // browser's own value on, so it is evidence when present, never required.
      onlyWhen(f.names.some((n) => n.startsWith('Sec-Websocket-')) && present(f, 'x-forwarded-proto'), [
        ...f.names.filter((n) => n.startsWith('Sec-Websocket-')),
        ...(f.headers.get('accept-encoding') === 'gzip' ? ['Accept-Encoding: gzip'] : []),
        ...evidenceOf(f, 'X-Forwarded-Proto'),
      ]),
  },
  {
    id: 'haproxy',
    name: 'HAProxy (or an HTTP/2 hop)',
    confidence: 'low',
    fix: [
      'HAProxy forwards WebSocket upgrades in "mode http" by default: check "option http-server-close" or header rules.',
    ],
    match: (f) =>
      onlyWhen(
        f.names.length > 1 &&
          f.names.every((n) => n === n.toLowerCase()) &&
          f.names.some((n) => /[a-z]/.test(n)),
        ['every header name is lower-case'],
      ),
  },
  {
    id: 'cloudflare',
    name: 'Cloudflare',
    confidence: 'high',
    fix: ['Enable WebSockets for the zone (Network → WebSockets) and proxy the path without transforms.'],
    match: (f) =>
      onlyWhen(
        present(f, 'cf-ray') || /cloudflare/i.test(f.headers.get('cdn-loop') ?? ''),
        evidenceOf(f, 'CF-Ray', 'CDN-Loop'),
      ),
  },
  {
    id: 'aws-alb',
    name: 'AWS Application Load Balancer',
    confidence: 'medium',
    fix: [
      'Use an Application Load Balancer listener with HTTP/1.1 to the target group; ALB supports WebSocket natively.',
    ],
    match: (f) => onlyWhen(present(f, 'x-amzn-trace-id'), evidenceOf(f, 'X-Amzn-Trace-Id')),
  },
  {
    id: 'cloudfront',
    name: 'AWS CloudFront',
    confidence: 'medium',
    fix: [
      'Forward the Sec-WebSocket-* headers in the origin request policy and allow GET on the behaviour; CloudFront passes the upgrade through.',
    ],
    match: (f) => onlyWhen(present(f, 'x-amz-cf-id'), evidenceOf(f, 'X-Amz-Cf-Id')),
  },
  {
    id: 'header-allow-list',
    name: 'a proxy or CDN header allow-list, or a hand-written client',
    confidence: 'low',
    fix: [
      'Forward Sec-WebSocket-Key, Sec-WebSocket-Version, Sec-WebSocket-Protocol and Sec-WebSocket-Extensions unchanged.',
    ],
    match: (f) =>
      onlyWhen(f.hasUpgrade && f.hasConnectionUpgrade && !f.hasWebSocketHeaders, [
        `Upgrade: ${f.headers.get('upgrade')}`,
        'no Sec-WebSocket-Key or -Version',
      ]),
  },
  {
    id: 'proxy',
    name: 'an unidentified proxy',
    confidence: 'low',
    fix: ['Configure the proxy to forward the Upgrade and Connection headers (HTTP/1.1 to the backend).'],
    match: (f) =>
      onlyWhen(
        present(f, 'via') || hasForwarded(f),
        evidenceOf(f, 'Via', 'X-Forwarded-For', 'X-Forwarded-Host'),
      ),
  },
];

/** Client fingerprints for requests that were never WebSocket handshakes. */
export const clientRules: readonly Rule[] = [
  {
    id: 'postman',
    name: 'Postman in HTTP mode',
    confidence: 'high',
    fix: ["Use Postman's WebSocket request type (New → WebSocket), not an HTTP GET."],
    match: (f) =>
      onlyWhen(/PostmanRuntime\//.test(f.headers.get('user-agent') ?? ''), evidenceOf(f, 'User-Agent')),
  },
  {
    id: 'apifox',
    name: 'Apifox in HTTP mode',
    confidence: 'high',
    fix: ["Use Apifox's WebSocket request type, not an HTTP GET."],
    match: (f) => onlyWhen(/Apifox/i.test(f.headers.get('user-agent') ?? ''), evidenceOf(f, 'User-Agent')),
  },
  {
    id: 'curl',
    name: 'curl',
    confidence: 'high',
    fix: [
      'curl sends a plain GET: use a WebSocket client (websocat, wscat), or curl 8.11+ with a ws:// URL, or add -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: …".',
    ],
    match: (f) => onlyWhen(/^curl\//.test(f.headers.get('user-agent') ?? ''), evidenceOf(f, 'User-Agent')),
  },
  {
    id: 'health-check',
    name: 'a health check',
    confidence: 'medium',
    fix: ['Point the health check at an HTTP route (e.g. /health), not at the WebSocket endpoint.'],
    match: (f) =>
      onlyWhen(
        /kube-probe|ELB-HealthChecker|GoogleHC|Consul Health|Uptime|HealthCheck|Pingdom/i.test(
          f.headers.get('user-agent') ?? '',
        ),
        evidenceOf(f, 'User-Agent'),
      ),
  },
  {
    id: 'browser-tab',
    name: 'a browser tab',
    confidence: 'high',
    fix: ['The URL was opened as a page. Connect from JavaScript with new WebSocket("ws://…").'],
    match: (f) =>
      onlyWhen(
        /navigate/i.test(f.headers.get('sec-fetch-mode') ?? '') ||
          /text\/html/i.test(f.headers.get('accept') ?? ''),
        evidenceOf(f, 'Sec-Fetch-Mode', 'Accept'),
      ),
  },
];

/** Reads the facts the rules test from a request. */
export function factsOf(request: Pick<HandshakeRequest, 'httpVersion' | 'headers'>): RequestFacts {
  const { headers } = request;
  const connection = headers.list('connection').map((t) => t.toLowerCase());
  return {
    httpVersion: request.httpVersion,
    headers,
    hasWebSocketHeaders: headers.has('sec-websocket-key') || headers.has('sec-websocket-version'),
    hasUpgrade: headers.list('upgrade').length > 0,
    hasConnectionUpgrade: connection.includes('upgrade'),
    connection,
    names: headers.names,
  };
}

function firstMatch(rules: readonly Rule[], facts: RequestFacts): Finding | undefined {
  for (const rule of rules) {
    const evidence = rule.match(facts);
    if (evidence) {
      return { id: rule.id, name: rule.name, confidence: rule.confidence, evidence, fix: rule.fix };
    }
  }
  return undefined;
}

/**
 * Names the intermediary that most likely broke a handshake, and, for requests that never were
 * handshakes, the kind of client.
 */
export function diagnose(request: Pick<HandshakeRequest, 'httpVersion' | 'headers'>): Diagnosis {
  const facts = factsOf(request);
  const proxy = firstMatch(intermediaryRules, facts);
  // The same test as NOT_A_WEBSOCKET_REQUEST: `Connection: upgrade` alone does not count, as nginx
  // configured for WebSocket sends it on every request, page loads included.
  const isHandshakeShaped = hasWebSocketSigns(request.headers);
  const client = isHandshakeShaped ? undefined : firstMatch(clientRules, facts);
  return { proxy, client };
}
