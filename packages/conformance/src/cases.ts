/**
 * The conformance cases as data: one raw request each, the response it must get, and the log
 * record it must produce. Runner-independent; `suite.ts` is the vitest wrapper.
 */
import { HOOK_SECRET, PRIVATE_PATH, SECRET } from './fixture.js';

/** Header expectations: a value must equal the string or match the RegExp; `null` means absent. */
export type HeaderExpectations = Readonly<Record<string, string | RegExp | null>>;

/** One raw-socket case. */
export interface RawCase {
  readonly name: string;
  readonly path: string;
  readonly method?: string;
  readonly version?: string;
  /** Header changes on top of a complete Chrome-like handshake (`null` removes one; `{host}` is replaced). */
  readonly headers?: Readonly<Record<string, string | readonly string[] | null>>;
  /** Start from no headers at all (a plain GET). */
  readonly bare?: boolean;
  readonly body?: string;
  /**
   * Why Node itself answers this request (same status, no problem document, no record) when it
   * is the first request of a fresh server, before any handler runs.
   */
  readonly nodeAnswersOnRequestPath?: string;
  readonly expect: {
    readonly status: number;
    /** The `code` in the problem document (JSON responses). */
    readonly code?: string;
    readonly headers?: HeaderExpectations;
    readonly bodyIncludes?: readonly string[];
    readonly bodyExcludes?: readonly string[];
    /** Fields the log record must have (beyond outcome/status/code/path, which are always checked). */
    readonly log?: Readonly<Record<string, unknown>>;
    /** The pino level of the record (30 info, 50 error). */
    readonly level?: number;
  };
}

const UPGRADE_426 = { upgrade: 'websocket', connection: /\bupgrade\b/i } as const;
const KEY_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const CHAT_ORIGIN = 'http://localhost:5173';
/** 2,000 distinct tokens, `t0,t1,…,t1999` (about 11 KB, inside Node's 16 KiB header limit). */
const TWO_THOUSAND_TOKENS = Array.from({ length: 2_000 }, (_, i) => `t${i}`).join(',');

/** Requests shaped exactly as real intermediaries forward a handshake they broke (docs/design.md, "Diagnosis"). */
export const proxyShapes = {
  nginxDefault: { version: '1.0', headers: { Upgrade: null, Connection: 'close' } },
  nginxHttp11Only: { headers: { Upgrade: null, Connection: 'close' } },
  nginxNoConnectionLine: { headers: { Connection: 'close' } },
  nginxNoUpgradeLine: { headers: { Upgrade: null, Connection: 'upgrade' } },
  apacheNoWebSocket: {
    headers: {
      Upgrade: null,
      Connection: 'Keep-Alive',
      'X-Forwarded-For': '127.0.0.1',
      'X-Forwarded-Host': 'localhost:8080',
      'X-Forwarded-Server': 'localhost',
    },
  },
} as const;

