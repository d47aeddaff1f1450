import { describe, expect, it } from 'vitest';
import { createGate, isValidTraceparent, RequestHeaders, traceContextOf } from '../src/index.js';
import { minimalHeaders, request } from './fixtures.js';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceContextOf', () => {
  it('keeps one well-formed traceparent and its tracestate', () => {
    const headers = RequestHeaders.fromObject({ traceparent: PARENT, tracestate: ['a=1', 'b=2'] });
    expect(traceContextOf(headers)).toEqual({ traceparent: PARENT, tracestate: 'a=1,b=2' });
  });

  it.each([
    ['upper-case hex', PARENT.toUpperCase()],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', `ff${PARENT.slice(2)}`],
    ['extra field on version 00', `${PARENT}-zz`],
    ['too short', PARENT.slice(0, 54)],
    ['wrong separators', PARENT.replaceAll('-', '_')],
    ['non-hex', `00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01`],
  ])('rejects %s', (_name, value) => {
    expect(isValidTraceparent(value)).toBe(false);
    expect(traceContextOf(RequestHeaders.fromObject({ traceparent: value }))).toBeUndefined();
  });

  it('accepts a later version with extra fields', () => {
    expect(isValidTraceparent(`01${PARENT.slice(2)}-abc`)).toBe(true);
  });

  it('drops the trace context when traceparent is repeated', () => {
    expect(traceContextOf(RequestHeaders.fromObject({ traceparent: [PARENT, PARENT] }))).toBeUndefined();
  });

  it('drops a tracestate that is too long or not printable, keeping the traceparent', () => {
    const long = RequestHeaders.fromObject({ traceparent: PARENT, tracestate: `a=${'x'.repeat(600)}` });
    expect(traceContextOf(long)).toEqual({ traceparent: PARENT });
    const binary = RequestHeaders.fromObject({ traceparent: PARENT, tracestate: 'a=\u0001' });
    expect(traceContextOf(binary)).toEqual({ traceparent: PARENT });
  });

  it('is linear on a long hostile value', () => {
    const value = `00-${'a'.repeat(100_000)}`;
    const started = performance.now();
    expect(isValidTraceparent(value)).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('the handshake record', () => {
  it('carries the validated trace context', async () => {
    const gate = createGate({}, { framework: 'core' });
    const req = request({ ...minimalHeaders, traceparent: PARENT, tracestate: 'vendor=1' });
    const decision = await gate.decide(req, {});
    if (decision.kind === 'pass') throw new Error('unexpected pass');
    const record = gate.report(req, decision, { startedAt: performance.now() });
    expect(record.traceparent).toBe(PARENT);
    expect(record.tracestate).toBe('vendor=1');
  });

  it('has none when the client sent a malformed traceparent', async () => {
    const gate = createGate({}, { framework: 'core' });
    const req = request({ ...minimalHeaders, traceparent: 'garbage' });
    const decision = await gate.decide(req, {});
    if (decision.kind === 'pass') throw new Error('unexpected pass');
    expect(gate.report(req, decision, { startedAt: performance.now() }).traceparent).toBeUndefined();
  });

  it('carries the method, HTTP version, scheme and host name', async () => {
    const gate = createGate({}, { framework: 'core' });
    const req = request({ ...minimalHeaders, Host: 'Example.com:8080' });
    const decision = await gate.decide(req, {});
    if (decision.kind === 'pass') throw new Error('unexpected pass');
    const record = gate.report(req, decision, { startedAt: performance.now() });
    expect(record).toMatchObject({ method: 'GET', httpVersion: '1.1', scheme: 'http', host: 'example.com' });
  });
});
