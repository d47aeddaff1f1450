/**
 * The `Host` header (RFC 9112 §3.2): `uri-host [ ":" port ]` by RFC 3986 §3.2.2–3.2.3, with a
 * non-empty host as RFC 9110 §4.2.1 requires of an http URI. One scan of the value, no regular
 * expression: the value is client input of up to the header limit.
 */
import { isIPv6 } from 'node:net';
import { trimOws } from './headers.js';

/** A `Host` value split into its parts. */
export interface ParsedHost {
  /** The host, lower-cased; an IPv6 literal keeps its brackets (`[::1]`). */
  readonly host: string;
  /** The port as a decimal number without leading zeros; `undefined` when absent or empty. */
  readonly port: string | undefined;
}

/** The highest TCP port. */
const MAX_PORT = 65_535;

/**
 * Parses a `Host` header value. Returns `undefined` for anything that is not `uri-host [":" port]`:
 * an empty host, two hosts joined in one line (`a:1, b`), spaces, a path, user info, a port that is
 * not digits or above 65535.
 *
 * @example
 * ```ts
 * parseHost('Example.com:8080'); // { host: 'example.com', port: '8080' }
 * parseHost('127.0.0.1:3521, evil.example'); // undefined
 * ```
 */
export function parseHost(value: string): ParsedHost | undefined {
  const text = trimOws(value);
  let end: number; // index just past the host
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    end = text.indexOf(']') + 1;
    if (end === 0 || !isIPv6Literal(text.slice(1, end - 1))) return undefined;
  } else {
    end = 0;
    while (end < text.length && text.charCodeAt(end) !== 0x3a /* : */) {
      if (!isRegNameChar(text, end)) return undefined;
      end += text.charCodeAt(end) === 0x25 /* % */ ? 3 : 1;
    }
    if (end === 0) return undefined;
  }
  const host = text.slice(0, end).toLowerCase();
  if (end === text.length) return { host, port: undefined };
  if (text.charCodeAt(end) !== 0x3a) return undefined;
  const digits = text.slice(end + 1);
  // RFC 3986 §3.2.3: `port = *DIGIT`, so `host:` is valid and means the default port.
  if (digits === '') return { host, port: undefined };
  if (digits.length > 5) return undefined;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const port = Number(digits);
  return port > MAX_PORT ? undefined : { host, port: String(port) };
}

/**
 * `unreserved / pct-encoded / sub-delims` (RFC 3986 §3.2.2 `reg-name`, which also covers
 * `IPv4address`) at `i`; a `%` must start a `pct-encoded` triplet.
 */
function isRegNameChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c === 0x25) return isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2));
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    REG_NAME_PUNCTUATION.has(c)
  );
}

/** `- . _ ~` (unreserved) and `! $ & ' ( ) * + , ; =` (sub-delims). */
const REG_NAME_PUNCTUATION = new Set(Array.from("-._~!$&'()*+,;=", (c) => c.charCodeAt(0)));

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** An IPv6 address as it may stand between brackets in a URI (no zone id: RFC 6874 is not used in Host). */
function isIPv6Literal(inner: string): boolean {
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (!(isHex(c) || c === 0x3a || c === 0x2e)) return false;
  }
  return isIPv6(inner);
}
