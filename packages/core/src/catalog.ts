/**
 * The failure catalog: every way wsgate can refuse a WebSocket opening handshake, as plain data.
 *
 * Docs, adapters and tests are generated from this one table. The order of the entries is the
 * order in which the checks run: the first failing check decides the response.
 */

/** Whether the client or the server is at fault; decides the log level (client faults never log at error). */
export type Fault = 'client' | 'server';

/** One entry of the {@link catalog}. */
export interface CatalogEntry {
  /** The HTTP status of the rejection. */
  readonly status: number;
  /** One line, the same for every request with this code. Goes to the problem `title`. */
  readonly title: string;
  /**
   * Headers the response must carry, with the value wsgate sends when the code's producer
   * (a hook, a middleware) gave none.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** What to change, when the same advice fits every request with this code. */
  readonly hint?: string;
  /** Who is at fault. */
  readonly fault: Fault;
  /** The specification clause behind the rule. */
  readonly reference: string;
  /**
   * For a code that classifies a response the application wrote ({@link codeForStatus}): the
   * statuses it stands for, e.g. `3xx`. `status` is then a representative.
   */
  readonly statusRange?: string;
}

const UPGRADE_REQUIRED = { Upgrade: 'websocket', Connection: 'Upgrade' } as const;
const VERSION_REQUIRED = { ...UPGRADE_REQUIRED, 'Sec-WebSocket-Version': '13' } as const;

/**
 * Every rejection code with its status, mandatory headers, title and RFC reference, in check order.
 *
 * @example
 * ```ts
 * import { catalog } from '@wsgate/core';
 * catalog.UPGRADE_HEADERS_STRIPPED.status; // 426
 * ```
 */