/** Every catalog condition an adapter can meet on the wire, plus the edge cases around them. */
export const rawCases: readonly RawCase[] = [
  // ── rejections, in catalog order ──────────────────────────────────────────────────────────
  {
    name: 'POST with upgrade headers → 405 METHOD_NOT_ALLOWED with Allow',
    path: '/echo',
    method: 'POST',
    expect: { status: 405, code: 'METHOD_NOT_ALLOWED', headers: { allow: 'GET' } },
  },
  {
    name: 'nginx default proxy_pass (HTTP/1.0, Connection: close) → 426 naming nginx and all three lines',
    path: '/echo',
    ...proxyShapes.nginxDefault,
    expect: {
      status: 426,
      code: 'HTTP_VERSION_TOO_OLD',
      headers: UPGRADE_426,
      bodyIncludes: ['nginx', 'proxy_http_version 1.1;', 'proxy_set_header Upgrade $http_upgrade;'],
      log: { proxy: 'nginx', arrival: 'request' },
    },
  },
  {
    name: 'plain GET from curl → 426 NOT_A_WEBSOCKET_REQUEST naming curl',
    path: '/echo',
    bare: true,
    headers: { Host: '{host}', 'User-Agent': 'curl/8.5.0', Accept: '*/*' },
    expect: { status: 426, code: 'NOT_A_WEBSOCKET_REQUEST', headers: UPGRADE_426, log: { client: 'curl' } },
  },
  {
    name: 'browser tab GET → 426 naming a browser tab',
    path: '/echo',
    bare: true,
    headers: {
      Host: '{host}',
      Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'Sec-Fetch-Mode': 'navigate',
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36',
    },
    expect: {
      status: 426,
      code: 'NOT_A_WEBSOCKET_REQUEST',
      headers: UPGRADE_426,
      log: { client: 'browser-tab' },
    },
  },
  {
    name: "Postman's HTTP mode → 426 naming Postman",
    path: '/echo',
    bare: true,
    headers: { Host: '{host}', 'User-Agent': 'PostmanRuntime/7.43.0', Accept: '*/*' },
    expect: {
      status: 426,
      code: 'NOT_A_WEBSOCKET_REQUEST',
      bodyIncludes: ['WebSocket request type'],
      log: { client: 'postman' },
    },
  },
  {
    name: 'nginx with proxy_http_version 1.1 only → 426 UPGRADE_HEADERS_STRIPPED with the two set_header lines',
    path: '/echo',
    ...proxyShapes.nginxHttp11Only,
    expect: {
      status: 426,
      code: 'UPGRADE_HEADERS_STRIPPED',
      headers: UPGRADE_426,
      bodyIncludes: ['proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection \\"upgrade\\";'],
      log: { proxy: 'nginx' },
    },
  },
  {
    name: 'Apache mod_proxy_http without WebSocket → 426 naming Apache and both fixes',
    path: '/echo',
    ...proxyShapes.apacheNoWebSocket,
    expect: {
      status: 426,
      code: 'UPGRADE_HEADERS_STRIPPED',
      bodyIncludes: ['Apache', 'upgrade=websocket', 'RewriteCond %{HTTP:Upgrade} websocket [NC]'],
      log: { proxy: 'apache' },
    },
  },
  {
    name: 'nginx without the Upgrade line → 426 UPGRADE_HEADER_MISSING',
    path: '/echo',
    ...proxyShapes.nginxNoUpgradeLine,
    expect: {
      status: 426,
      code: 'UPGRADE_HEADER_MISSING',
      bodyIncludes: ['proxy_set_header Upgrade $http_upgrade;'],
      log: { proxy: 'nginx' },
    },
  },
  {
    name: 'nginx without the Connection line → 426 CONNECTION_UPGRADE_MISSING',
    path: '/echo',
    ...proxyShapes.nginxNoConnectionLine,
    expect: {
      status: 426,
      code: 'CONNECTION_UPGRADE_MISSING',
      bodyIncludes: ['proxy_set_header Connection \\"upgrade\\";'],
      log: { proxy: 'nginx' },
    },
  },
  {
    name: 'Connection: upgraded is not the token upgrade → 426 CONNECTION_UPGRADE_MISSING',
    path: '/echo',
    headers: { Connection: 'upgraded' },
    expect: { status: 426, code: 'CONNECTION_UPGRADE_MISSING', headers: UPGRADE_426 },
  },
  {
    name: 'Upgrade: h2c → 426 UPGRADE_NOT_WEBSOCKET',
    path: '/echo',
    headers: { Upgrade: 'h2c' },
    expect: {
      status: 426,
      code: 'UPGRADE_NOT_WEBSOCKET',
      headers: { ...UPGRADE_426, connection: 'Upgrade, close' },
    },
  },
  {
    name: 'no Host → 400 HOST_MISSING',
    path: '/echo',
    headers: { Host: null },
    nodeAnswersOnRequestPath:
      'Node’s http server answers an HTTP/1.1 request without Host itself (its requireHostHeader option) before any handler runs: a bare 400, nothing logged',
    expect: { status: 400, code: 'HOST_MISSING', headers: { connection: 'close' } },
  },
  {
    name: 'two Host headers → 400 HOST_DUPLICATE',
    path: '/echo',
    headers: { Host: ['{host}', 'evil.example'] },
    expect: { status: 400, code: 'HOST_DUPLICATE' },
  },
  {
    name: 'two hosts joined in one Host line → 400 HOST_INVALID',
    path: '/echo',
    headers: { Host: '{host}, evil.example' },
    expect: { status: 400, code: 'HOST_INVALID', bodyIncludes: ['evil.example'] },
  },
  {
    name: 'an empty Host → 400 HOST_INVALID',
    path: '/echo',
    headers: { Host: '' },
    expect: { status: 400, code: 'HOST_INVALID' },
  },
  {
    name: 'a Host with a path → 400 HOST_INVALID',
    path: '/same-origin',
    headers: { Host: '{host}/x', Origin: 'http://{host}' },
    expect: { status: 400, code: 'HOST_INVALID' },
  },
  {
    name: 'a body on the handshake → 400 REQUEST_BODY_NOT_ALLOWED',
    path: '/echo',
    headers: { 'Content-Length': '5' },
    body: 'hello',
    expect: { status: 400, code: 'REQUEST_BODY_NOT_ALLOWED' },
  },
  {
    name: 'no Sec-WebSocket-Version → 426 with Sec-WebSocket-Version: 13',
    path: '/echo',
    headers: { 'Sec-WebSocket-Version': null },
    expect: {
      status: 426,
      code: 'WEBSOCKET_VERSION_MISSING',
      headers: { ...UPGRADE_426, 'sec-websocket-version': '13' },
    },
  },
  {
    name: 'Sec-WebSocket-Version: 8 (a draft) → 426 WEBSOCKET_VERSION_UNSUPPORTED',
    path: '/echo',
    headers: { 'Sec-WebSocket-Version': '8' },
    expect: {
      status: 426,
      code: 'WEBSOCKET_VERSION_UNSUPPORTED',
      headers: { ...UPGRADE_426, 'sec-websocket-version': '13' },
    },
  },
  {
    name: 'Sec-WebSocket-Version: 13, 8 → 400 WEBSOCKET_VERSION_MALFORMED',
    path: '/echo',
    headers: { 'Sec-WebSocket-Version': '13, 8' },
    expect: { status: 400, code: 'WEBSOCKET_VERSION_MALFORMED', headers: { 'sec-websocket-version': '13' } },
  },
  {
    name: 'no Sec-WebSocket-Key → 400 WEBSOCKET_KEY_MISSING',
    path: '/echo',
    headers: { 'Sec-WebSocket-Key': null },
    expect: { status: 400, code: 'WEBSOCKET_KEY_MISSING' },
  },
  {
    name: 'base64url key without padding → 400 WEBSOCKET_KEY_INVALID',
    path: '/echo',
    headers: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ' },
    expect: { status: 400, code: 'WEBSOCKET_KEY_INVALID' },
  },
  // A malformed handshake is answered before the framework runs (docs/design.md): no middleware
  // could accept it, so the auth middleware on the private path never sees it, and it gets its
  // 400 wherever it was sent, as ws answers it.
  {
    name: 'malformed key to the private path, no credentials → 400 WEBSOCKET_KEY_INVALID before the auth middleware',
    path: PRIVATE_PATH,
    headers: { 'Sec-WebSocket-Key': 'short' },
    expect: { status: 400, code: 'WEBSOCKET_KEY_INVALID' },
  },
  {
    name: 'unsupported version to a path no endpoint serves → 426 WEBSOCKET_VERSION_UNSUPPORTED, not 404',
    path: '/nowhere-versioned',
    headers: { 'Sec-WebSocket-Version': '8' },
    expect: {
      status: 426,
      code: 'WEBSOCKET_VERSION_UNSUPPORTED',
      headers: { ...UPGRADE_426, 'sec-websocket-version': '13' },
    },
  },
  {
    name: 'disallowed Origin → 403 naming the origin, never the allow-list',
    path: '/chat',
    headers: { Origin: 'http://evil.example', 'Sec-WebSocket-Protocol': 'chat.v1' },
    expect: {
      status: 403,
      code: 'ORIGIN_NOT_ALLOWED',
      bodyIncludes: ['http://evil.example', 'origins'],
      bodyExcludes: ['localhost:5173'],
      log: { origin: 'http://evil.example' },
    },
  },
  {
    name: 'Origin: null → 403',
    path: '/chat',
    headers: { Origin: 'null', 'Sec-WebSocket-Protocol': 'chat.v1' },
    expect: { status: 403, code: 'ORIGIN_NOT_ALLOWED' },
  },
  {
    name: 'default same-origin policy rejects a foreign origin',
    path: '/same-origin',
    headers: { Origin: 'http://other.example' },
    expect: { status: 403, code: 'ORIGIN_NOT_ALLOWED' },
  },
  {
    name: 'framework auth middleware without credentials → 401 with WWW-Authenticate',
    path: PRIVATE_PATH,
    expect: {
      status: 401,
      headers: { 'www-authenticate': /^Bearer/ },
      log: { code: 'AUTHENTICATION_REQUIRED' },
    },
  },
  {
    name: 'hook returns FORBIDDEN → 403',
    path: '/hooks/forbidden',
    expect: { status: 403, code: 'FORBIDDEN', bodyIncludes: ['this account may not chat'] },
  },
  {
    name: 'hook throws TOO_MANY_CONNECTIONS → 503 with Retry-After',
    path: '/hooks/busy',
    expect: { status: 503, code: 'TOO_MANY_CONNECTIONS', headers: { 'retry-after': /^\d+$/ } },
  },
  {
    name: 'hook throws a custom status, headers and body → sent as given',
    path: '/hooks/custom',
    expect: {
      status: 402,
      headers: { 'x-plan': 'free', 'content-type': /^text\/plain/ },
      bodyIncludes: ['upgrade your plan'],
      log: { code: 'PAYMENT_REQUIRED' },
    },
  },
  {
    name: 'a space inside a subprotocol → 400 SUBPROTOCOL_HEADER_MALFORMED',
    path: '/chat',
    headers: { 'Sec-WebSocket-Protocol': 'chat v2' },
    expect: { status: 400, code: 'SUBPROTOCOL_HEADER_MALFORMED' },
  },
  {
    name: 'only commas in Sec-WebSocket-Protocol → 400 SUBPROTOCOL_HEADER_MALFORMED',
    path: '/chat',
    headers: { 'Sec-WebSocket-Protocol': ', ,' },
    expect: { status: 400, code: 'SUBPROTOCOL_HEADER_MALFORMED' },
  },
  {
    name: 'a subprotocol offered twice → 400 SUBPROTOCOL_DUPLICATE',
    path: '/chat',
    headers: { 'Sec-WebSocket-Protocol': 'chat.v1, chat.v1' },
    expect: { status: 400, code: 'SUBPROTOCOL_DUPLICATE' },
  },
  {
    name: 'no subprotocol where one is required → 400 SUBPROTOCOL_REQUIRED listing the supported ones',
    path: '/chat',
    expect: { status: 400, code: 'SUBPROTOCOL_REQUIRED', bodyIncludes: ['chat.v2', 'chat.v1'] },
  },
  {
    name: 'no overlap → 400 SUBPROTOCOL_UNSUPPORTED listing the supported ones',
    path: '/chat',
    headers: { 'Sec-WebSocket-Protocol': 'chat.v3' },
    expect: {
      status: 400,
      code: 'SUBPROTOCOL_UNSUPPORTED',
      bodyIncludes: ['"supported":["chat.v2","chat.v1"]'],
    },
  },
  {
    name: 'a subprotocol offered to an endpoint that has none → 400 SUBPROTOCOL_UNSUPPORTED',
    path: '/echo',
    headers: { 'Sec-WebSocket-Protocol': 'chat.v1' },
    expect: { status: 400, code: 'SUBPROTOCOL_UNSUPPORTED' },
  },
  {
    name: 'malformed Sec-WebSocket-Extensions → 400 EXTENSIONS_HEADER_MALFORMED',
    path: '/echo',
    headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; =15' },
    expect: { status: 400, code: 'EXTENSIONS_HEADER_MALFORMED' },
  },
  {
    name: 'an upgrade to a path no endpoint serves → 404 ENDPOINT_NOT_FOUND',
    path: '/nowhere',
    expect: { status: 404, code: 'ENDPOINT_NOT_FOUND' },
  },
  {
    name: 'a hook that throws → 500 HOOK_FAILED, detail hidden, error logged at error level',
    path: '/hooks/throws',
    expect: {
      status: 500,
      code: 'HOOK_FAILED',
      bodyExcludes: [HOOK_SECRET],
      level: 50,
      log: { err: { message: HOOK_SECRET } },
    },
  },
  {
    name: 'a selector that picks an unoffered subprotocol → 500 SUBPROTOCOL_SELECTION_INVALID',
    path: '/hooks/bad-selector',
    headers: { 'Sec-WebSocket-Protocol': 'x.v1' },
    expect: { status: 500, code: 'SUBPROTOCOL_SELECTION_INVALID', level: 50 },
  },
  {
    name: 'Accept: text/plain → the rejection as text with code and hint',
    path: '/echo',
    headers: { 'Sec-WebSocket-Version': '8', Accept: 'text/plain' },
    expect: {
      status: 426,
      headers: { 'content-type': /^text\/plain/ },
      bodyIncludes: ['WEBSOCKET_VERSION_UNSUPPORTED', 'hint:'],
      log: { code: 'WEBSOCKET_VERSION_UNSUPPORTED' },
    },
  },

  // ── accepted handshakes ────────────────────────────────────────────────────────────────────
  {
    name: 'RFC 6455 sample handshake → 101 with the exact accept value and no extra headers',
    path: '/echo',
    expect: {
      status: 101,
      headers: {
        upgrade: 'websocket',
        connection: 'Upgrade',
        'sec-websocket-accept': KEY_ACCEPT,
        'sec-websocket-protocol': null,
        'sec-websocket-extensions': null,
      },
    },
  },
  {
    name: "Firefox's Connection: keep-alive, Upgrade → 101",
    path: '/echo',
    headers: { Connection: 'keep-alive, Upgrade' },
    expect: { status: 101, headers: { 'sec-websocket-accept': KEY_ACCEPT } },
  },
  {
    name: 'Upgrade: WebSocket (any case) → 101',
    path: '/echo',
    headers: { Upgrade: 'WebSocket' },
    expect: { status: 101 },
  },
  {
    // Linear-time parsing: trimming with `[ \t]+$` retried from every space of a run inside a
    // list element, and took up to a second on this request.
    name: 'a 15 KB run of spaces inside a Connection element → 101',
    path: '/echo',
    headers: { Connection: `keep-alive${' '.repeat(15_000)}x, Upgrade` },
    expect: { status: 101, headers: { upgrade: 'websocket' } },
  },
  {
    name: 'a 15 KB run of spaces inside a subprotocol → 400 SUBPROTOCOL_HEADER_MALFORMED',
    path: '/chat',
    headers: { Origin: CHAT_ORIGIN, 'Sec-WebSocket-Protocol': `chat.v1${' '.repeat(15_000)}x` },
    expect: { status: 400, code: 'SUBPROTOCOL_HEADER_MALFORMED' },
  },
  {
    name: 'a 15 KB run of tabs and commas in Sec-WebSocket-Extensions → 101 without extensions',
    path: '/echo',
    headers: { 'Sec-WebSocket-Extensions': `x${'\t,'.repeat(7_500)}y` },
    expect: { status: 101, headers: { 'sec-websocket-extensions': null } },
  },
  {
    // Bounded, whatever the list's length: parsing stops at the 33rd token (a DoS bound).
    name: 'a 2,000-token Sec-WebSocket-Protocol list → 400 SUBPROTOCOL_HEADER_MALFORMED naming the bound of 32',
    path: '/chat',
    headers: { Origin: CHAT_ORIGIN, 'Sec-WebSocket-Protocol': TWO_THOUSAND_TOKENS },
    expect: {
      status: 400,
      code: 'SUBPROTOCOL_HEADER_MALFORMED',
      bodyIncludes: ['more than 32 subprotocols'],
    },
  },
  {
    name: 'a 2,000-offer Sec-WebSocket-Extensions list → 400 EXTENSIONS_HEADER_MALFORMED naming the bound of 32',
    path: '/echo',
    headers: { 'Sec-WebSocket-Extensions': TWO_THOUSAND_TOKENS },
    expect: { status: 400, code: 'EXTENSIONS_HEADER_MALFORMED', bodyIncludes: ['more than 32 offers'] },
  },
  {
    // One offer with 2,000 parameters is well-formed: declined at its first unknown parameter.
    name: 'one permessage-deflate offer with 2,000 parameters → 101 with the offer declined',
    path: '/echo',
    headers: {
      'Sec-WebSocket-Extensions': `permessage-deflate; ${TWO_THOUSAND_TOKENS.replaceAll(',', '; ')}`,
    },
    expect: { status: 101, headers: { 'sec-websocket-extensions': null } },
  },
  {
    name: 'server preference and empty list elements: "chat.v1,, ,chat.v2" → chat.v2',
    path: '/chat',
    headers: { Origin: CHAT_ORIGIN, 'Sec-WebSocket-Protocol': 'chat.v1,, ,chat.v2' },
    expect: {
      status: 101,
      headers: { 'sec-websocket-protocol': 'chat.v2' },
      log: { protocol: 'chat.v2', origin: CHAT_ORIGIN },
    },
  },
  {
    name: 'no Origin is allowed (non-browser clients) → 101 with the one offered subprotocol',
    path: '/chat',
    headers: { 'Sec-WebSocket-Protocol': 'chat.v1' },
    expect: { status: 101, headers: { 'sec-websocket-protocol': 'chat.v1' } },
  },
  {
    name: 'client preference → the client’s first supported subprotocol',
    path: '/client-preference',
    headers: { 'Sec-WebSocket-Protocol': 'b.v1, a.v1' },
    expect: { status: 101, headers: { 'sec-websocket-protocol': 'b.v1' } },
  },
  {
    name: 'onNoProtocolMatch: proceed → 101 without Sec-WebSocket-Protocol',
    path: '/proceed',
    headers: { 'Sec-WebSocket-Protocol': 'other.v1' },
    expect: { status: 101, headers: { 'sec-websocket-protocol': null } },
  },
  {
    name: 'same-origin default accepts the server’s own origin',
    path: '/same-origin',
    headers: { Origin: 'http://{host}' },
    expect: { status: 101 },
  },
  {
    name: "Chrome's permessage-deflate offer → negotiated",
    path: '/echo',
    headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' },
    expect: {
      status: 101,
      headers: { 'sec-websocket-extensions': /^permessage-deflate/ },
      log: { extensions: 'permessage-deflate; client_max_window_bits' },
    },
  },
  {
    name: 'an invalid permessage-deflate offer (server_max_window_bits=8) is declined, not rejected',
    path: '/echo',
    headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=8' },
    expect: { status: 101, headers: { 'sec-websocket-extensions': null } },
  },
  {
    name: 'an invalid offer is skipped and the next valid one taken',
    path: '/echo',
    headers: {
      'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=08, permessage-deflate',
    },
    expect: { status: 101, headers: { 'sec-websocket-extensions': /^permessage-deflate/ } },
  },
  {
    name: 'auth middleware accepts a Bearer token → 101',
    path: PRIVATE_PATH,
    headers: { Authorization: `Bearer ${SECRET}` },
    expect: { status: 101 },
  },
  {
    name: 'auth middleware accepts a session cookie → 101',
    path: PRIVATE_PATH,
    headers: { Cookie: `theme=dark; session=${SECRET}` },
    expect: { status: 101 },
  },
  {
    name: 'auth middleware accepts a query ticket → 101',
    path: `${PRIVATE_PATH}?ticket=${SECRET}`,
    expect: { status: 101, log: { path: PRIVATE_PATH } },
  },
];
