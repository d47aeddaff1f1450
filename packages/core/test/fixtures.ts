/**
 * Request builders shared by the core tests. Header sets are written out as each client or proxy
 * sends them (docs/design.md, "Diagnosis"), so a test row reads like the request on the wire.
 */
import {
  createGate,
  type Decision,
  type Gate,
  type HandshakeRequest,
  type HttpResponse,
  type RejectDecision,
  RequestHeaders,
  type WsGateOptions,
} from '../src/index.js';

/** The sample key of RFC 6455 §1.3 and its accept value. */
export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** Header object as `RequestHeaders.fromObject` takes it (arrays become repeated headers). */
export type HeaderObject = Record<string, string | readonly string[] | undefined>;

/** What Chrome sends for `new WebSocket('ws://example.com/chat')` from a page on http://example.com. */
export const chromeHeaders: HeaderObject = {
  Host: 'example.com',
  Connection: 'Upgrade',
  Pragma: 'no-cache',
  'Cache-Control': 'no-cache',
  'User-Agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  Upgrade: 'websocket',
  Origin: 'http://example.com',
  'Sec-WebSocket-Version': '13',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Accept-Language': 'en-US,en;q=0.9',
  'Sec-WebSocket-Key': KEY,
  'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
};

/** Firefox: `Connection: keep-alive, Upgrade`, `Sec-Fetch-Mode: websocket`. */
export const firefoxHeaders: HeaderObject = {
  Host: 'example.com',
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  Accept: '*/*',
  'Accept-Language': 'en-US,en;q=0.5',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Sec-WebSocket-Version': '13',
  Origin: 'http://example.com',
  'Sec-WebSocket-Extensions': 'permessage-deflate',
  'Sec-WebSocket-Key': KEY,
  Connection: 'keep-alive, Upgrade',
  'Sec-Fetch-Dest': 'empty',
  'Sec-Fetch-Mode': 'websocket',
  'Sec-Fetch-Site': 'same-origin',
  Pragma: 'no-cache',
  'Cache-Control': 'no-cache',
  Upgrade: 'websocket',
};

/** The minimal valid handshake (what the `ws` client sends, without extensions). */
export const minimalHeaders: HeaderObject = {
  Host: 'example.com',
  Connection: 'Upgrade',
  Upgrade: 'websocket',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': KEY,
};

/** Builds a request; `headers` may be a header object or a flat raw header array. */
export function request(
  headers: HeaderObject | readonly string[],
  init: Partial<Omit<HandshakeRequest, 'headers'>> = {},
): HandshakeRequest {
  return {
    method: 'GET',
    url: '/chat',
    httpVersion: '1.1',
    arrival: 'upgrade',
    remoteAddress: '127.0.0.1',
    secure: false,
    ...init,
    headers: Array.isArray(headers)
      ? new RequestHeaders(headers as readonly string[])
      : RequestHeaders.fromObject(headers as HeaderObject),
  };
}

/** The minimal handshake with some headers replaced (`undefined` removes one). */
export function minimalWith(changes: HeaderObject): HeaderObject {
  return { ...minimalHeaders, ...changes };
}

/** Decides one request on a fresh gate. */
export async function decide(
  options: WsGateOptions<unknown> | undefined,
  headers: HeaderObject | readonly string[],
  init: Partial<Omit<HandshakeRequest, 'headers'>> = {},
  req: unknown = {},
): Promise<Decision> {
  return createGate(options).decide(request(headers, init), req);
}

/** Asserts a decision is a rejection and returns it with its rendered response. */
export function rejected(
  gate: Gate<unknown>,
  decision: Decision,
  handshake: HandshakeRequest,
): { decision: RejectDecision; response: HttpResponse } {
  if (decision.kind !== 'reject') {
    throw new Error(`expected a rejection, got ${JSON.stringify(decision)}`);
  }
  return { decision, response: gate.render(decision, handshake) };
}

/** Header lookup by case-insensitive name in a rendered response. */
export function header(response: HttpResponse, name: string): string | undefined {
  const entry = Object.entries(response.headers).find(([key]) => key.toLowerCase() === name.toLowerCase());
  return entry?.[1];
}

/** Runs a request through a gate and renders the outcome (reject) or returns the accept decision. */
export async function run(
  options: WsGateOptions<unknown> | undefined,
  headers: HeaderObject | readonly string[],
  init: Partial<Omit<HandshakeRequest, 'headers'>> = {},
  req: unknown = {},
): Promise<{ decision: Decision; response: HttpResponse | undefined; gate: Gate<unknown> }> {
  const gate = createGate(options);
  const handshake = request(headers, init);
  const decision = await gate.decide(handshake, req);
  const response = decision.kind === 'reject' ? gate.render(decision, handshake) : undefined;
  return { decision, response, gate };
}
