/**
 * What every benchmarked server serves and what the load generator sends: one `/chat` endpoint
 * that speaks `chat.v2` (or `chat.v1`) to pages from one origin, and echoes every message.
 */

/** The endpoint every server variant serves. */
export const CHAT_PATH = '/chat';
/** The subprotocols the endpoint speaks, in preference order. */
export const PROTOCOLS = ['chat.v2', 'chat.v1'];
/** The one page origin allowed to connect. */
export const ALLOWED_ORIGIN = 'http://localhost:5173';
/** The wsgate options of the endpoint (the reference app's `/chat`, without a logger). */
export const CHAT_OPTIONS = { protocols: PROTOCOLS, requireProtocol: true, origins: [ALLOWED_ORIGIN] };

const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Header lines as Chrome sends them for `new WebSocket('ws://host/chat', ['chat.v2'])`. */
function chromeHeaders(host, { key = KEY, origin = ALLOWED_ORIGIN, version = '13' } = {}) {
  return [
    `Host: ${host}`,
    'Connection: Upgrade',
    'Pragma: no-cache',
    'Cache-Control: no-cache',
    `User-Agent: ${UA}`,
    'Upgrade: websocket',
    `Origin: ${origin}`,
    `Sec-WebSocket-Version: ${version}`,
    'Accept-Encoding: gzip, deflate, br, zstd',
    'Accept-Language: en-US,en;q=0.9',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
    'Sec-WebSocket-Protocol: chat.v2',
  ];
}

/** The same handshake after nginx with `proxy_http_version 1.1` but no `proxy_set_header` lines. */
function nginxStrippedHeaders(host) {
  return chromeHeaders(host)
    .filter((line) => !/^(Connection|Upgrade):/.test(line))
    .concat('Connection: close');
}

function requestBytes(headers) {
  return Buffer.from(`GET ${CHAT_PATH} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
}

/**
 * The handshake scenarios: the bytes a client sends and what every server must answer. `status`
 * is the status every variant answers with, or `undefined` where the libraries differ (the
 * proxy-stripped GET is a 404 to a router that only knows upgrades, a 400 or 426 to others; ws
 * answers an unsupported version with 400, wsgate with 426 and `Sec-WebSocket-Version: 13` as
 * RFC 6455 §4.4 asks). `short` names the scenario in the README's one-line rejection row.
 */
export const HANDSHAKES = {
  accepted: {
    title: 'accepted handshake (chat.v2 + origin check)',
    short: 'accepted',
    build: (host) => requestBytes(chromeHeaders(host)),
    status: 101,
  },
  'bad-key': {
    title: 'rejected: invalid Sec-WebSocket-Key',
    short: 'bad key',
    build: (host) => requestBytes(chromeHeaders(host, { key: 'not-a-valid-key' })),
    status: 400,
  },
  'bad-version': {
    title: 'rejected: unsupported Sec-WebSocket-Version',
    short: 'bad version',
    build: (host) => requestBytes(chromeHeaders(host, { version: '12' })),
    status: undefined,
  },
  'bad-origin': {
    title: 'rejected: origin not allowed',
    short: 'bad origin',
    build: (host) => requestBytes(chromeHeaders(host, { origin: 'https://evil.example' })),
    status: 403,
  },
  'proxy-stripped': {
    title: 'rejected: proxy-stripped GET (no Upgrade/Connection)',
    short: 'proxy-stripped GET',
    build: (host) => requestBytes(nginxStrippedHeaders(host)),
    status: undefined,
  },
};

/**
 * A client's close frame with code 1000: FIN + opcode 8, the mask bit set with an all-zero key
 * (RFC 6455 lets the client pick any key), and the 2-byte code as payload.
 */
export const CLIENT_CLOSE_FRAME = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
