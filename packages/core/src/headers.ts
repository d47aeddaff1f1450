import { validateHeaderName, validateHeaderValue } from 'node:http';

/**
 * Request headers as they arrived, duplicates and spellings included (Node's `req.headers` drops a
 * repeated `Host` and joins other repeats, so the handshake rules cannot be checked on it).
 */
export class RequestHeaders {
  /** Lower-cased name → every value, in arrival order. */
  readonly #values = new Map<string, string[]>();
  /** Header names exactly as spelled on the wire, in arrival order. */
  readonly names: readonly string[];

  /**
   * @param raw - Name/value pairs flattened as in Node's `IncomingMessage.rawHeaders`.
   */
  constructor(raw: readonly string[]) {
    const names: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      names.push(name);
      const key = name.toLowerCase();
      const list = this.#values.get(key);
      if (list) list.push(value);
      else this.#values.set(key, [value]);
    }
    this.names = names;
  }

  /**
   * Builds headers from a plain object (for tests and non-Node callers). Array values become
   * repeated headers.
   */
  static fromObject(
    headers: Readonly<Record<string, string | number | readonly string[] | undefined>>,
  ): RequestHeaders {
    const raw: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const v of typeof value === 'object' ? value : [String(value)]) raw.push(name, v);
    }
    return new RequestHeaders(raw);
  }

  /** Every line of the header `name` (case-insensitive), or an empty array. */
  all(name: string): readonly string[] {
    return this.#values.get(name.toLowerCase()) ?? [];
  }

  /** The single value of `name`, all lines joined with `", "`; `undefined` when absent. */
  get(name: string): string | undefined {
    const list = this.#values.get(name.toLowerCase());
    if (!list) return undefined;
    return list.length === 1 ? list[0] : list.join(', ');
  }

  /** Whether the header is present (even with an empty value). */
  has(name: string): boolean {
    return this.#values.has(name.toLowerCase());
  }

  /** How many times the header arrived. */
  count(name: string): number {
    return this.#values.get(name.toLowerCase())?.length ?? 0;
  }

  /**
   * The header as an RFC 9110 list: all lines merged, split on `,`, trimmed of spaces and tabs,
   * empty elements dropped.
   */
  list(name: string): string[] {
    return parseList(this.all(name));
  }

  /** Whether the list header `name` contains `token` as a whole element, compared case-insensitively. */
  hasToken(name: string, token: string): boolean {
    const wanted = token.toLowerCase();
    return this.list(name).some((element) => element.toLowerCase() === wanted);
  }
}

/** Splits header lines into list elements (RFC 9110 §5.6.1): `,`-separated, OWS trimmed, empties dropped. */
export function parseList(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    for (const part of line.split(',')) {
      const element = trimOws(part);
      if (element !== '') out.push(element);
    }
  }
  return out;
}

/**
 * Trims spaces and horizontal tabs only (not other whitespace), as HTTP's OWS. A scan from each
 * end, linear in the length: a regular expression such as `/[ \t]+$/` retries from every space of
 * a long run and takes quadratic time on a 15 KB value.
 */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * A client value for a detail message, control characters escaped, cut to 200 characters (never
 * written to a response header).
 */
export function printable(value: string): string {
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  return JSON.stringify(shown).slice(1, -1);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `value` is an RFC 9110 `token` (§5.6.2). */
export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/** Whether `name: value` may be written to a response (Node's own header validation, no CR/LF/NUL). */
export function isValidHeader(name: string, value: string): boolean {
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) return false;
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
