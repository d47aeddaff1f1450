/**
 * Subprotocol negotiation (RFC 6455 §4.1 item 10, §4.2.2 item 4).
 */
import { isToken, printable, trimOws } from './headers.js';

/** The most subprotocols read from one request (a DoS bound). */
export const MAX_SUBPROTOCOLS_OFFERED = 32;
/** The longest subprotocol token accepted (a DoS bound). */
export const MAX_SUBPROTOCOL_LENGTH = 128;

/** The result of {@link parseSubprotocols}. */
export type SubprotocolParse =
  | { readonly ok: true; readonly offered: readonly string[] }
  | {
      readonly ok: false;
      readonly code: 'SUBPROTOCOL_HEADER_MALFORMED' | 'SUBPROTOCOL_DUPLICATE';
      readonly detail: string;
    };

/**
 * Reads the offered subprotocols from all `Sec-WebSocket-Protocol` lines. Empty elements are
 * ignored; a header with no element at all, a non-token element, too many or too long elements
 * are malformed; a token offered twice is a duplicate.
 */
export function parseSubprotocols(lines: readonly string[]): SubprotocolParse {
  if (lines.length === 0) return { ok: true, offered: [] };
  const offered: string[] = [];
  for (const line of lines) {
    for (const part of line.split(',')) {
      const token = trimOws(part);
      if (token === '') continue;
      if (token.length > MAX_SUBPROTOCOL_LENGTH) {
        return malformed(`a subprotocol is longer than ${MAX_SUBPROTOCOL_LENGTH} characters`);
      }
      if (!isToken(token)) return malformed(`"${printable(token)}" is not a token`);
      if (offered.includes(token)) {
        return { ok: false, code: 'SUBPROTOCOL_DUPLICATE', detail: `"${token}" is offered twice` };
      }
      offered.push(token);
      if (offered.length > MAX_SUBPROTOCOLS_OFFERED) {
        return malformed(`more than ${MAX_SUBPROTOCOLS_OFFERED} subprotocols are offered`);
      }
    }
  }
  if (offered.length === 0) return malformed('the header lists no subprotocol');
  return { ok: true, offered };
}

function malformed(detail: string): SubprotocolParse {
  return { ok: false, code: 'SUBPROTOCOL_HEADER_MALFORMED', detail };
}

/**
 * Picks the subprotocol both sides support.
 *
 * @param supported - The endpoint's subprotocols, in server preference order.
 * @param offered - The client's, in client preference order.
 * @param preference - Whose order wins.
 * @returns The chosen token (exactly as the client spelled it), or `undefined` when none matches.
 */
export function selectSubprotocol(
  supported: readonly string[],
  offered: readonly string[],
  preference: 'server' | 'client',
): string | undefined {
  if (preference === 'client') return offered.find((token) => supported.includes(token));
  return supported.find((token) => offered.includes(token));
}
