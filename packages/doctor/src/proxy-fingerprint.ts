/**
 * Names the product that wrote a response — nginx, Apache, HAProxy, Caddy, a CDN or load balancer,
 * or another WebSocket server — from its `Server` header and the shape of its error pages. Only
 * `includes`/`startsWith` on bounded text: linear, no regular expression on server bytes.
 */
import { header, type ResponseHead } from './http-response.js';

/** Who answered, and what gave it away. */
export interface Fingerprint {
  /** `nginx`, `apache`, `haproxy`, `caddy`, `cloudflare`, `aws-elb`, `envoy`, `ws`, `wsgate`, … */
  readonly product: string;
  /** The headers or body text that identified it. */
  readonly evidence: readonly string[];
}

interface BodyMark {
  readonly product: string;
  readonly text: string;
}

const SERVER_PRODUCTS: ReadonlyArray<readonly [prefix: string, product: string]> = [
  ['nginx', 'nginx'],
  ['openresty', 'nginx'],
  ['apache', 'apache'],
  ['haproxy', 'haproxy'],
  ['caddy', 'caddy'],
  ['cloudflare', 'cloudflare'],
  ['awselb', 'aws-elb'],
  ['envoy', 'envoy'],
  ['istio-envoy', 'envoy'],
  ['microsoft-iis', 'iis'],
  ['kestrel', 'kestrel'],
  ['jetty', 'jetty'],
  ['gunicorn', 'gunicorn'],
  ['uvicorn', 'uvicorn'],
  ['python/', 'python-websockets'],
  ['traefik', 'traefik'],
];

// The bodies these products send with their own error pages.
const BODY_MARKS: readonly BodyMark[] = [
  { product: 'nginx', text: '<hr><center>nginx' },
  { product: 'nginx', text: '<center>openresty' },
  { product: 'apache', text: '<address>Apache' },
  { product: 'apache', text: 'The proxy server received an invalid' },
  { product: 'haproxy', text: 'No server is available to handle this request' },
  { product: 'haproxy', text: "The server didn't respond in time" },
  { product: 'cloudflare', text: 'cloudflare-nginx' },
  { product: 'cloudflare', text: '<span>Cloudflare</span>' },
  { product: 'aws-elb', text: '<center>awselb' },
  { product: 'envoy', text: 'upstream connect error or disconnect/reset before headers' },
  { product: 'envoy', text: 'no healthy upstream' },
  // Other WebSocket servers' answers to a handshake they refuse.
  { product: 'python-websockets', text: 'Failed to open a WebSocket connection' },
  { product: 'gorilla-websocket', text: 'websocket: the client is not using the websocket protocol' },
  { product: 'gorilla-websocket', text: 'websocket: request origin not allowed' },
  { product: 'socket.io', text: '{"code":0,"message":"Transport unknown"}' },
  { product: 'socket.io', text: '"message":"Bad handshake method"' },
];

/** Identifies the product from the head and (bounded) body text; undefined when nothing matches. */
export function fingerprint(head: ResponseHead, body: string): Fingerprint | undefined {
  const evidence: string[] = [];
  let product: string | undefined;
  const server = header(head, 'server');
  if (server !== undefined) {
    const lower = server.toLowerCase();
    const match = SERVER_PRODUCTS.find(([prefix]) => lower.startsWith(prefix));
    if (match) {
      product = match[1];
      evidence.push(`Server: ${server}`);
    }
  }
  if (header(head, 'cf-ray') !== undefined) {
    product ??= 'cloudflare';
    evidence.push('CF-Ray header');
  }
  if (header(head, 'x-amz-cf-id') !== undefined) {
    product ??= 'cloudfront';
    evidence.push('X-Amz-Cf-Id header');
  }
  for (const mark of BODY_MARKS) {
    if (!body.includes(mark.text)) continue;
    product ??= mark.product;
    if (mark.product === product) evidence.push(`body contains ${JSON.stringify(mark.text)}`);
  }
  return product === undefined ? undefined : { product, evidence };
}

/** The `<title>` of an HTML page (bounded, linear); undefined when there is none. */
export function htmlTitle(body: string): string | undefined {
  const lower = body.slice(0, 16 * 1024).toLowerCase();
  const open = lower.indexOf('<title');
  if (open < 0) return undefined;
  const start = lower.indexOf('>', open);
  const end = lower.indexOf('</title', start);
  if (start < 0 || end < 0) return undefined;
  return body
    .slice(start + 1, end)
    .trim()
    .slice(0, 200);
}
