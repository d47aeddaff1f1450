/**
 * Stage 5, http: one correct handshake request, and what came back. A 101 goes on to the handshake
 * stage; anything else is classified (wsgate's problem, a proxy's page, a redirect, a 426, an SPA).
 */
import { classifyResponse, type RequestContext } from '../classify-response.js';
import {
  buildHandshakeRequest,
  type HandshakeRequest,
  type HandshakeRequestInit,
} from '../handshake-request.js';
import { type ResponseHead, readBody, readHead } from '../http-response.js';
import type { Inbox } from '../inbox.js';
import type { Evidence } from '../report.js';
import { failed, passed, type StageOutcome } from './outcome.js';

/** A 101 and the request it answers. */
export interface Switched {
  readonly request: HandshakeRequest;
  readonly head: ResponseHead;
}

/** Sends the handshake on a connected socket and reads the answer. */
export async function sendHandshake(
  inbox: Inbox,
  init: HandshakeRequestInit,
  context: RequestContext,
  timeoutMs: number,
): Promise<StageOutcome<Switched>> {
  const request = buildHandshakeRequest(init);
  inbox.socket.write(request.bytes);
  const started = performance.now();
  const sent = request.headers.map(([name, value]) => `${name}: ${value}`);
  const result = await readHead(inbox, timeoutMs);
  const ms = Math.round(performance.now() - started);
  const evidence: Evidence = { request: [`GET ${init.path} HTTP/1.1`, ...sent], ms };
  switch (result.kind) {
    case 'head': {
      const { head } = result;
      evidence.status = head.status;
      evidence.headers = head.rawHeaders.map(([name, value]) => `${name}: ${value}`);
      if (head.status === 101) return passed({ request, head }, evidence);
      const body = await readBody(inbox, head, timeoutMs);
      const failure = classifyResponse(head, body, context);
      return failed({ ...failure, evidence: { ...evidence, ...failure.evidence } });
    }
    case 'timeout':
      return failed({
        cause: 'http-timeout',
        detail: `no answer to the handshake within ${timeoutMs} ms${result.preview ? ` (partial: ${result.preview})` : ''}`,
        evidence,
      });
    case 'closed':
    case 'reset':
      return failed({
        cause: 'http-no-response',
        detail: `the server ${result.kind === 'reset' ? `reset the connection (${inbox.error?.code})` : 'closed the connection'} without answering the handshake${result.preview ? ` (partial: ${result.preview})` : ''}`,
        evidence,
      });
    case 'too-large':
      return failed({
        cause: 'http-response-too-large',
        detail: 'the response head is over 16 KiB',
        evidence,
      });
    case 'not-http': {
      const tls = result.bytes[1] === 0x03 && (result.bytes[0] === 0x15 || result.bytes[0] === 0x16);
      return failed({
        cause: tls ? 'url-ws-to-tls-port' : 'http-not-http',
        detail: tls
          ? 'the server answered the HTTP request with a TLS record: this port speaks TLS'
          : `the answer is not HTTP: ${result.preview}`,
        evidence: { ...evidence, received: result.preview },
      });
    }
  }
}
