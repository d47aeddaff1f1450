/**
 * The static checks of an opening handshake (RFC 6455 §4.2.1), in catalog order. Pure: no hooks,
 * no I/O. Origin, application hooks and subprotocol selection run afterwards in `gate.ts`.
 */
import type { HandshakeErrorCode } from './catalog.js';
import { type ExtensionOffer, parseExtensions } from './extensions.js';
import { printable, type RequestHeaders } from './headers.js';
import { parseHost } from './host.js';
import type { HandshakeRequest } from './request.js';
import { parseSubprotocols } from './subprotocols.js';

/** One failed check. */
export interface Failure {
  readonly code: HandshakeErrorCode;
  readonly detail: string;
}

/** Everything the static checks learned about a request. */
export interface StaticCheck {
  /** Failures of the transport-level checks (method … key), in catalog order. */
  readonly transport: readonly Failure[];
  /** Failures of the negotiation-header checks (subprotocol, extensions syntax), in catalog order. */
  readonly negotiation: readonly Failure[];
  /** The offered subprotocols (empty when malformed or absent). */
  readonly offeredProtocols: readonly string[];
  /** The extension offers (empty when malformed or absent). */
  readonly extensionOffers: readonly ExtensionOffer[];
  /** The request carries no sign of WebSocket at all: no `Upgrade`, no `Sec-WebSocket-*`. */
  readonly isPlainRequest: boolean;
}

/** Whether a request shows any sign of being a WebSocket handshake. */
export function hasWebSocketSigns(headers: RequestHeaders): boolean {
  if (headers.has('upgrade')) return true;
  return headers.names.some(
    (name) => name.length > 14 && name.slice(0, 14).toLowerCase() === 'sec-websocket-',
  );
}

/**
 * `Sec-WebSocket-Version`: `1*DIGIT` from 0 to 255 without leading zeros (RFC 6455 §4.4, §11.3.5).
 */
