/**
 * Glue for handing an accepted handshake to a `ws` `WebSocketServer` (without importing ws):
 * core has already validated and negotiated everything, so ws must neither reject nor
 * re-negotiate. ws reads the handshake from the request object it is given; it gets a view of the
 * request that says only what core decided, and the application's request is never changed.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AcceptDecision } from '../gate.js';

/**
 * The request as ws must see it to answer exactly what core decided: `Upgrade` as the single
 * token ws expects (`Upgrade: websocket, foo/1` is valid HTTP, which ws compares whole), only the
 * permessage-deflate offers that passed RFC 7692's checks, and only the chosen subprotocol (ws
 * echoes the first one offered), with the request's method, target and socket. It is a plain
 * object holding what ws's `handleUpgrade` reads: a view inheriting from `req`
 * (`Object.create(req)`) would make V8 turn every request into a prototype with a map of its own,
 * which slowed every later property access on it (about 40 µs a handshake, packages/bench). It is what ws's `'headers'` and `'connection'` events carry.
 *
 * @param req - The application's request; not modified.
 * @param decision - Core's acceptance.
 */
export function wsRequestView(req: IncomingMessage, decision: AcceptDecision): IncomingMessage {
  const source = req.headers;
  const headers: IncomingHttpHeaders = {};
  for (const name in source) {
    if (name !== 'sec-websocket-extensions' && name !== 'sec-websocket-protocol')
      headers[name] = source[name];
  }
  headers.upgrade = 'websocket';
  if (decision.extensions !== undefined) headers['sec-websocket-extensions'] = decision.extensions;
  if (decision.protocol !== undefined) headers['sec-websocket-protocol'] = decision.protocol;
  const view: Pick<IncomingMessage, 'headers' | 'method' | 'url' | 'socket' | 'httpVersion'> = {
    headers,
    method: req.method,
    url: req.url,
    socket: req.socket,
    httpVersion: req.httpVersion,
  };
  return view as IncomingMessage;
}

/**
 * Options for a `new WebSocketServer(...)` that only takes handshakes core accepted.
 *
 * @param perMessageDeflate - Whether the endpoint negotiates permessage-deflate.
 */
export function wsServerOptions(perMessageDeflate: boolean): { noServer: true; perMessageDeflate: boolean } {
  return { noServer: true, perMessageDeflate };
}

/**
 * `ws` server options that decide the handshake, which wsgate owns: adapters leave every other ws
 * setting (`maxPayload`, …) to the user and refuse these.
 */
export const RESERVED_WS_OPTIONS = [
  'noServer',
  'server',
  'port',
  'host',
  'path',
  'handleProtocols',
  'perMessageDeflate',
  'verifyClient',
] as const;

/** A name in {@link RESERVED_WS_OPTIONS}. */
export type ReservedWsOption = (typeof RESERVED_WS_OPTIONS)[number];

/**
 * Checks the ws settings a user passes through an adapter: an object without any
 * {@link RESERVED_WS_OPTIONS} (with one of those, ws could answer a handshake itself). Throws a
 * `TypeError` naming the package and the option.
 *
 * @param settings - The user's ws settings (may be undefined).
 * @param pkg - The adapter package, e.g. `@wsgate/express`.
 * @param option - Where the settings sit in the adapter's options, e.g. `ws`.
 */
export function checkWsSettings(settings: unknown, pkg: string, option: string): void {
  if (settings === undefined) return;
  if (typeof settings !== 'object' || settings === null) {
    throw new TypeError(`${pkg}: option \`${option}\` must be an object of ws server settings`);
  }
  const reserved = RESERVED_WS_OPTIONS.find((key) => key in settings);
  if (reserved) {
    throw new TypeError(
      `${pkg}: option \`${option}.${reserved}\` is not supported: wsgate decides the handshake (use its options)`,
    );
  }
}
