/**
 * The W3C Trace Context headers of a handshake (`traceparent`, `tracestate`), validated before
 * they reach the record, so that a tracer (`@wsgate/otel`) can make the handshake's span a child of
 * the caller's trace. Linear scans, no regular expressions: the values come from the client.
 */
import type { RequestHeaders } from './headers.js';

/** The trace context a client sent, as it may be handed to a W3C propagator. */
export interface TraceContextHeaders {
  /** A well-formed `traceparent` (W3C Trace Context level 1), lower-case hex. */
  readonly traceparent: string;
  /** The `tracestate` lines joined with `,`, when present, printable and at most 512 characters. */
  readonly tracestate?: string | undefined;
}

/** The longest `tracestate` kept (the W3C minimum a platform must propagate). */
export const MAX_TRACESTATE_LENGTH = 512;

function isLowerHex(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function allZero(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (value.charCodeAt(i) !== 0x30) return false;
  return true;
}

/**
 * Whether `value` is a valid `traceparent`: `version-traceid-parentid-flags` in lower-case hex
 * (2, 32, 16, 2 digits), version not `ff`, trace and parent ids not all zeros. Version `00` has
 * exactly those four fields; a later version may add fields after a `-`.
 */
export function isValidTraceparent(value: string): boolean {
  if (value.length < 55) return false;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return false;
  if (!isLowerHex(value, 0, 2) || value.startsWith('ff')) return false;
  if (!isLowerHex(value, 3, 35) || allZero(value, 3, 35)) return false;
  if (!isLowerHex(value, 36, 52) || allZero(value, 36, 52)) return false;
  if (!isLowerHex(value, 53, 55)) return false;
  if (value.startsWith('00')) return value.length === 55;
  return value.length === 55 || value[55] === '-';
}

function isPrintable(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * The trace context of a request: `undefined` unless exactly one valid `traceparent` arrived.
 * A `tracestate` that is too long or not printable ASCII is dropped (the trace is kept).
 */
export function traceContextOf(headers: RequestHeaders): TraceContextHeaders | undefined {
  const parents = headers.all('traceparent');
  if (parents.length !== 1) return undefined;
  const traceparent = (parents[0] as string).trim();
  if (!isValidTraceparent(traceparent)) return undefined;
  const states = headers.all('tracestate');
  if (states.length === 0) return { traceparent };
  const tracestate = states.join(',');
  if (tracestate.length > MAX_TRACESTATE_LENGTH || !isPrintable(tracestate)) return { traceparent };
  return { traceparent, tracestate };
}