export const catalog = {
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: 'A WebSocket handshake must use GET',
    headers: { Allow: 'GET' },
    hint: 'Open the connection with a WebSocket client (new WebSocket(url)); it always sends GET.',
    fault: 'client',
    reference: 'RFC 6455 §4.1; RFC 9110 §15.5.6',
  },
  HTTP_VERSION_TOO_OLD: {
    status: 426,
    title: 'A WebSocket handshake needs HTTP/1.1',
    headers: UPGRADE_REQUIRED,
    hint: 'HTTP/1.0 cannot upgrade. Behind nginx add: proxy_http_version 1.1;',
    fault: 'client',
    reference: 'RFC 6455 §4.1; RFC 9110 §7.8',
  },
  NOT_A_WEBSOCKET_REQUEST: {
    status: 426,
    title: 'This endpoint only speaks WebSocket',
    headers: UPGRADE_REQUIRED,
    hint: 'Connect with a WebSocket client (new WebSocket("ws://…")), not a plain HTTP GET.',
    fault: 'client',
    reference: 'RFC 6455 §4.2.1; RFC 9110 §15.5.22',
  },
  UPGRADE_HEADERS_STRIPPED: {
    status: 426,
    title: 'The Upgrade and Connection headers were removed on the way',
    headers: UPGRADE_REQUIRED,
    hint: 'A proxy in front of this server drops the hop-by-hop headers; configure it to forward WebSocket upgrades.',
    fault: 'client',
    reference: 'RFC 6455 §4.2.1; RFC 9110 §7.6.1',
  },
  UPGRADE_HEADER_MISSING: {
    status: 426,
    title: 'The Upgrade header is missing',
    headers: UPGRADE_REQUIRED,
    hint: 'Send "Upgrade: websocket"; behind nginx add: proxy_set_header Upgrade $http_upgrade;',
    fault: 'client',
    reference: 'RFC 6455 §4.2.1 item 3',
  },
  CONNECTION_UPGRADE_MISSING: {
    status: 426,
    title: 'The Connection header has no "upgrade" token',
    headers: UPGRADE_REQUIRED,
    hint: 'Send "Connection: Upgrade"; behind nginx add: proxy_set_header Connection "upgrade";',
    fault: 'client',
    reference: 'RFC 6455 §4.2.1 item 4; RFC 9110 §7.6.1',
  },
  UPGRADE_NOT_WEBSOCKET: {
    status: 426,
    title: 'The Upgrade header does not ask for websocket',
    headers: UPGRADE_REQUIRED,
    hint: 'Send "Upgrade: websocket".',
    fault: 'client',
    reference: 'RFC 6455 §4.2.1 item 3; RFC 9110 §7.8',
  },
  HOST_MISSING: {
    status: 400,
    title: 'The Host header is missing',
    headers: {},
    fault: 'client',
    reference: 'RFC 9112 §3.2; RFC 6455 §4.2.1 item 2',
  },
  HOST_DUPLICATE: {
    status: 400,
    title: 'The Host header is repeated',
    headers: {},
    fault: 'client',
    reference: 'RFC 9112 §3.2',
  },
  HOST_INVALID: {
    status: 400,
    title: 'The Host header is not a host',
    headers: {},
    hint: 'Send one host name or address, optionally with ":port" (e.g. "example.com:8080").',
    fault: 'client',
    reference: 'RFC 9112 §3.2; RFC 9110 §4.2.1; RFC 3986 §3.2.2',
  },
  REQUEST_BODY_NOT_ALLOWED: {
    status: 400,
    title: 'A WebSocket handshake cannot carry a body',
    headers: {},
    fault: 'client',
    reference: 'RFC 6455 §4.1',
  },
  WEBSOCKET_VERSION_MISSING: {
    status: 426,
    title: 'The Sec-WebSocket-Version header is missing',
    headers: VERSION_REQUIRED,
    hint: 'Send "Sec-WebSocket-Version: 13".',
    fault: 'client',
    reference: 'RFC 6455 §4.2.1 item 6; §4.4',
  },
  WEBSOCKET_VERSION_UNSUPPORTED: {
    status: 426,
    title: 'Only WebSocket version 13 is supported',
    headers: VERSION_REQUIRED,
    hint: 'Use a client that implements RFC 6455 (version 13).',
    fault: 'client',
    reference: 'RFC 6455 §4.4',
  },
  WEBSOCKET_VERSION_MALFORMED: {
    status: 400,
    title: 'The Sec-WebSocket-Version header is malformed',
    headers: { 'Sec-WebSocket-Version': '13' },
    hint: 'Send exactly one "Sec-WebSocket-Version: 13".',
    fault: 'client',
    reference: 'RFC 6455 §4.4; §11.3.5',
  },
  WEBSOCKET_KEY_MISSING: {
    status: 400,
    title: 'The Sec-WebSocket-Key header is missing',
    headers: {},
    hint: 'Send a Sec-WebSocket-Key: 16 random bytes, base64-encoded.',
    fault: 'client',
    reference: 'RFC 6455 §4.2.1 item 5',
  },
  WEBSOCKET_KEY_INVALID: {
    status: 400,
    title: 'The Sec-WebSocket-Key header is not 16 base64-encoded bytes',
    headers: {},
    hint: 'Send one Sec-WebSocket-Key: 16 random bytes in standard base64 (24 characters, ending in "==").',
    fault: 'client',
    reference: 'RFC 6455 §4.1 item 7; §11.3.1',
  },
  ORIGIN_NOT_ALLOWED: {
    status: 403,
    title: 'The Origin is not allowed',
    headers: {},
    fault: 'client',
    reference: 'RFC 6455 §4.2.2 item 4, §10.2; RFC 6454',
  },
  AUTHENTICATION_REQUIRED: {
    status: 401,
    title: 'Authentication is required',
    headers: { 'WWW-Authenticate': 'Bearer' },
    fault: 'client',
    reference: 'RFC 9110 §11.6.1, §15.5.2',
  },
  FORBIDDEN: {
    status: 403,
    title: 'Not allowed',
    headers: {},
    fault: 'client',
    reference: 'RFC 9110 §15.5.4',
  },
  TOO_MANY_CONNECTIONS: {
    status: 503,
    title: 'Too many connections',
    headers: { 'Retry-After': '5' },
    fault: 'client',
    reference: 'RFC 9110 §15.6.4, §10.2.3',
  },
  HANDSHAKE_TIMEOUT: {
    status: 503,
    title: 'The server did not answer the handshake in time',
    headers: { 'Retry-After': '5' },
    hint: 'A hook or middleware before the endpoint took longer than `handshakeTimeoutMs`: find what it waits for (a database, an auth service), or raise the bound.',
    fault: 'server',
    reference: 'RFC 9110 §15.6.4',
  },
  CLIENT_CONNECTION_LIMIT: {
    status: 429,
    title: 'This client has too many open connections',
    headers: { 'Retry-After': '5' },
    hint: 'Close connections this client no longer needs, or raise `maxConnectionsPerClient`.',
    fault: 'client',
    reference: 'RFC 6585 §4; RFC 9110 §10.2.3',
  },
  SERVER_SHUTTING_DOWN: {
    status: 503,
    title: 'The server is shutting down',
    headers: { 'Retry-After': '5' },
    fault: 'client',
    reference: 'RFC 9110 §15.6.4, §10.2.3',
  },
  SUBPROTOCOL_HEADER_MALFORMED: {
    status: 400,
    title: 'The Sec-WebSocket-Protocol header is malformed',
    headers: {},
    hint: 'List at most 32 subprotocols, as comma-separated tokens of at most 128 characters (no spaces, quotes, "/", "=", ",", ";", ":" or "@" inside one).',
    fault: 'client',
    reference: 'RFC 6455 §4.1 item 10, §11.3.4; RFC 9110 §5.6.2',
  },
  SUBPROTOCOL_DUPLICATE: {
    status: 400,
    title: 'A subprotocol is offered twice',
    headers: {},
    hint: 'Offer each subprotocol once.',
    fault: 'client',
    reference: 'RFC 6455 §4.1 item 10',
  },
  SUBPROTOCOL_REQUIRED: {
    status: 400,
    title: 'This endpoint requires a subprotocol',
    headers: {},
    fault: 'client',
    reference: 'RFC 6455 §4.2.2 item 4',
  },
  SUBPROTOCOL_UNSUPPORTED: {
    status: 400,
    title: 'None of the offered subprotocols is supported',
    headers: {},
    fault: 'client',
    reference: 'RFC 6455 §4.2.2 item 4',
  },
  EXTENSIONS_HEADER_MALFORMED: {
    status: 400,
    title: 'The Sec-WebSocket-Extensions header is malformed',
    headers: {},
    hint: 'Follow the grammar of RFC 6455 §9.1 (name; param=value, name2), with at most 32 offers.',
    fault: 'client',
    reference: 'RFC 6455 §9.1, §11.3.2',
  },
  ENDPOINT_NOT_FOUND: {
    status: 404,
    title: 'No WebSocket endpoint at this path',
    headers: {},
    hint: 'Check the URL path and any mount prefix; a proxy may also rewrite the path.',
    fault: 'client',
    reference: 'RFC 9110 §15.5.5',
  },
  CLIENT_DISCONNECTED: {
    status: 499,
    title: 'The client closed the connection before the handshake completed',
    headers: {},
    hint: 'Nothing was sent. A client or proxy that gives up sooner than the server’s checks (auth, hooks) take closes early; npx @wsgate/doctor <url> from the client’s side shows where it stops.',
    fault: 'client',
    reference: 'RFC 6455 §4.1; status 499 as nginx logs it',
  },
  RATE_LIMITED: {
    status: 429,
    title: 'The application’s rate limiter refused the handshake',
    headers: {},
    fault: 'client',
    reference: 'RFC 6585 §4',
  },
  APPLICATION_REJECTED: {
    status: 400,
    statusRange: '4xx',
    title: 'The application rejected the handshake',
    headers: {},
    fault: 'client',
    reference: 'RFC 9110 §15.5',
  },
  REDIRECTED: {
    status: 302,
    statusRange: '3xx',
    title: 'The application answered the handshake with a redirect',
    headers: {},
    hint: 'Browsers do not follow redirects on WebSocket handshakes: connect to the final URL (wss:// for https, the path with or without its trailing slash); npx @wsgate/doctor <url> reports the Location.',
    fault: 'client',
    reference: 'RFC 6455 §4.1 (any status but 101 fails the connection)',
  },
  HTTP_HANDLER_ANSWERED: {
    status: 200,
    statusRange: '1xx/2xx',
    title: 'A plain HTTP handler answered before the WebSocket endpoint',
    headers: {},
    hint: 'An SPA fallback or a static-file handler answered the upgrade: register the WebSocket endpoint before it.',
    fault: 'server',
    reference: 'RFC 6455 §4.1',
  },
  APPLICATION_ERROR: {
    status: 500,
    statusRange: '5xx',
    title: 'The application failed while handling the handshake',
    headers: {},
    fault: 'server',
    reference: 'RFC 9110 §15.6',
  },
  HOOK_FAILED: {
    status: 500,
    title: 'The server failed while checking the handshake',
    headers: {},
    fault: 'server',
    reference: 'RFC 9110 §15.6.1',
  },
  SUBPROTOCOL_SELECTION_INVALID: {
    status: 500,
    title: 'The server selected a subprotocol the client did not offer',
    headers: {},
    fault: 'server',
    reference: 'RFC 6455 §4.2.2 item 4',
  },
  UPGRADE_LISTENER_MISSING: {
    status: 500,
    title: 'The WebSocket endpoint cannot take over this connection',
    headers: {},
    fault: 'server',
    reference: 'RFC 9110 §7.8',
  },
} as const satisfies Record<string, CatalogEntry>;