const VERSION = /^(?:0|[1-9]\d?|1\d\d|2[0-4]\d|25[0-5])$/;
/**
 * 16 bytes in standard base64: 22 characters and `==`. The 22nd character's low 4 bits are padding;
 * non-canonical values still decode to 16 bytes, so they pass (as in every major server).
 */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * The failures that make a request a malformed WebSocket handshake whatever endpoint it is for:
 * its `Sec-WebSocket-Version` or `Sec-WebSocket-Key` (RFC 6455 §4.2.1 items 5 and 6). When one
 * of them decides (is the first transport failure), no application code could accept the
 * request, so it is rejected on arrival, before the framework runs (docs/design.md, "Malformed
 * handshakes are rejected on arrival").
 */
export const MALFORMED_HANDSHAKE_CODES: ReadonlySet<HandshakeErrorCode> = new Set<HandshakeErrorCode>([
  'WEBSOCKET_VERSION_MISSING',
  'WEBSOCKET_VERSION_MALFORMED',
  'WEBSOCKET_VERSION_UNSUPPORTED',
  'WEBSOCKET_KEY_MISSING',
  'WEBSOCKET_KEY_INVALID',
]);

/**
 * A constant-time first look at a request's own headers (as Node parsed them, repeated ones
 * joined): whether its `Sec-WebSocket-Version` is `13` and its `Sec-WebSocket-Key` well formed,
 * i.e. whether it certainly has none of the {@link MALFORMED_HANDSHAKE_CODES} failures.
 */
export function versionAndKeyWellFormed(
  version: string | string[] | undefined,
  key: string | string[] | undefined,
): boolean {
  return version === '13' && typeof key === 'string' && KEY.test(key);
}

/** Runs every static check and returns all failures (the first of each list decides). */
export function checkRequest(request: HandshakeRequest): StaticCheck {
  const { headers } = request;
  const transport: Failure[] = [];
  const add = (list: Failure[], code: HandshakeErrorCode, detail: string) => list.push({ code, detail });

  const upgrade = headers.list('upgrade');
  const hasUpgrade = upgrade.length > 0;
  const hasConnectionUpgrade = headers.hasToken('connection', 'upgrade');
  const hasKeyOrVersion = headers.has('sec-websocket-key') || headers.has('sec-websocket-version');
  const isPlainRequest = !hasWebSocketSigns(headers);

  if (request.method !== 'GET') {
    add(transport, 'METHOD_NOT_ALLOWED', `the method is ${request.method}`);
  }
  if (!isHttp11OrLater(request.httpVersion)) {
    add(transport, 'HTTP_VERSION_TOO_OLD', `the request is HTTP/${request.httpVersion}`);
  }
  // A correctly configured nginx sends `Connection: upgrade` on every request, so a plain GET
  // through it has that token; what tells a WebSocket client is `Upgrade` or `Sec-WebSocket-*`.
  if (isPlainRequest) {
    add(transport, 'NOT_A_WEBSOCKET_REQUEST', 'the request has no Upgrade and no Sec-WebSocket-* headers');
  } else if (!hasUpgrade && !hasConnectionUpgrade) {
    // Not plain, so some Sec-WebSocket-* header (or an empty Upgrade) arrived: a WebSocket client
    // sent this and both hop-by-hop headers were lost on the way.
    add(
      transport,
      'UPGRADE_HEADERS_STRIPPED',
      `${hasKeyOrVersion ? 'Sec-WebSocket-Key/-Version' : 'Sec-WebSocket-* headers'} arrived without Upgrade and Connection: upgrade, which an intermediary removed`,
    );
  } else if (!hasUpgrade) {
    add(transport, 'UPGRADE_HEADER_MISSING', 'Connection has "upgrade" but there is no Upgrade header');
  } else if (!hasConnectionUpgrade) {
    const connection = headers.get('connection');
    add(
      transport,
      'CONNECTION_UPGRADE_MISSING',
      connection === undefined ? 'there is no Connection header' : `Connection is "${printable(connection)}"`,
    );
  }
  if (hasUpgrade && !upgrade.some((protocol) => /^websocket$/i.test(protocol))) {
    add(transport, 'UPGRADE_NOT_WEBSOCKET', `Upgrade is "${printable(headers.get('upgrade') ?? '')}"`);
  }

  const hostCount = headers.count('host');
  if (hostCount === 0 && isHttp11OrLater(request.httpVersion))
    add(transport, 'HOST_MISSING', 'there is no Host header');
  if (hostCount > 1) add(transport, 'HOST_DUPLICATE', `Host arrived ${hostCount} times`);
  else if (hostCount === 1 && parseHost(headers.get('host') as string) === undefined) {
    add(transport, 'HOST_INVALID', `Host is "${printable(headers.get('host') as string)}"`);
  }

  const contentLength = headers.get('content-length');
  if (headers.has('transfer-encoding')) {
    add(
      transport,
      'REQUEST_BODY_NOT_ALLOWED',
      `Transfer-Encoding is "${printable(headers.get('transfer-encoding') ?? '')}"`,
    );
  } else if (contentLength !== undefined && !/^0+$/.test(contentLength.trim())) {
    add(transport, 'REQUEST_BODY_NOT_ALLOWED', `Content-Length is ${printable(contentLength)}`);
  }

  const versions = headers.all('sec-websocket-version');
  if (versions.length === 0) {
    add(transport, 'WEBSOCKET_VERSION_MISSING', 'there is no Sec-WebSocket-Version header');
  } else if (versions.length > 1) {
    add(transport, 'WEBSOCKET_VERSION_MALFORMED', 'Sec-WebSocket-Version is repeated');
  } else {
    const version = (versions[0] as string).trim();
    if (!VERSION.test(version)) {
      add(transport, 'WEBSOCKET_VERSION_MALFORMED', `Sec-WebSocket-Version is "${printable(version)}"`);
    } else if (version !== '13') {
      add(transport, 'WEBSOCKET_VERSION_UNSUPPORTED', `Sec-WebSocket-Version is ${version}`);
    }
  }

  const keys = headers.all('sec-websocket-key');
  if (keys.length === 0) {
    add(transport, 'WEBSOCKET_KEY_MISSING', 'there is no Sec-WebSocket-Key header');
  } else if (keys.length > 1) {
    add(transport, 'WEBSOCKET_KEY_INVALID', 'Sec-WebSocket-Key is repeated');
  } else if (!KEY.test((keys[0] as string).trim())) {
    add(transport, 'WEBSOCKET_KEY_INVALID', 'Sec-WebSocket-Key does not decode to exactly 16 bytes');
  }

  const negotiation: Failure[] = [];
  const protocols = parseSubprotocols(headers.all('sec-websocket-protocol'));
  if (!protocols.ok) add(negotiation, protocols.code, protocols.detail);
  const extensions = parseExtensions(headers.all('sec-websocket-extensions'));
  if (!extensions.ok) add(negotiation, 'EXTENSIONS_HEADER_MALFORMED', extensions.reason);

  return {
    transport,
    negotiation,
    offeredProtocols: protocols.ok ? protocols.offered : [],
    extensionOffers: extensions.ok ? extensions.offers : [],
    isPlainRequest,
  };
}

function isHttp11OrLater(version: string): boolean {
  const [major = '0', minor = '0'] = version.split('.');
  return Number(major) > 1 || (Number(major) === 1 && Number(minor) >= 1);
}
