import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type Logger as PinoLogger, pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ACCEPTED_MESSAGE,
  type CatalogEntry,
  catalog,
  catalogCodes,
  createGate,
  HANDSHAKE_CHANNEL,
  HandshakeError,
  type HandshakeRecord,
  type Logger,
  REJECTED_MESSAGE,
  type WsGateOptions,
} from '../src/index.js';
import { chromeHeaders, type HeaderObject, KEY, minimalHeaders, request } from './fixtures.js';

/** A pino logger writing JSON lines into memory. */
function capture(): { logger: PinoLogger; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = pino({ base: null }, { write: (line: string) => lines.push(line) });
  return { logger, records: () => lines.map((line) => JSON.parse(line)) };
}

/** Decides and reports one handshake on a gate logging to memory; returns the JSON records and the record object. */
async function handshake(
  options: WsGateOptions<unknown>,
  headers: HeaderObject,
  init: Parameters<typeof request>[1] = {},
  framework = 'core',
): Promise<{ logs: Array<Record<string, unknown>>; record: HandshakeRecord }> {
  const { logger, records } = capture();
  const gate = createGate({ ...options, logger }, { framework });
  const startedAt = performance.now();
  const req = request(headers, { url: '/chat?ticket=secret', remoteAddress: '203.0.113.9', ...init });
  const decision = await gate.decide(req, {});
  if (decision.kind === 'pass') throw new Error('unexpected pass');
  const record = gate.report(req, decision, { startedAt, requestId: 'req-1' });
  return { logs: records(), record };
}

describe('one record per handshake, through pino', () => {
  it('logs an accepted handshake at info with the fixed field names', async () => {
    const { logs } = await handshake(
      { protocols: ['chat'], perMessageDeflate: true },
      { ...chromeHeaders, 'Sec-WebSocket-Protocol': 'chat' },
      {},
      'express',
    );
    expect(logs).toHaveLength(1);
    const [log] = logs;
    expect(log).toMatchObject({
      level: 30,
      msg: ACCEPTED_MESSAGE,
      outcome: 'accepted',
      status: 101,
      path: '/chat',
      framework: 'express',
      arrival: 'upgrade',
      protocol: 'chat',
      origin: 'http://example.com',
      remoteAddress: '203.0.113.9',
      extensions: 'permessage-deflate; client_max_window_bits',
      requestId: 'req-1',
    });
    expect(log?.durationMs).toEqual(expect.any(Number));
    expect(log?.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(log).not.toHaveProperty('code');
    expect(ACCEPTED_MESSAGE).toBe('websocket handshake accepted');
    expect(JSON.stringify(log)).not.toContain('secret');
  });

  it('logs a client fault at info (30), with the diagnosis of the proxy', async () => {
    const { logs } = await handshake(
      {},
      { ...minimalHeaders, Host: '127.0.0.1:3000', Connection: 'close', Upgrade: undefined },
      { arrival: 'request', httpVersion: '1.0' },
    );
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      level: 30,
      msg: REJECTED_MESSAGE,
      outcome: 'rejected',
      status: 426,
      code: 'HTTP_VERSION_TOO_OLD',
      path: '/chat',
      framework: 'core',
      arrival: 'request',
      remoteAddress: '203.0.113.9',
      proxy: 'nginx',
      diagnosis: {
        proxy: { id: 'nginx', confidence: 'high', evidence: expect.arrayContaining(['HTTP/1.0']) },
      },
      detail: 'the request is HTTP/1.0',
      hint: expect.stringContaining('proxy_http_version 1.1;'),
    });
    expect(logs[0]).not.toHaveProperty('err');
    expect(logs[0]).not.toHaveProperty('client');
    expect(REJECTED_MESSAGE).toBe('websocket handshake rejected');
  });

  it('logs the Origin of a request rejected before the origin check', async () => {
    const { logs } = await handshake(
      {},
      { ...minimalHeaders, Connection: 'close', Upgrade: undefined, Origin: 'HTTPS://App.Example.com:443' },
      { arrival: 'request' },
    );
    expect(logs[0]).toMatchObject({ code: 'UPGRADE_HEADERS_STRIPPED', origin: 'https://app.example.com' });
    const malformed = await handshake(
      {},
      { ...minimalHeaders, 'Sec-WebSocket-Key': 'x', Origin: 'not an origin' },
    );
    expect(malformed.logs[0]).toMatchObject({ code: 'WEBSOCKET_KEY_INVALID', origin: 'not an origin' });
  });

  it('logs the client kind of a plain GET', async () => {
    const { logs } = await handshake(
      {},
      { Host: 'h', 'User-Agent': 'curl/8.5.0', Accept: '*/*' },
      { arrival: 'request' },
    );
    expect(logs[0]).toMatchObject({ level: 30, code: 'NOT_A_WEBSOCKET_REQUEST', client: 'curl' });
  });

  it('logs the origin and the other failures of a rejection', async () => {
    const { logs } = await handshake(
      {},
      { ...minimalHeaders, Origin: 'HTTP://Evil.Example:80', 'Sec-WebSocket-Protocol': ',' },
    );
    expect(logs[0]).toMatchObject({
      code: 'ORIGIN_NOT_ALLOWED',
      status: 403,
      origin: 'http://evil.example',
      otherFailures: ['SUBPROTOCOL_HEADER_MALFORMED'],
    });
  });

  it.each([
    ['HOOK_FAILED', { beforeUpgrade: () => Promise.reject(new Error('db down')) }, minimalHeaders],
    [
      'SUBPROTOCOL_SELECTION_INVALID',
      { selectProtocol: () => 'nope' },
      { ...minimalHeaders, 'Sec-WebSocket-Protocol': 'a' },
    ],
    [
      'UPSTREAM_DOWN',
      { beforeUpgrade: () => new HandshakeError('UPSTREAM_DOWN', { status: 502 }) },
      minimalHeaders,
    ],
  ] as const)('logs the server fault %s at error (50)', async (code, options, headers) => {
    const { logs } = await handshake(options as WsGateOptions<unknown>, headers as HeaderObject);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 50, msg: REJECTED_MESSAGE, outcome: 'rejected', code });
  });

  it('logs the error behind HOOK_FAILED under err, with its message and stack', async () => {
    const { logs } = await handshake(
      { beforeUpgrade: () => Promise.reject(new Error('db down')) },
      minimalHeaders,
    );
    expect(logs[0]).toMatchObject({
      code: 'HOOK_FAILED',
      status: 500,
      detail: 'db down',
      err: { type: 'Error', message: 'db down', stack: expect.stringContaining('Error: db down') },
    });
  });

  it.each(['AUTHENTICATION_REQUIRED', 'FORBIDDEN', 'TOO_MANY_CONNECTIONS', 'SERVER_SHUTTING_DOWN'] as const)(
    'keeps the app-level rejection %s at info',
    async (code) => {
      const { logs } = await handshake({ beforeUpgrade: () => new HandshakeError(code) }, minimalHeaders);
      expect(logs[0]).toMatchObject({ level: 30, code });
    },
  );

  it.each(catalogCodes)('logs %s at the level of its fault (client → 30, server → 50)', (code) => {
    const { logger, records } = capture();
    const gate = createGate({ logger });
    const entry: CatalogEntry = catalog[code];
    if (entry.statusRange === undefined) {
      gate.report(request(minimalHeaders), gate.reject(new HandshakeError(code)), {
        startedAt: performance.now(),
      });
    } else {
      // A code that classifies what the application wrote: logged from the status.
      gate.reportResponse(request(minimalHeaders), entry.status, { startedAt: performance.now() });
    }
    expect(records()).toEqual([
      expect.objectContaining({
        level: catalog[code].fault === 'server' ? 50 : 30,
        code,
        msg: REJECTED_MESSAGE,
      }),
    ]);
  });

  it('a throwing logger never breaks the report', async () => {
    const broken: Logger = {
      info: () => {
        throw new Error('disk full');
      },
      error: () => {
        throw new Error('disk full');
      },
    };
    const gate = createGate({ logger: broken });
    const req = request(minimalHeaders);
    const decision = await gate.decide(req, {});
    if (decision.kind === 'pass') throw new Error('unexpected pass');
    expect(() => gate.report(req, decision, { startedAt: performance.now() })).not.toThrow();
  });
});

