import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Logger } from '../src/index.js';
import { closeCodeOf, IDLE_HINT_MIN_MS, idleHint, isProtocolError, watchErrors } from '../src/node/index.js';

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

describe('idleHint', () => {
  it('names the proxy whose idle timeout matches, and the heartbeat setting to change', () => {
    expect(idleHint(60_400, 30_000)).toMatch(
      /after 60 s .*nginx's proxy_read_timeout .*heartbeatMs \(now 30000 ms\)/,
    );
    expect(idleHint(100_000, false)).toMatch(/Cloudflare.*Turn the heartbeat on/);
    expect(idleHint(42_000, 30_000)).toMatch(/after 42 s without traffic/);
    expect(idleHint(42_000, 30_000)).not.toMatch(/likely/);
    expect(idleHint(1_000, 30_000)).toBeUndefined();
  });

  it('a short proxy timeout (2 s, as the e2e configs set): the candidates, the seconds to a tenth, and the fix', () => {
    const hint = idleHint(1_800, false);
    expect(hint).toMatch(/after 1\.8 s without traffic either way/);
    expect(hint).toMatch(/about 1\.8 s: nginx's proxy_read_timeout, Apache's ProxyTimeout or Timeout/);
    expect(hint).toMatch(/Turn the heartbeat on \(heartbeatMs\)/);
    expect(idleHint(IDLE_HINT_MIN_MS - 1, false)).toBeUndefined();
  });
});

// Canary: superviseConnection tells a client's close from the application's by ws's
// `_closeFrameReceived` (ws answers a received close frame by calling close() itself). If this
// fails, ws renamed it: closedBy would say "server" for every close the client started.
describe('canary: ws WebSocket#_closeFrameReceived', () => {
  it('is false until the peer’s close frame arrives, then true', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const { port } = wss.address() as AddressInfo;
    const seen: unknown[] = [];
    wss.on('connection', (ws) => {
      seen.push((ws as unknown as { _closeFrameReceived: unknown })._closeFrameReceived);
      ws.once('close', () =>
        seen.push((ws as unknown as { _closeFrameReceived: unknown })._closeFrameReceived),
      );
    });
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    await once(client, 'open');
    client.close(1000);
    await once(client, 'close');
    await new Promise((resolve) => setTimeout(resolve, 20));
    wss.close();
    expect(seen, 'ws WebSocket#_closeFrameReceived moved').toEqual([false, true]);
  });
});
