import { describe, expect, it, vi } from 'vitest';
import { catalog, HandshakeError } from '../src/index.js';

describe('HandshakeError', () => {
  it('takes status, title, hint and mandatory headers from the catalog', () => {
    const error = new HandshakeError('WEBSOCKET_VERSION_UNSUPPORTED', {
      detail: 'Sec-WebSocket-Version is 8',
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error).toMatchObject({
      name: 'HandshakeError',
      code: 'WEBSOCKET_VERSION_UNSUPPORTED',
      status: 426,
      title: catalog.WEBSOCKET_VERSION_UNSUPPORTED.title,
      detail: 'Sec-WebSocket-Version is 8',
      hint: catalog.WEBSOCKET_VERSION_UNSUPPORTED.hint,
      message: 'Sec-WebSocket-Version is 8',
      headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13' },
      isServerFault: false,
    });
  });

  it('uses the title as message without a detail, and keeps the cause', () => {
    const cause = new Error('inner');
    const error = new HandshakeError('HOOK_FAILED', { cause });
    expect(error.message).toBe(catalog.HOOK_FAILED.title);
    expect(error.cause).toBe(cause);
    expect(error.isServerFault).toBe(true);
    expect(new HandshakeError('FORBIDDEN')).not.toHaveProperty('cause');
  });

  it('ignores a status given for a catalog code', () => {
    expect(new HandshakeError('FORBIDDEN', { status: 418 }).status).toBe(403);
  });

  it('lets the given headers win over the catalog defaults, case-insensitively', () => {
    const error = new HandshakeError('TOO_MANY_CONNECTIONS', {
      headers: { 'retry-after': '30', 'X-Id': '1' },
    });
    expect(error.headers).toEqual({ 'retry-after': '30', 'X-Id': '1' });
    expect(new HandshakeError('AUTHENTICATION_REQUIRED').headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
  });

  it('a custom code needs a status from 400 to 599', () => {
    for (const init of [
      {},
      { status: 200 },
      { status: 399 },
      { status: 600 },
      { status: 450.5 },
      { status: Number.NaN },
    ]) {
      expect(() => new HandshakeError('MY_CODE', init)).toThrow(TypeError);
      expect(() => new HandshakeError('MY_CODE', init)).toThrow(
        /^@wsgate\/core: HandshakeError "MY_CODE" .*`status`/,
      );
    }
  });

  it('a custom code takes its status, title (defaulting to the code) and hint', () => {
    const error = new HandshakeError('ROOM_FULL', { status: 409, hint: 'Try another room.' });
    expect(error).toMatchObject({
      code: 'ROOM_FULL',
      status: 409,
      title: 'ROOM_FULL',
      hint: 'Try another room.',
    });
    expect(error.isServerFault).toBe(false);
    expect(new HandshakeError('UPSTREAM_DOWN', { status: 502 }).isServerFault).toBe(true);
  });

  it('a custom code gets the headers its status requires (RFC 9110)', () => {
    expect(new HandshakeError('TOKEN_EXPIRED', { status: 401 }).headers).toEqual({
      'WWW-Authenticate': 'Bearer',
    });
    expect(
      new HandshakeError('TOKEN_EXPIRED', { status: 401, headers: { 'www-authenticate': 'Basic' } }).headers,
    ).toEqual({ 'www-authenticate': 'Basic' });
    expect(new HandshakeError('NO_POST', { status: 405 }).headers).toEqual({ Allow: 'GET' });
    expect(new HandshakeError('UPGRADE_PLEASE', { status: 426 }).headers).toEqual({
      Upgrade: 'websocket',
      Connection: 'Upgrade',
    });
    expect(new HandshakeError('ROOM_FULL', { status: 409 }).headers).toEqual({});
  });

  it.each([
    ['X-Bad', 'a\r\nSet-Cookie: x=1'],
    ['X-Bad', 'a\nb'],
    ['X-Bad', 'a\rb'],
    ['X-Bad', 'nul\u0000'],
    ['Bad Name', 'v'],
    ['X-Bad:', 'v'],
    ['', 'v'],
  ])('refuses the header %j: %j', (name, value) => {
    expect(() => new HandshakeError('FORBIDDEN', { headers: { [name]: value } })).toThrow(
      /^@wsgate\/core: HandshakeError "FORBIDDEN" has an invalid header/,
    );
  });
});

describe('the brand check', () => {
  it('recognises a HandshakeError from another copy of the module', async () => {
    vi.resetModules();
    const copy = await import('../src/errors.js');
    expect(copy.HandshakeError).not.toBe(HandshakeError);
    const foreign = new copy.HandshakeError('FORBIDDEN');
    expect(foreign instanceof HandshakeError).toBe(true);
    expect(new HandshakeError('FORBIDDEN') instanceof copy.HandshakeError).toBe(true);
  });

  it('recognises any object carrying the registered brand symbol', () => {
    const branded = { [Symbol.for('@wsgate/core.HandshakeError')]: true, code: 'FORBIDDEN', status: 403 };
    expect(branded instanceof HandshakeError).toBe(true);
  });

  it('rejects look-alikes without the brand', () => {
    expect(Object.assign(new Error('x'), { code: 'FORBIDDEN', status: 403 }) instanceof HandshakeError).toBe(
      false,
    );
    expect({ [Symbol('@wsgate/core.HandshakeError')]: true } instanceof HandshakeError).toBe(false);
    expect({ [Symbol.for('@wsgate/core.HandshakeError')]: 'yes' } instanceof HandshakeError).toBe(false);
    expect((null as unknown) instanceof HandshakeError).toBe(false);
    expect(('FORBIDDEN' as unknown) instanceof HandshakeError).toBe(false);
  });
});
