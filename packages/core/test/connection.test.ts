import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../src/index.js';
import { closeCodeOf, isProtocolError, watchErrors } from '../src/node/index.js';

describe('closeCodeOf: the close code ws sends for its error codes', () => {
  it.each([
    ['WS_ERR_UNEXPECTED_RSV_1', 1002],
    ['WS_ERR_INVALID_OPCODE', 1002],
    ['WS_ERR_EXPECTED_MASK', 1002],
    ['WS_ERR_INVALID_CLOSE_CODE', 1002],
    ['WS_ERR_INVALID_UTF8', 1007],
    ['WS_ERR_TOO_MANY_BUFFERED_PARTS', 1008],
    ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009],
    ['WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1009],
    ['WEBSOCKET_ERROR', 1002],
  ] as const)('%s → %i', (code, expected) => {
    expect(closeCodeOf(code)).toBe(expected);
  });
});

describe('isProtocolError', () => {
  it('is true for ws’s WS_ERR_* errors only', () => {
    expect(isProtocolError(Object.assign(new RangeError('bad'), { code: 'WS_ERR_EXPECTED_FIN' }))).toBe(true);
    expect(isProtocolError(new Error('handler failed'))).toBe(false);
    expect(isProtocolError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isProtocolError(null)).toBe(false);
  });
});

describe('watchErrors', () => {
  const identity = { path: '/echo', framework: 'core', remoteAddress: '127.0.0.1', requestId: '7' };

  function capture(): { logger: Logger; records: Array<{ obj: object; msg?: string | undefined }> } {
    const records: Array<{ obj: object; msg?: string | undefined }> = [];
    return { records, logger: { info: (obj, msg) => records.push({ obj, msg }), error: () => {} } };
  }

  it('keeps an error from crashing the process and logs it with the connection’s identity', () => {
    const ws = new EventEmitter();
    const { logger, records } = capture();
    watchErrors(ws, identity, logger);
    const error = Object.assign(new RangeError('Invalid WebSocket frame: RSV1 must be clear'), {
      code: 'WS_ERR_UNEXPECTED_RSV_1',
    });
    expect(() => ws.emit('error', error)).not.toThrow();
    expect(records).toEqual([
      {
        msg: 'websocket connection error',
        obj: { ...identity, code: 'WS_ERR_UNEXPECTED_RSV_1', closeCode: 1002, err: error },
      },
    ]);
  });

  it('names an error without a ws code WEBSOCKET_ERROR, and survives a throwing logger', () => {
    const ws = new EventEmitter();
    watchErrors(ws, identity, {
      info: () => {
        throw new Error('logger down');
      },
      error: () => {},
    });
    expect(() => ws.emit('error', new Error('odd'))).not.toThrow();
    const { logger, records } = capture();
    const other = new EventEmitter();
    watchErrors(other, identity, logger);
    other.emit('error', new Error('odd'));
    expect(records[0]?.obj).toMatchObject({ code: 'WEBSOCKET_ERROR', closeCode: 1002 });
  });
});
