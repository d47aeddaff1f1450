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
