/**
 * Origin policy (RFC 6455 §4.2.2, §10.2; RFC 6454). Missing `Origin` is allowed (non-browser
 * clients send none); without configuration only the same origin as `Host` is allowed.
 */
import { printable } from './headers.js';
import { parseHost } from './host.js';
import type { HandshakeRequest } from './request.js';

/**
 * A function deciding whether an origin is allowed.
 *
 * @param origin - The normalised origin (`scheme://host[:port]`, lower-case host, default port
 *   dropped), or `'null'`.
 * @param request - The framework's request object.
 */
export type OriginPredicate<TRequest = unknown> = (
  origin: string,
  request: TRequest,
) => boolean | Promise<boolean>;

/**
 * Which browser origins may open the endpoint.
 *
 * - `'same-origin'` (the default): the origin's host and port must equal the request's `Host`.
 * - `'*'`: every origin, `null` included. Must be explicit.
 * - A list of exact origins (`'https://app.example.com'`, `'http://localhost:5173'`), wildcard
 *   patterns (`'https://*.example.com'` matches any subdomain), `RegExp`s (tested against the
 *   normalised origin), and `'null'` to allow opaque origins.
 * - A function, for anything else.
 */
export type OriginPolicy<TRequest = unknown> =
  | 'same-origin'
  | '*'
  | ReadonlyArray<string | RegExp>
  | OriginPredicate<TRequest>;

