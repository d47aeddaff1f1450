/**
 * Reads wsgate's rejection bodies: `application/problem+json` (RFC 9457, `type` urn:wsgate:error:…)
 * and the `text/plain` form (`426 CODE: title`, then detail and `hint: …`). Bounded input, no regex.
 */
import { header, type ResponseHead } from './http-response.js';

/** What wsgate said about a rejected handshake. */
export interface WsgateProblem {
  readonly code: string;
  readonly title?: string | undefined;
  readonly detail?: string | undefined;
  readonly hint?: string | undefined;
  readonly supported?: readonly string[] | undefined;
}

const TYPE_PREFIX = 'urn:wsgate:error:';

/** The problem wsgate sent, or undefined when the body is not one of wsgate's. */
export function readWsgateProblem(head: ResponseHead, body: string): WsgateProblem | undefined {
  const type = (header(head, 'content-type') ?? '').toLowerCase();
  if (type.startsWith('application/problem+json') || type.startsWith('application/json'))
    return fromJson(body);
  if (type.startsWith('text/plain')) return fromText(head.status, body);
  return undefined;
}

function fromJson(body: string): WsgateProblem | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const doc = value as Record<string, unknown>;
  if (typeof doc.code !== 'string' || typeof doc.type !== 'string' || !doc.type.startsWith(TYPE_PREFIX)) {
    return undefined;
  }
  const text = (key: string) => (typeof doc[key] === 'string' ? (doc[key] as string) : undefined);
  const supported = Array.isArray(doc.supported)
    ? doc.supported.filter((item): item is string => typeof item === 'string')
    : undefined;
  return { code: doc.code, title: text('title'), detail: text('detail'), hint: text('hint'), supported };
}

function fromText(status: number, body: string): WsgateProblem | undefined {
  const lines = body.split('\n');
  const first = lines[0] ?? '';
  const prefix = `${status} `;
  const colon = first.indexOf(': ');
  if (!first.startsWith(prefix) || colon < 0) return undefined;
  const code = first.slice(prefix.length, colon);
  if (code === '' || !isCode(code)) return undefined;
  let detail: string | undefined;
  let hint: string | undefined;
  let supported: string[] | undefined;
  for (const line of lines.slice(1)) {
    if (line.startsWith('hint: ')) hint = line.slice(6);
    else if (line.startsWith('supported: ')) supported = line.slice(11).split(', ');
    else if (line !== '' && detail === undefined) detail = line;
  }
  return { code, title: first.slice(colon + 2), detail, hint, supported };
}

function isCode(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(c === 0x5f || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}
