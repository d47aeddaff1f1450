/**
 * Glue for handing an accepted handshake to a `ws` `WebSocketServer` (without importing ws):
 * core has already validated everything, so ws must neither reject nor re-negotiate.
 */
import type { IncomingMessage } from 'node:http';
import type { AcceptDecision } from './gate.js';

const kProtocol = Symbol.for('@wsgate/core.protocol');

type Marked = IncomingMessage & { [kProtocol]?: string | undefined };

/**
 * Rewrites the request so that ws accepts exactly what core decided: only the permessage-deflate
 * offers that passed reach ws, `Upgrade` is the single token ws expects, and the protocol core
 * chose is remembered for {@link handleProtocols}.
 */
export function prepareForWs(req: IncomingMessage, decision: AcceptDecision): void {
  const marked = req as Marked;
  marked[kProtocol] = decision.protocol;
  // ws compares the whole header to "websocket"; `Upgrade: websocket, foo/1` is valid HTTP.
  req.headers.upgrade = 'websocket';
  if (decision.extensions === undefined) delete req.headers['sec-websocket-extensions'];
  else req.headers['sec-websocket-extensions'] = decision.extensions;
  // ws re-parses this header with its own rules; core's parse is authoritative and already done.
  if (decision.protocol === undefined) delete req.headers['sec-websocket-protocol'];
  else req.headers['sec-websocket-protocol'] = decision.protocol;
}

/**
 * A ws `handleProtocols` option that answers with the subprotocol core chose for this request
 * (see {@link prepareForWs}), never ws's default of echoing the first offer.
 */
export function handleProtocols(_offered: Set<string>, req: IncomingMessage): string | false {
  return (req as Marked)[kProtocol] ?? false;
}

/**
 * Options for a `new WebSocketServer(...)` that only takes handshakes core accepted.
 *
 * @param perMessageDeflate - Whether the endpoint negotiates permessage-deflate.
 */
export function wsServerOptions(perMessageDeflate: boolean): {
  noServer: true;
  perMessageDeflate: boolean;
  handleProtocols: typeof handleProtocols;
} {
  return { noServer: true, perMessageDeflate, handleProtocols };
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