describe('the diagnostics channel', () => {
  const received: unknown[] = [];
  const listener = (message: unknown) => received.push(message);
  afterEach(() => {
    unsubscribe(HANDSHAKE_CHANNEL, listener);
    received.length = 0;
  });

  it("publishes the same record on 'wsgate:handshake', with or without a logger", async () => {
    expect(HANDSHAKE_CHANNEL).toBe('wsgate:handshake');
    subscribe(HANDSHAKE_CHANNEL, listener);
    const { logs, record } = await handshake({}, { ...minimalHeaders, 'Sec-WebSocket-Key': 'bad' });
    expect(received).toEqual([record]);
    expect(received[0]).toBe(record);
    expect(logs[0]).toMatchObject(JSON.parse(JSON.stringify(record)));

    const silent = createGate();
    const req = request(minimalHeaders, { url: '/x' });
    const decision = await silent.decide(req, {});
    if (decision.kind === 'pass') throw new Error('unexpected pass');
    const accepted = silent.report(req, decision, { startedAt: performance.now() });
    expect(received).toHaveLength(2);
    expect(received[1]).toBe(accepted);
    expect(accepted).toMatchObject({ outcome: 'accepted', status: 101, path: '/x' });
  });
});

describe('without a logger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is silent: nothing on stdout, stderr or the console', async () => {
    const writes = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
    const consoles = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
    const gate = createGate({
      beforeUpgrade: () => {
        throw new Error('boom');
      },
    });
    for (const headers of [minimalHeaders, { ...minimalHeaders, 'Sec-WebSocket-Key': KEY.slice(1) }]) {
      const req = request(headers);
      const decision = await gate.decide(req, {});
      if (decision.kind === 'pass') throw new Error('unexpected pass');
      gate.report(req, decision, { startedAt: performance.now() });
    }
    for (const spy of [...writes, ...consoles]) expect(spy).not.toHaveBeenCalled();
  });
});