/** A stable rejection code from the {@link catalog}. */
export type HandshakeErrorCode = keyof typeof catalog;

/** Every catalog code, in check order. */
export const catalogCodes: readonly HandshakeErrorCode[] = Object.freeze(
  Object.keys(catalog) as HandshakeErrorCode[],
);

/**
 * The code of a response the application wrote to a handshake itself (auth middleware's 401, a
 * rate limiter's 429, a redirect, an SPA fallback's 200), from its status alone. The one place a
 * status becomes a code.
 *
 * @example
 * ```ts
 * codeForStatus(401); // 'AUTHENTICATION_REQUIRED'
 * codeForStatus(308); // 'REDIRECTED'
 * ```
 */
export function codeForStatus(status: number): HandshakeErrorCode {
  switch (status) {
    case 401:
      return 'AUTHENTICATION_REQUIRED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'ENDPOINT_NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 429:
      return 'RATE_LIMITED';
  }
  if (status >= 500) return 'APPLICATION_ERROR';
  if (status >= 400) return 'APPLICATION_REJECTED';
  if (status >= 300) return 'REDIRECTED';
  return 'HTTP_HANDLER_ANSWERED';
}

/**
 * Headers a response with this status MUST carry, with the value sent when the application gave
 * none: `WWW-Authenticate` with 401 (RFC 9110 §15.5.2), `Allow` with 405 (§15.5.6), `Upgrade`
 * and `Connection` with 426 (§15.5.22, §7.8).
 */
export function requiredHeadersFor(status: number): Readonly<Record<string, string>> {
  return REQUIRED_HEADERS[status] ?? NONE;
}

const NONE: Readonly<Record<string, string>> = Object.freeze({});
const REQUIRED_HEADERS: Readonly<Record<number, Readonly<Record<string, string>>>> = {
  401: catalog.AUTHENTICATION_REQUIRED.headers,
  405: catalog.METHOD_NOT_ALLOWED.headers,
  426: UPGRADE_REQUIRED,
};

/** Whether `code` is one of the catalog's codes. */
export function isCatalogCode(code: string): code is HandshakeErrorCode {
  return Object.hasOwn(catalog, code);
}
