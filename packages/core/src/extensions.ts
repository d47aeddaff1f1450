/**
 * `Sec-WebSocket-Extensions` parsing (RFC 6455 §9.1) and permessage-deflate offer checks (RFC 7692 §7).
 */
import { isToken } from './headers.js';

/** One extension offer: its name and parameters in order (`true` for a parameter without value). */
export interface ExtensionOffer {
  readonly name: string;
  readonly params: ReadonlyArray<readonly [name: string, value: string | true]>;
}

/** The result of {@link parseExtensions}. */
export type ExtensionsParse =
  | { readonly ok: true; readonly offers: readonly ExtensionOffer[] }
  | { readonly ok: false; readonly reason: string };

/** The most extension offers read from one request (a DoS bound; Chrome sends one). */
export const MAX_EXTENSION_OFFERS = 32;

/**
 * Parses `Sec-WebSocket-Extensions` lines by the RFC 6455 §9.1 grammar:
 * `extension *( "," extension )`, `extension = token *( ";" token [ "=" ( token / quoted-string ) ] )`,
 * where a quoted value must unescape to a token. Empty list elements are ignored (RFC 9110 §5.6.1).
 */
export function parseExtensions(lines: readonly string[]): ExtensionsParse {
  const offers: ExtensionOffer[] = [];
  for (const line of lines) {
    const scanner = new Scanner(line);
    while (true) {
      scanner.skipOws();
      if (scanner.done) break;
      if (scanner.peek() === ',') {
        scanner.next();
        continue;
      }
      const name = scanner.token();
      if (!name) return fail(`expected an extension name at position ${scanner.pos}`);
      const params: Array<readonly [string, string | true]> = [];
      scanner.skipOws();
      while (scanner.peek() === ';') {
        scanner.next();
        scanner.skipOws();
        const param = scanner.token();
        if (!param) return fail(`expected a parameter name after ";" in "${name}"`);
        scanner.skipOws();
        let value: string | true = true;
        if (scanner.peek() === '=') {
          scanner.next();
          scanner.skipOws();
          const v = scanner.peek() === '"' ? scanner.quoted() : scanner.token();
          if (v === undefined || !isToken(v))
            return fail(`parameter "${param}" of "${name}" has no valid value`);
          value = v;
          scanner.skipOws();
        }
        params.push([param, value]);
      }
      if (!scanner.done && scanner.peek() !== ',') {
        return fail(`unexpected "${scanner.peek()}" after extension "${name}"`);
      }
      offers.push({ name, params });
      if (offers.length > MAX_EXTENSION_OFFERS) return fail(`more than ${MAX_EXTENSION_OFFERS} offers`);
    }
  }
  return { ok: true, offers };
}

function fail(reason: string): ExtensionsParse {
  return { ok: false, reason };
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  next(): void {
    this.pos++;
  }
  skipOws(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (this.pos < this.text.length && TOKEN_CHAR.test(this.text[this.pos] as string)) this.pos++;
    return this.text.slice(start, this.pos);
  }
  /** A quoted-string (RFC 9110 §5.6.4), unescaped; `undefined` when unterminated. */
  quoted(): string | undefined {
    this.pos++; // opening quote
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++] as string;
      if (c === '"') return out;
      if (c === '\\') {
        if (this.pos >= this.text.length) return undefined;
        out += this.text[this.pos++];
      } else out += c;
    }
    return undefined;
  }
}

/** Why a permessage-deflate offer was declined, or `undefined` when it is acceptable. */
export function checkPerMessageDeflateOffer(offer: ExtensionOffer): string | undefined {
  const seen = new Set<string>();
  for (const [name, value] of offer.params) {
    const key = name.toLowerCase();
    if (seen.has(key)) return `parameter "${name}" is repeated`;
    seen.add(key);
    switch (key) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return `"${name}" takes no value`;
        break;
      case 'server_max_window_bits':
        if (value === true) return `"${name}" needs a value`;
        if (!isWindowBits(value)) return `"${name}=${value}" is not 8 to 15`;
        // zlib cannot deflate with an 8-bit window (it silently uses 9), so the promise could not be kept.
        if (value === '8') return `"${name}=8" cannot be honoured by zlib`;
        break;
      case 'client_max_window_bits':
        if (value !== true && !isWindowBits(value)) return `"${name}=${value}" is not 8 to 15`;
        break;
      default:
        return `unknown parameter "${name}"`;
    }
  }
  return undefined;
}

function isWindowBits(value: string): boolean {
  // 1*DIGIT without a leading zero, 8..15 (RFC 7692 §7.1.2).
  return /^(?:[89]|1[0-5])$/.test(value);
}

/** Serializes offers back into one `Sec-WebSocket-Extensions` value. */
export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  return offers
    .map((offer) =>
      [offer.name, ...offer.params.map(([name, value]) => (value === true ? name : `${name}=${value}`))].join(
        '; ',
      ),
    )
    .join(', ');
}

/** The outcome of filtering a request's extension offers. */
export interface ExtensionNegotiation {
  /** The permessage-deflate offers that passed, in the client's order. */
  readonly accepted: readonly ExtensionOffer[];
  /** Offers that were dropped, with the reason (for the debug log). */
  readonly declined: ReadonlyArray<{ readonly offer: string; readonly reason: string }>;
}

/**
 * Keeps the permessage-deflate offers that RFC 7692 allows and declines the rest (never a failure).
 * Unknown extensions are ignored, as RFC 6455 §9.1 asks. With `perMessageDeflate` off, nothing is kept.
 */
export function negotiateExtensions(
  offers: readonly ExtensionOffer[],
  perMessageDeflate: boolean,
): ExtensionNegotiation {
  const accepted: ExtensionOffer[] = [];
  const declined: Array<{ offer: string; reason: string }> = [];
  for (const offer of offers) {
    if (offer.name.toLowerCase() !== 'permessage-deflate') {
      declined.push({ offer: formatExtensions([offer]), reason: 'unknown extension' });
      continue;
    }
    const reason = perMessageDeflate ? checkPerMessageDeflateOffer(offer) : 'permessage-deflate is disabled';
    if (reason) declined.push({ offer: formatExtensions([offer]), reason });
    // Names were compared case-insensitively; ws matches them exactly ("Unknown parameter" → 400),
    // so the offer is handed on in the RFC 7692 spelling.
    else
      accepted.push({
        name: 'permessage-deflate',
        params: offer.params.map(([n, v]) => [n.toLowerCase(), v]),
      });
  }
  return { accepted, declined };
}
