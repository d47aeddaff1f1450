import { catalog, type HandshakeErrorCode, isCatalogCode, requiredHeadersFor } from './catalog.js';
import { isValidHeader } from './headers.js';

const BRAND = Symbol.for('@wsgate/core.HandshakeError');

/** What a {@link HandshakeError} may carry besides its code. */
export interface HandshakeErrorInit {
  /** What went wrong with this request. Sent to the client except for server faults in production. */
  detail?: string | undefined;
  /** What to change. Overrides the catalog's hint. */
  hint?: string | undefined;
  /**
   * Extra response headers. The catalog's mandatory headers (for a custom code: those its status
   * requires, e.g. `WWW-Authenticate` with 401) are added where missing.
   */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Status for a custom (non-catalog) code, 400–599. Ignored for catalog codes. */
  status?: number | undefined;
  /** Title for a custom code. */
  title?: string | undefined;
  /** A body to send instead of the rendered problem document (sent as given, `text/plain` unless `headers` say otherwise). */
  body?: string | undefined;
  /** Values the client may use, e.g. the supported subprotocols. Rendered as `supported`. */
  supported?: readonly string[] | undefined;
  /** The underlying error; logged, never sent. */
  cause?: unknown;
}

/**
 * A handshake rejection. Core returns it inside a rejection decision; application hooks may throw
 * or return one to reject with a catalog code or a custom status.
 *
 * `instanceof` works across duplicate installs of `@wsgate/core` (brand check).
 *
 * @example
 * ```ts
 * throw new HandshakeError('AUTHENTICATION_REQUIRED', {
 *   headers: { 'WWW-Authenticate': 'Bearer realm="chat"' },
 * });
 * ```
 */
export class HandshakeError extends Error {
  /** The stable code: a catalog code, or the application's own. */
  readonly code: HandshakeErrorCode | (string & {});
  /** The HTTP status sent. */
  readonly status: number;
  /** Response headers, mandatory ones included. */
  readonly headers: Readonly<Record<string, string>>;
  /** The one-line title. */
  readonly title: string;
  /** What went wrong with this request. */
  readonly detail: string | undefined;
  /** What to change. */
  readonly hint: string | undefined;
  /** A body sent as is instead of the rendered problem document. */
  readonly body: string | undefined;
  /** Values the client may use instead. */
  readonly supported: readonly string[] | undefined;

  constructor(code: HandshakeErrorCode | (string & {}), init: HandshakeErrorInit = {}) {
    const entry = isCatalogCode(code) ? catalog[code] : undefined;
    const status = entry?.status ?? init.status;
    if (status === undefined || !Number.isInteger(status) || status < 400 || status > 599) {
      throw new TypeError(
        `@wsgate/core: HandshakeError "${code}" is not a catalog code, so it needs a \`status\` from 400 to 599`,
      );
    }
    for (const [name, value] of Object.entries(init.headers ?? {})) {
      if (!isValidHeader(name, value)) {
        throw new TypeError(
          `@wsgate/core: HandshakeError "${code}" has an invalid header ${JSON.stringify(name)}`,
        );
      }
    }
    const title = entry?.title ?? init.title ?? code;
    super(init.detail ?? title, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'HandshakeError';
    this.code = code;
    this.status = status;
    this.title = title;
    this.detail = init.detail;
    this.hint = init.hint ?? (entry && 'hint' in entry ? entry.hint : undefined);
    this.body = init.body;
    this.supported = init.supported;
    this.headers = withDefaults(init.headers ?? {}, entry?.headers ?? requiredHeadersFor(status));
  }

  /** Brand check: true for a HandshakeError from any copy of `@wsgate/core`. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Whether the server (not the client) is at fault; such rejections log at error level. */
  get isServerFault(): boolean {
    return isCatalogCode(this.code) ? catalog[this.code].fault === 'server' : this.status >= 500;
  }
}
Object.defineProperty(HandshakeError.prototype, BRAND, { value: true });

const stackTraceLimitWritable = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')?.writable === true;

/**
 * A {@link HandshakeError} for a rejection core decides from the request alone (a malformed
 * handshake, a refused origin or subprotocol): the same error, built without a stack trace. Such
 * a stack would only show core's own frames, and capturing it cost more than the rest of the
 * decision (about 20 µs of a rejection). Errors that applications create keep their stack.
 */
export function requestRejection(
  code: HandshakeErrorCode | (string & {}),
  init?: HandshakeErrorInit,
): HandshakeError {
  if (!stackTraceLimitWritable) return new HandshakeError(code, init);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new HandshakeError(code, init);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Adds each default header whose name (case-insensitively) is not set yet. */
function withDefaults(
  given: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = { ...given };
  const present = new Set(Object.keys(given).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(defaults)) {
    if (!present.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}
