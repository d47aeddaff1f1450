/**
 * What goes back to the client: a rejection as `application/problem+json` (RFC 9457) or
 * `text/plain`, and the 101 header set of an accepted handshake.
 */
import { createHash } from 'node:crypto';
import type { HandshakeError } from './errors.js';
import { isValidHeader, type RequestHeaders } from './headers.js';

/** An HTTP response as data: what an adapter writes, through the framework or on the raw socket. */
export interface HttpResponse {
  readonly status: number;
  /** Header names as they should be sent; values validated (no CR, LF or NUL). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The RFC 9457 problem document wsgate sends. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly code: string;
  readonly hint?: string;
  readonly supported?: readonly string[];
}

/** The `type` URI of a code's problem document. */
export function problemType(code: string): string {
  return `urn:wsgate:error:${code}`;
}

/**
 * Whether the client prefers JSON: yes unless its `Accept` gives JSON q=0 or ranks `text/plain`
 * strictly higher. No `Accept` at all (WebSocket clients send none) means JSON. Each type takes the
 * q of the most specific range that matches it (RFC 9110 §12.5.1); a problem document counts as
 * `application/json` unless `application/problem+json` is listed, so `application/json;q=0, *\/*`
 * refuses JSON.
 */
export function prefersJson(headers: RequestHeaders): boolean {
  const accept = headers.get('accept');
  if (accept === undefined || accept.trim() === '') return true;
  const ranges = accept.split(',').map((part) => {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    return { range, q: qParam ? Number(qParam.slice(2)) || 0 : 1 };
  });
  const json = quality(ranges, ['application/problem+json', 'application/json', 'application/*', '*/*']);
  const text = quality(ranges, ['text/plain', 'text/*', '*/*']);
  return json > 0 && json >= text;
}

/** The q of the first of `matches` (most specific first) that `Accept` lists; 0 when none is. */
function quality(ranges: ReadonlyArray<{ range: string; q: number }>, matches: readonly string[]): number {
  for (const match of matches) {
    let best = -1;
    for (const { range, q } of ranges) if (range === match && q > best) best = q;
    if (best >= 0) return best;
  }
  return 0;
}

/** Options of {@link renderRejection}. */
export interface RenderOptions {
  /** Hide the `detail` of server faults. */
  readonly production?: boolean | undefined;
}

/**
 * Renders a rejection for the request that caused it. `HOOK_FAILED` never shows its detail; in
 * production no server fault does. The status and code are always sent.
 */
export function renderRejection(
  error: HandshakeError,
  requestHeaders: RequestHeaders,
  options: RenderOptions = {},
): HttpResponse {
  const headers = safeHeaders(error.headers);
  // The writer frames the message (Content-Length from the body it sends), and a rendered body has
  // its own type: a stale value here would be sent twice or contradict the body.
  for (const name of Object.keys(headers)) {
    const key = name.toLowerCase();
    const rendered = error.body === undefined && key === 'content-type';
    if (rendered || key === 'content-length' || key === 'transfer-encoding') delete headers[name];
  }
  if (error.body !== undefined) {
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'text/plain; charset=utf-8';
    }
    return { status: error.status, headers, body: error.body };
  }
  const hideDetail = error.code === 'HOOK_FAILED' || (error.isServerFault && options.production === true);
  const problem: ProblemDocument = {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    ...(error.detail !== undefined && !hideDetail ? { detail: error.detail } : {}),
    code: error.code,
    ...(error.hint !== undefined ? { hint: error.hint } : {}),
    ...(error.supported !== undefined ? { supported: error.supported } : {}),
  };
  if (prefersJson(requestHeaders)) {
    headers['Content-Type'] = 'application/problem+json';
    return { status: error.status, headers, body: JSON.stringify(problem) };
  }
  headers['Content-Type'] = 'text/plain; charset=utf-8';
  const lines = [`${problem.status} ${problem.code}: ${problem.title}`];
  if (problem.detail !== undefined) lines.push(problem.detail);
  if (problem.hint !== undefined) lines.push(`hint: ${problem.hint}`);
  if (problem.supported !== undefined) lines.push(`supported: ${problem.supported.join(', ')}`);
  return { status: error.status, headers, body: `${lines.join('\n')}\n` };
}

/** Keeps only headers whose name and value Node would send (no CR, LF, NUL or invalid name). */
export function safeHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (isValidHeader(name, value)) out[name] = value;
  }
  return out;
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2 item 5.4). */
export function computeAcceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/**
 * The exact header set of a successful handshake over HTTP/1.1, in order: `Upgrade`, `Connection`,
 * `Sec-WebSocket-Accept`, then at most one `Sec-WebSocket-Protocol` and one `Sec-WebSocket-Extensions`.
 */
export function acceptHeaders(
  key: string,
  protocol?: string | undefined,
  extensions?: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Accept': computeAcceptKey(key),
  };
  if (protocol !== undefined) headers['Sec-WebSocket-Protocol'] = protocol;
  if (extensions !== undefined) headers['Sec-WebSocket-Extensions'] = extensions;
  return headers;
}
