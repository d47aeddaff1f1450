/**
 * The opening handshake the doctor sends: the headers Chrome sends (minus cookies), with the
 * options' subprotocols, Origin and extra headers. `Accept-Encoding` leaves out zstd, which Node 20
 * cannot decode.
 */
import { randomBytes } from 'node:crypto';

/** What the request is made of. */
export interface HandshakeRequestInit {
  readonly path: string;
  readonly hostHeader: string;
  readonly protocols: readonly string[];
  readonly origin?: string | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** A request ready to send, and the key its 101 must answer. */
export interface HandshakeRequest {
  readonly key: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly bytes: Buffer;
  /** The permessage-deflate offer was sent (not replaced by a `--header`). */
  readonly offeredExtensions: readonly string[];
}

/** The User-Agent sent unless `--header 'User-Agent: …'` replaces it. */
export const USER_AGENT = 'Mozilla/5.0 (compatible; wsgate-doctor)';

/** Builds the request; a `--header` replaces a default header of the same name. */
export function buildHandshakeRequest(init: HandshakeRequestInit): HandshakeRequest {
  const key = randomBytes(16).toString('base64');
  const defaults: Array<[string, string | undefined]> = [
    ['Host', init.hostHeader],
    ['Connection', 'Upgrade'],
    ['Pragma', 'no-cache'],
    ['Cache-Control', 'no-cache'],
    ['User-Agent', USER_AGENT],
    ['Upgrade', 'websocket'],
    ['Origin', init.origin],
    ['Sec-WebSocket-Version', '13'],
    ['Accept-Encoding', 'gzip, deflate, br'],
    ['Accept-Language', 'en-US,en;q=0.9'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
    ['Sec-WebSocket-Protocol', init.protocols.length > 0 ? init.protocols.join(', ') : undefined],
  ];
  const given = new Set(init.headers.map(([name]) => name.toLowerCase()));
  const headers: Array<readonly [string, string]> = [];
  for (const [name, value] of defaults) {
    if (value !== undefined && !given.has(name.toLowerCase())) headers.push([name, value]);
  }
  headers.push(...init.headers);
  const extensionHeader = headers.find(([name]) => name.toLowerCase() === 'sec-websocket-extensions')?.[1];
  const offeredExtensions = (extensionHeader ?? '')
    .split(',')
    .map((offer) => (offer.split(';')[0] ?? '').trim().toLowerCase())
    .filter((name) => name !== '');
  const text = `GET ${init.path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  const actualKey = headers.find(([name]) => name.toLowerCase() === 'sec-websocket-key')?.[1] ?? key;
  return { key: actualKey, headers, bytes: Buffer.from(text, 'latin1'), offeredExtensions };
}

/** A plain GET of the same path (no upgrade headers): the comparison probe. */
export function buildPlainGet(init: HandshakeRequestInit): Buffer {
  const lines = [
    `GET ${init.path} HTTP/1.1`,
    `Host: ${init.hostHeader}`,
    `User-Agent: ${USER_AGENT}`,
    'Accept: */*',
  ];
  lines.push('Connection: close');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}
