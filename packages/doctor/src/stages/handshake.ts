/**
 * Stage 6, handshake: the 101 itself (RFC 6455 §4.1, client side): `Upgrade: websocket`, the
 * `upgrade` token in `Connection`, the exact `Sec-WebSocket-Accept`, a subprotocol that was offered
 * and echoed, extensions that were offered.
 */
import { computeAcceptKey } from '@wsgate/core';
import { header, headerCount } from '../http-response.js';
import type { Evidence } from '../report.js';
import type { Switched } from './http.js';
import { failed, passed, type StageOutcome } from './outcome.js';

/** What the open stage needs to know from the 101. */
export interface Negotiated {
  readonly protocol?: string | undefined;
  readonly deflate: boolean;
}

function tokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== '');
}

/** Checks the 101 against the request. */
export function checkSwitch(
  { request, head }: Switched,
  offeredProtocols: readonly string[],
): StageOutcome<Negotiated> {
  const upgrade = header(head, 'upgrade');
  const connection = header(head, 'connection');
  const accept = header(head, 'sec-websocket-accept');
  const protocol = header(head, 'sec-websocket-protocol');
  const extensions = header(head, 'sec-websocket-extensions');
  const want = computeAcceptKey(request.key);
  const evidence: Evidence = { upgrade, connection, accept, expectedAccept: want, protocol, extensions };
  if (!tokens(upgrade).includes('websocket')) {
    return failed({
      cause: 'handshake-upgrade-header',
      detail: `the 101 has ${upgrade === undefined ? 'no Upgrade header' : `Upgrade: ${upgrade}`}, not websocket`,
      evidence,
    });
  }
  if (!tokens(connection).includes('upgrade')) {
    return failed({
      cause: 'handshake-connection-header',
      detail: `the 101 has ${connection === undefined ? 'no Connection header' : `Connection: ${connection}`}, without upgrade`,
      evidence,
    });
  }
  if (accept !== want || headerCount(head, 'sec-websocket-accept') !== 1) {
    return failed({
      cause: 'handshake-accept-mismatch',
      detail:
        accept === undefined
          ? 'the 101 has no Sec-WebSocket-Accept'
          : `Sec-WebSocket-Accept is ${accept}, the key sent needs ${want}`,
      evidence,
    });
  }
  if (
    protocol !== undefined &&
    (headerCount(head, 'sec-websocket-protocol') > 1 || !offeredProtocols.includes(protocol))
  ) {
    return failed({
      cause: 'handshake-subprotocol-not-offered',
      detail:
        offeredProtocols.length === 0
          ? `the 101 selected "${protocol}" though no subprotocol was offered`
          : `the 101 selected "${protocol}", which is not one of the offered ${offeredProtocols.join(', ')}`,
      evidence,
    });
  }
  if (protocol === undefined && offeredProtocols.length > 0) {
    return failed({
      cause: 'handshake-subprotocol-not-echoed',
      detail: `${offeredProtocols.join(', ')} offered, and the 101 has no Sec-WebSocket-Protocol: Chromium and ws fail here ("Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received")`,
      evidence,
    });
  }
  const accepted = (extensions ?? '')
    .split(',')
    .map((ext) => (ext.split(';')[0] ?? '').trim().toLowerCase())
    .filter((name) => name !== '');
  const unoffered = accepted.filter((name) => !request.offeredExtensions.includes(name));
  if (unoffered.length > 0) {
    return failed({
      cause: 'handshake-extension-not-offered',
      detail: `the 101 accepted ${unoffered.join(', ')}, never offered (offered: ${request.offeredExtensions.join(', ') || 'none'})`,
      evidence,
    });
  }
  return passed({ protocol, deflate: accepted.includes('permessage-deflate') }, evidence);
}
