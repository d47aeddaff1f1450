import { describe, expect, it } from 'vitest';
import { catalog, catalogCodes, codeForStatus, isCatalogCode, requiredHeadersFor } from '../src/index.js';

const UPGRADE = { Upgrade: 'websocket', Connection: 'Upgrade' };
const VERSION = { ...UPGRADE, 'Sec-WebSocket-Version': '13' };

/** The catalog (docs/errors.md, docs/design.md "The catalog"), row by row, in check order: code, status, must-have headers. */
const spec: ReadonlyArray<readonly [code: string, status: number, headers: Record<string, string>]> = [
  ['METHOD_NOT_ALLOWED', 405, { Allow: 'GET' }],
  ['HTTP_VERSION_TOO_OLD', 426, UPGRADE],
  ['NOT_A_WEBSOCKET_REQUEST', 426, UPGRADE],
  ['UPGRADE_HEADERS_STRIPPED', 426, UPGRADE],
  ['UPGRADE_HEADER_MISSING', 426, UPGRADE],
  ['CONNECTION_UPGRADE_MISSING', 426, UPGRADE],
  ['UPGRADE_NOT_WEBSOCKET', 426, UPGRADE],
  ['HOST_MISSING', 400, {}],
  ['HOST_DUPLICATE', 400, {}],
  ['HOST_INVALID', 400, {}],
  ['REQUEST_BODY_NOT_ALLOWED', 400, {}],
  ['WEBSOCKET_VERSION_MISSING', 426, VERSION],
  ['WEBSOCKET_VERSION_UNSUPPORTED', 426, VERSION],
  ['WEBSOCKET_VERSION_MALFORMED', 400, { 'Sec-WebSocket-Version': '13' }],
  ['WEBSOCKET_KEY_MISSING', 400, {}],
  ['WEBSOCKET_KEY_INVALID', 400, {}],
  ['ORIGIN_NOT_ALLOWED', 403, {}],
  ['AUTHENTICATION_REQUIRED', 401, { 'WWW-Authenticate': 'Bearer' }],
  ['FORBIDDEN', 403, {}],
  ['TOO_MANY_CONNECTIONS', 503, { 'Retry-After': '5' }],
  ['HANDSHAKE_TIMEOUT', 503, { 'Retry-After': '5' }],
  ['CLIENT_CONNECTION_LIMIT', 429, { 'Retry-After': '5' }],
  ['SERVER_SHUTTING_DOWN', 503, { 'Retry-After': '5' }],
  ['SUBPROTOCOL_HEADER_MALFORMED', 400, {}],
  ['SUBPROTOCOL_DUPLICATE', 400, {}],
  ['SUBPROTOCOL_REQUIRED', 400, {}],
  ['SUBPROTOCOL_UNSUPPORTED', 400, {}],
  ['EXTENSIONS_HEADER_MALFORMED', 400, {}],
  ['ENDPOINT_NOT_FOUND', 404, {}],
  ['CLIENT_DISCONNECTED', 499, {}],
  // Codes of responses the application wrote itself (codeForStatus).
  ['RATE_LIMITED', 429, {}],
  ['APPLICATION_REJECTED', 400, {}],
  ['REDIRECTED', 302, {}],
  ['HTTP_HANDLER_ANSWERED', 200, {}],
  ['APPLICATION_ERROR', 500, {}],
  ['HOOK_FAILED', 500, {}],
  ['SUBPROTOCOL_SELECTION_INVALID', 500, {}],
  ['UPGRADE_LISTENER_MISSING', 500, {}],
];

const SERVER_FAULTS = [
  'HTTP_HANDLER_ANSWERED',
  'APPLICATION_ERROR',
  'HANDSHAKE_TIMEOUT',
  'HOOK_FAILED',
  'SUBPROTOCOL_SELECTION_INVALID',
  'UPGRADE_LISTENER_MISSING',
];

describe('catalog', () => {
  it('lists exactly the documented codes, in check order', () => {
    expect(catalogCodes).toEqual(spec.map(([code]) => code));
  });

  it.each(spec)('%s has status %i and its mandatory headers', (code, status, headers) => {
    expect(isCatalogCode(code)).toBe(true);
    const entry = catalog[code as keyof typeof catalog];
    expect(entry.status).toBe(status);
    expect(entry.headers).toEqual(headers);
    expect(entry.title.length).toBeGreaterThan(0);
    expect(entry.reference.length).toBeGreaterThan(0);
  });

  it.each(spec)('%s is a server fault only where the catalog says so', (code) => {
    const entry = catalog[code as keyof typeof catalog];
    expect(entry.fault).toBe(SERVER_FAULTS.includes(code) ? 'server' : 'client');
  });

  it('has no CR or LF in any title, hint or header', () => {
    for (const entry of Object.values(catalog)) {
      const texts = [entry.title, 'hint' in entry ? entry.hint : '', ...Object.values(entry.headers)];
      for (const text of texts) expect(text).not.toMatch(/[\r\n]/);
    }
  });

  it('isCatalogCode rejects unknown codes and inherited keys', () => {
    expect(isCatalogCode('NOPE')).toBe(false);
    expect(isCatalogCode('toString')).toBe(false);
    expect(isCatalogCode('__proto__')).toBe(false);
  });
});

describe('codeForStatus: the code of a status the application wrote', () => {
  it.each([
    [101, 'HTTP_HANDLER_ANSWERED'],
    [200, 'HTTP_HANDLER_ANSWERED'],
    [204, 'HTTP_HANDLER_ANSWERED'],
    [301, 'REDIRECTED'],
    [302, 'REDIRECTED'],
    [307, 'REDIRECTED'],
    [308, 'REDIRECTED'],
    [400, 'APPLICATION_REJECTED'],
    [401, 'AUTHENTICATION_REQUIRED'],
    [403, 'FORBIDDEN'],
    [404, 'ENDPOINT_NOT_FOUND'],
    [405, 'METHOD_NOT_ALLOWED'],
    [409, 'APPLICATION_REJECTED'],
    [426, 'APPLICATION_REJECTED'],
    [429, 'RATE_LIMITED'],
    [451, 'APPLICATION_REJECTED'],
    [500, 'APPLICATION_ERROR'],
    [502, 'APPLICATION_ERROR'],
    [503, 'APPLICATION_ERROR'],
  ] as const)('%i → %s', (status, code) => {
    expect(codeForStatus(status)).toBe(code);
    expect(isCatalogCode(codeForStatus(status))).toBe(true);
  });
});

describe('requiredHeadersFor: what a status makes mandatory (RFC 9110)', () => {
  it.each([
    [401, { 'WWW-Authenticate': 'Bearer' }],
    [405, { Allow: 'GET' }],
    [426, UPGRADE],
    [400, {}],
    [429, {}],
    [503, {}],
  ] as const)('%i → %j', (status, headers) => {
    expect(requiredHeadersFor(status)).toEqual(headers);
  });
});