/** A compiled origin policy: returns whether `origin` is allowed for `request`. */
export interface OriginMatcher<TRequest> {
  readonly kind: 'same-origin' | 'any' | 'list' | 'function';
  allows(origin: string, handshake: HandshakeRequest, request: TRequest): boolean | Promise<boolean>;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/** An origin split into its parts. */
export interface ParsedOrigin {
  readonly scheme: string;
  readonly host: string;
  /**
   * The port, always explicit (the scheme's default when absent); `''` for a scheme with no default
   * port that gave none (`chrome-extension://id`, `tauri://localhost`).
   */
  readonly port: string;
  /** `scheme://host[:port]` with the default port dropped and the host lower-cased. */
  readonly normalized: string;
}

/**
 * Parses a serialized origin (`scheme://host[:port]`). Anything else — paths, user info, queries,
 * a trailing slash — is malformed, as browsers never send it. Returns `undefined` when malformed.
 */
export function parseOrigin(value: string): ParsedOrigin | undefined {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(\[[0-9a-fA-F:.]+\]|[^/?#@:\s[\]]+)(?::(\d{1,5}))?$/.exec(
    value,
  );
  if (!match) return undefined;
  const scheme = `${(match[1] as string).toLowerCase()}:`;
  const host = (match[2] as string).toLowerCase();
  const defaultPort = DEFAULT_PORTS[scheme];
  const explicit = match[3];
  if (explicit !== undefined && Number(explicit) > 65535) return undefined;
  // RFC 6454 §6.2: the port is omitted when it is the scheme's default, and schemes such as
  // chrome-extension: or tauri: have no default, so their origins carry no port at all.
  const port = explicit === undefined ? (defaultPort ?? '') : String(Number(explicit));
  const normalized = `${scheme}//${host}${port === defaultPort || port === '' ? '' : `:${port}`}`;
  return { scheme, host, port, normalized };
}

function sameOrigin(origin: ParsedOrigin, handshake: HandshakeRequest): boolean {
  const site = addressedTo(handshake);
  return site !== undefined && origin.host === site.host && origin.port === site.port;
}

/**
 * The host and port a request was addressed to. With the framework's resolved site (its
 * trust-proxy setting applied), the first of `X-Forwarded-Host` and `Host` whose host is the
 * framework's host name gives the port, and the framework's scheme the default port; without it,
 * `Host` and the connection. A value that is not a host never matches.
 */
function addressedTo(handshake: HandshakeRequest): { host: string; port: string } | undefined {
  const { site, headers } = handshake;
  const candidates = site
    ? [headers.list('x-forwarded-host')[0], headers.get('host')]
    : [headers.get('host')];
  const hostname = site?.hostname.toLowerCase();
  const secure = site ? site.protocol === 'https' || site.protocol === 'wss' : handshake.secure === true;
  for (const value of candidates) {
    if (value === undefined) continue;
    const parsed = parseHost(value);
    if (!parsed || (hostname !== undefined && parsed.host !== hostname)) continue;
    return { host: parsed.host, port: parsed.port ?? (secure ? '443' : '80') };
  }
  return undefined;
}

/**
 * Compiles an {@link OriginPolicy}; throws a `TypeError` naming `option` for an invalid entry.
 */
export function compileOriginPolicy<TRequest>(
  policy: OriginPolicy<TRequest>,
  option: string,
): OriginMatcher<TRequest> {
  if (policy === 'same-origin') {
    return {
      kind: 'same-origin',
      allows: (origin, handshake) => {
        const parsed = parseOrigin(origin);
        return parsed !== undefined && sameOrigin(parsed, handshake);
      },
    };
  }
  if (policy === '*') return { kind: 'any', allows: () => true };
  if (typeof policy === 'function') {
    return { kind: 'function', allows: (origin, _handshake, req) => policy(origin, req) };
  }
  if (!Array.isArray(policy)) {
    throw new TypeError(
      `@wsgate/core: option \`${option}\` must be 'same-origin', '*', an array of origins/patterns, or a function`,
    );
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const entry of policy as ReadonlyArray<string | RegExp>) {
    if (entry instanceof RegExp) {
      patterns.push(entry);
    } else if (entry === 'null') {
      exact.add('null');
    } else if (typeof entry === 'string' && entry.includes('*')) {
      patterns.push(wildcardPattern(entry, option));
    } else if (typeof entry === 'string') {
      const parsed = parseOrigin(entry);
      if (!parsed) {
        throw new TypeError(
          `@wsgate/core: option \`${option}\` has "${entry}", which is not an origin (scheme://host[:port], no path or trailing slash)`,
        );
      }
      exact.add(parsed.normalized);
    } else {
      throw new TypeError(`@wsgate/core: option \`${option}\` may only hold strings and RegExps`);
    }
  }
  return {
    kind: 'list',
    // An opaque origin is allowed only by listing 'null' itself, never by a pattern that happens to match it.
    allows: (origin) =>
      exact.has(origin) || (origin !== 'null' && patterns.some((pattern) => testPattern(pattern, origin))),
  };
}

function testPattern(pattern: RegExp, origin: string): boolean {
  pattern.lastIndex = 0; // a /g or /y RegExp keeps state between calls
  return pattern.test(origin);
}

/** `https://*.example.com[:port]` → a RegExp matching one or more subdomain labels. */
function wildcardPattern(entry: string, option: string): RegExp {
  const match = /^([a-z][a-z0-9+.-]*):\/\/\*\.([^/*?#@:\s]+)(?::(\d{1,5}))?$/i.exec(entry);
  const parsed = match
    ? parseOrigin(`${match[1]}://${match[2]}${match[3] ? `:${match[3]}` : ''}`)
    : undefined;
  if (!match || !parsed) {
    throw new TypeError(
      `@wsgate/core: option \`${option}\` has "${entry}"; a wildcard must be the first label, as in "https://*.example.com"`,
    );
  }
  const suffix = parsed.normalized.slice(parsed.scheme.length + 2);
  const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escapeRegExp(parsed.scheme)}//(?:[a-z0-9-]+\\.)+${escapeRegExp(suffix)}$`);
}

/**
 * The hint of a 403 for `origin` (as received), saying what to change for this endpoint's policy.
 * A list policy is named, not repeated: the response goes to whoever sent the handshake, and the
 * list may hold origins (an admin host, a staging domain) that are not theirs to learn.
 */
export function originHint(kind: OriginMatcher<unknown>['kind'], origin: string | undefined): string {
  const shown = origin === undefined ? '' : ` "${origin}"`;
  switch (kind) {
    case 'list':
      return `The origin${shown} is not in this endpoint's \`origins\` list: add it there, or open the page from an origin the list allows.`;
    case 'function':
      return `This endpoint's \`origins\` function did not allow the origin${shown}: change that function to allow it.`;
    default:
      return `Allow the origin${shown} in the \`origins\` option, or open the page from the same host as the server.`;
  }
}

/** The origin check's result for one request. */
export type OriginCheck =
  | { readonly ok: true; readonly origin: string | undefined }
  | { readonly ok: false; readonly origin: string | undefined; readonly detail: string };

/**
 * Applies the origin policy to a request (a promise only for an async policy function): no `Origin` → allowed; repeated, malformed, or not
 * allowed → not ok; `null` only when the policy lists `'null'` or is `'*'`.
 */
export function checkOrigin<TRequest>(
  matcher: OriginMatcher<TRequest>,
  handshake: HandshakeRequest,
  request: TRequest,
): OriginCheck | Promise<OriginCheck> {
  const values = handshake.headers.all('origin');
  if (values.length === 0) return { ok: true, origin: undefined };
  const raw = values[0] as string;
  if (values.length > 1) return { ok: false, origin: raw, detail: 'the Origin header is repeated' };
  const value = raw.trim();
  let origin: string;
  if (value === 'null') {
    origin = 'null';
  } else {
    const parsed = parseOrigin(value);
    if (!parsed) return { ok: false, origin: value, detail: `the Origin "${printable(value)}" is malformed` };
    origin = parsed.normalized;
  }
  if (origin === 'null' && matcher.kind === 'same-origin') {
    return { ok: false, origin, detail: 'the Origin "null" (an opaque origin) is not allowed' };
  }
  // Synchronous unless the policy is an async function (an await costs a microtask turn, and the
  // gate bounds a promise with a timer).
  const allowed = matcher.allows(origin, handshake, request);
  if (typeof allowed === 'boolean') return verdict(allowed, origin);
  return Promise.resolve(allowed).then((ok) => verdict(ok, origin));
}

function verdict(allowed: boolean, origin: string): OriginCheck {
  return allowed
    ? { ok: true, origin }
    : { ok: false, origin, detail: `the Origin "${origin}" is not allowed` };
}
