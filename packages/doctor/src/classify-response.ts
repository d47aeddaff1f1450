/**
 * Turns a non-101 answer into a named cause: wsgate's own rejection, a proxy's error page, a 200 from
 * something that is not a WebSocket server, a redirect, a 426, or another status.
 */
import { header, type ResponseBody, type ResponseHead } from './http-response.js';
import { type Fingerprint, fingerprint, htmlTitle } from './proxy-fingerprint.js';
import type { Evidence, StageFailure } from './report.js';
import { readWsgateProblem } from './wsgate-problem.js';

/** What the request asked for, to explain the answer. */
export interface RequestContext {
  readonly url: URL;
  readonly protocols: readonly string[];
  readonly origin?: string | undefined;
}

const PROXY_FIXES: Readonly<Record<string, string>> = {
  nginx:
    'nginx could not get an answer from the app: check the proxy_pass address and that the app runs; for 504, raise proxy_read_timeout / proxy_connect_timeout.',
  apache:
    'Apache could not reach the app: check the ProxyPass address and that the app runs (and mod_proxy_wstunnel or upgrade=websocket).',
  haproxy:
    'HAProxy has no healthy server in the backend: check the backend address, its health check and the app.',
  caddy: 'Caddy could not reach the app: check the reverse_proxy address and that the app runs.',
  envoy: 'Envoy could not reach the upstream: check the cluster address and that the app runs.',
};

/** Classifies the answer; the failure carries the evidence (status, headers, body excerpt). */
export function classifyResponse(
  head: ResponseHead,
  body: ResponseBody,
  request: RequestContext,
): StageFailure {
  const found = fingerprint(head, body.text);
  const evidence: Evidence = {
    status: head.status,
    reason: head.reason,
    headers: head.rawHeaders.map(([name, value]) => `${name}: ${value}`),
    body: body.text.slice(0, 2000),
    ...(body.truncated ? { bodyTruncated: true } : {}),
    ...(found ? { server: found } : {}),
  };
  const fail = (cause: StageFailure['cause'], detail: string, fix?: string): StageFailure => ({
    cause,
    detail,
    fix,
    evidence,
  });
  const status = head.status;
  const problem = readWsgateProblem(head, body.text);
  if (problem) {
    evidence.wsgate = problem;
    const said = [problem.title, problem.detail].filter((part) => part !== undefined).join(': ');
    return fail(
      'http-wsgate-rejection',
      `wsgate answered ${status} ${problem.code}${said ? ` (${said})` : ''}`,
      [problem.hint, `see docs/errors.md#${problem.code.toLowerCase()}`].filter(Boolean).join(' — '),
    );
  }
  if (status >= 300 && status < 400) {
    const location = header(head, 'location');
    evidence.location = location;
    return fail(
      'http-redirect',
      `the server answered ${status} with Location: ${location ?? '(none)'}; WebSocket clients do not follow redirects`,
      location === undefined
        ? undefined
        : `Use the redirect target directly (${toWebSocketUrl(location, request.url)}), or stop redirecting this path.`,
    );
  }
  const type = (header(head, 'content-type') ?? '').toLowerCase();
  const plainHttpToTls = body.text.includes('plain HTTP request was sent to HTTPS port');
  if (plainHttpToTls) {
    return fail(
      'url-ws-to-tls-port',
      `${found?.product ?? 'the server'} answered ${status}: "The plain HTTP request was sent to HTTPS port"`,
    );
  }
  if (status === 426) {
    const upgrade = header(head, 'upgrade');
    const version = header(head, 'sec-websocket-version');
    const missing: string[] = [];
    if (upgrade === undefined) missing.push('the 426 has no Upgrade header (RFC 9110 requires it)');
    if (version !== undefined && version !== '13')
      missing.push(`the server wants Sec-WebSocket-Version: ${version}`);
    return fail(
      'http-upgrade-required',
      `the server answered 426 Upgrade Required${upgrade ? ` (Upgrade: ${upgrade})` : ''}: the handshake did not arrive as sent${missing.length ? `; ${missing.join('; ')}` : ''}`,
    );
  }
  if (status >= 200 && status < 300) {
    const html =
      type.startsWith('text/html') || body.text.trimStart().toLowerCase().startsWith('<!doctype html');
    const title = html ? htmlTitle(body.text) : undefined;
    if (title !== undefined) evidence.title = title;
    if (html) {
      return fail(
        'http-spa-fallback',
        `the server answered ${status} with an HTML page${title ? ` ("${title}")` : ''}: a static or SPA fallback route answered, not a WebSocket endpoint`,
      );
    }
    return fail(
      'http-not-websocket',
      `the server answered ${status} (${type || 'no Content-Type'}) instead of 101`,
    );
  }
  if (status === 404) return fail('http-not-found', `the server answered 404 for this path${by(found)}`);
  if (status === 401) {
    const challenge = header(head, 'www-authenticate');
    return fail(
      'http-unauthorized',
      `the server answered 401${challenge ? ` (WWW-Authenticate: ${challenge})` : ''}${by(found)}`,
    );
  }
  if (status === 403) {
    const origin = request.origin === undefined ? 'no Origin was sent' : `Origin: ${request.origin} was sent`;
    return fail('http-forbidden', `the server answered 403 (${origin})${by(found)}`);
  }
  if (status === 400)
    return fail('http-bad-request', `the server answered 400${by(found)}: ${firstLine(body.text)}`);
  if ((status === 502 || status === 503 || status === 504) && found && found.product !== 'ws') {
    return fail(
      'http-proxy-error',
      `${found.product} answered ${status} ${head.reason} with its own error page: it did not get an answer from the app`,
      PROXY_FIXES[found.product],
    );
  }
  if (status >= 500)
    return fail('http-server-error', `the server answered ${status} ${head.reason}${by(found)}`);
  return fail('http-unexpected-status', `the server answered ${status} ${head.reason}${by(found)}`);
}

function by(found: Fingerprint | undefined): string {
  return found ? ` (from ${found.product})` : '';
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line === '' ? '(empty body)' : line.slice(0, 200);
}

/** The redirect target as the WebSocket URL to use instead. */
function toWebSocketUrl(location: string, base: URL): string {
  let target: URL;
  try {
    target = new URL(location, base);
  } catch {
    return location;
  }
  if (target.protocol === 'https:') target.protocol = 'wss:';
  else if (target.protocol === 'http:') target.protocol = 'ws:';
  return target.href;
}
