/**
 * What an upgrade request no endpoint claimed gets, whichever framework answered it
 * (docs/design.md, "Who owns an upgrade request"): the framework's 404 becomes
 * `ENDPOINT_NOT_FOUND` (`METHOD_NOT_ALLOWED` for a method other than GET), and any other status
 * the application writes gets the headers its status requires. Used by core's
 * {@link UpgradeResponse} and by adapters whose framework plugin makes the response itself.
 */
import { requiredHeadersFor } from '../catalog.js';
import { HandshakeError } from '../errors.js';
import { pathOf } from '../request.js';

/** The rejection that replaces a framework's 404 for an upgrade request no endpoint serves. */
export function notFoundError(method: string, url: string): HandshakeError {
  return method === 'GET'
    ? new HandshakeError('ENDPOINT_NOT_FOUND', { detail: `no WebSocket endpoint serves ${pathOf(url)}` })
    : new HandshakeError('METHOD_NOT_ALLOWED', { detail: `the method is ${method}` });
}

/**
 * The headers a response with `status` to an upgrade request must carry and does not
 * (`WWW-Authenticate` on 401, `Allow` on 405, …), as `[name, value]` pairs. `Connection` is left
 * to the caller: the socket is always closed after such a response.
 */
export function missingRequiredHeaders(
  status: number,
  has: (name: string) => boolean,
): Array<[name: string, value: string]> {
  return Object.entries(requiredHeadersFor(status)).filter(([name]) => name !== 'Connection' && !has(name));
}
