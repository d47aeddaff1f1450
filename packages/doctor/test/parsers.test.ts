/**
 * The pure parts: option parsing (bad input names the option), and the parsers of server bytes —
 * bounded and linear, whatever the server sends.
 */
import { HandshakeError, RequestHeaders, renderRejection } from '@wsgate/core';
import { describe, expect, it } from 'vitest';
import { encodeFrame, MAX_FRAME_PAYLOAD, OPCODES, parseFrame } from '../src/frames.js';
import { parseHead } from '../src/http-response.js';
import { parseOptions, UsageError } from '../src/options.js';
import { fingerprint, htmlTitle } from '../src/proxy-fingerprint.js';
import { readWsgateProblem } from '../src/wsgate-problem.js';
import { runBin } from './cli.js';

describe('parseOptions', () => {
  const noFile = () => {
    throw new Error('ENOENT: no such file');
  };

  it('reads every option, repeatable ones in order', () => {
    const options = parseOptions(
      [
        'wss://x.test/a',
        '--protocol',
        'a',
        '--protocol',
        'b',
        '--header',
        'X-A: 1',
        '--header',
        'Cookie: s=1',
        '--origin',
        'https://x.test',
        '--timeout',
        '2.5',
        '--idle',
        '70',
        '--insecure',
        '--json',
      ],
      noFile,
    );
    expect(options).toMatchObject({
      url: 'wss://x.test/a',
      protocols: ['a', 'b'],
      headers: [
        ['X-A', '1'],
        ['Cookie', 's=1'],
      ],
      origin: 'https://x.test',
      timeoutMs: 2500,
      idleMs: 70_000,
      insecure: true,
      json: true,
    });
  });

  it.each([
    [[], 'missing the URL'],
    [['ws://a', 'ws://b'], 'one URL only'],
    [['ws://a', '--timeout', 'soon'], '--timeout'],
    [['ws://a', '--timeout', '0'], '--timeout'],
    [['ws://a', '--idle', '-1'], '--idle'],
    [['ws://a', '--header', 'no colon'], '--header'],
    [['ws://a', '--header', 'X: a\r\nInjected: 1'], '--header'],
    [['ws://a', '--protocol', 'a b'], '--protocol'],
    [['ws://a', '--ca', '/nope.pem'], '--ca /nope.pem'],
    [['ws://a', '--frobnicate'], '--frobnicate'],
    [['ws://a', '--origin'], '--origin'],
  ])('%j fails naming %s', (argv, fragment) => {
    expect(() => parseOptions(argv, noFile)).toThrow(UsageError);
    expect(() => parseOptions(argv, noFile)).toThrow(fragment);
  });

  it('--ca must hold a PEM certificate', () => {
    expect(() => parseOptions(['ws://a', '--ca', 'key.pem'], () => 'not a certificate')).toThrow(
      '--ca key.pem: no PEM',
    );
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await runBin(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--idle SECONDS');
  });

  it('the readable report: one line per stage, the cause, the fix, the exit code', async () => {
    const { code, stdout } = await runBin(['https://example.invalid/chat']);
    expect(code).toBe(3);
    expect(stdout).toContain('✗ url        url-scheme');
    expect(stdout).toContain('fix: Use wss://example.invalid/chat.');
    expect(stdout).toContain('· open       not reached');
    expect(stdout).toContain('FAILED at url: url-scheme (exit code 3)');
  });

  it('the CLI exits 2 on bad input, with the message and the usage on stderr', async () => {
    const { code, stdout, stderr } = await runBin(['ws://a', '--timeout', 'soon']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--timeout takes a number of seconds');
    expect(stderr).toContain('usage: wsgate-doctor');
  });
});

describe('server bytes are parsed in bounded, linear time', () => {
  it('parseHead: status line, headers as sent; not HTTP is undefined', () => {
    expect(parseHead('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX:  a : b \r\n\r\n')).toEqual(
      {
        version: 'HTTP/1.1',
        status: 101,
        reason: 'Switching Protocols',
        rawHeaders: [
          ['Upgrade', 'websocket'],
          ['X', 'a : b'],
        ],
      },
    );
    expect(parseHead('SSH-2.0-OpenSSH\r\n')).toBeUndefined();
    expect(parseHead('HTTP/1.1 1x1 Nope\r\n')).toBeUndefined();
  });

  it('inputs built to make a backtracking parser explode finish fast', () => {
    const nasty = `HTTP/1.1 200 ${' '.repeat(200_000)}\r\n${'a:'.repeat(100_000)}\r\n${' :'.repeat(100_000)}`;
    const started = performance.now();
    parseHead(nasty);
    fingerprint(
      { version: 'HTTP/1.1', status: 502, reason: '', rawHeaders: [['Server', 'x'.repeat(100_000)]] },
      '<'.repeat(200_000),
    );
    htmlTitle('<title'.repeat(100_000));
    // Generous: linear code takes milliseconds; a backtracking regex would take minutes.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('parseFrame: incomplete, masked, oversized and reserved frames', () => {
    const text = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    expect(parseFrame(text, false)).toMatchObject({ kind: 'frame', length: 4, frame: { opcode: 1 } });
    expect(parseFrame(text.subarray(0, 3), false)).toEqual({ kind: 'incomplete' });
    expect(parseFrame(encodeFrame(OPCODES.text, Buffer.from('x')), false)).toMatchObject({ kind: 'invalid' });
    const huge = Buffer.alloc(10);
    huge[0] = 0x82;
    huge[1] = 127;
    huge.writeBigUInt64BE(BigInt(MAX_FRAME_PAYLOAD + 1), 2);
    expect(parseFrame(huge, false)).toMatchObject({ kind: 'invalid' });
    expect(parseFrame(Buffer.from([0x83, 0x00]), false)).toMatchObject({
      kind: 'invalid',
      reason: 'reserved opcode 3',
    });
    expect(parseFrame(Buffer.from([0xc1, 0x00]), false)).toMatchObject({ kind: 'invalid' });
    expect(parseFrame(Buffer.from([0xc1, 0x00]), true)).toMatchObject({ kind: 'frame' });
  });
});

describe("wsgate's rejection bodies", () => {
  const error = new HandshakeError('SUBPROTOCOL_UNSUPPORTED', {
    detail: 'offered chat.v9',
    supported: ['chat.v2'],
  });

  it.each([
    ['application/problem+json', undefined],
    ['text/plain', 'text/plain'],
  ])('%s', (_name, accept) => {
    const rendered = renderRejection(error, new RequestHeaders(accept ? ['Accept', accept] : []));
    const head = {
      version: 'HTTP/1.1',
      status: rendered.status,
      reason: '',
      rawHeaders: Object.entries(rendered.headers),
    };
    expect(readWsgateProblem(head, rendered.body)).toMatchObject({
      code: 'SUBPROTOCOL_UNSUPPORTED',
      detail: 'offered chat.v9',
      supported: ['chat.v2'],
    });
  });

  it('JSON that is not a wsgate problem is not read as one', () => {
    const head = {
      version: 'HTTP/1.1',
      status: 400,
      reason: '',
      rawHeaders: [['Content-Type', 'application/json']] as const,
    };
    expect(readWsgateProblem(head, '{"code":"X","type":"about:blank"}')).toBeUndefined();
    expect(readWsgateProblem(head, '[1,2]')).toBeUndefined();
  });
});

describe('causes no loopback server can produce', () => {
  it('a resolver that never answers: dns-timeout after --timeout', async () => {
    const { resolveHost } = await import('../src/stages/dns.js');
    const outcome = await resolveHost('example.test', 50, () => new Promise(() => {}));
    expect(outcome).toMatchObject({ ok: false, failure: { cause: 'dns-timeout' } });
  });

  it.each([
    ['EHOSTUNREACH', 'tcp-unreachable'],
    ['ENETUNREACH', 'tcp-unreachable'],
    ['ETIMEDOUT', 'tcp-timeout'],
    ['EADDRNOTAVAIL', 'tcp-failed'],
  ])('connect error %s → %s', async (code, cause) => {
    const { connectError } = await import('../src/stages/tcp.js');
    expect(connectError(Object.assign(new Error(code), { code }), '192.0.2.1:80').cause).toBe(cause);
  });
});

describe('the cause catalog', () => {
  it('every cause is exercised by a test of this package or the nginx end-to-end test', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { causeCodes } = await import('../src/causes.js');
    const here = new URL('.', import.meta.url);
    const files = readdirSync(here).filter((name) => name.endsWith('.test.ts'));
    const text = [
      ...files.map((name) => readFileSync(new URL(name, here), 'utf8')),
      readFileSync(new URL('../../e2e/test/doctor.test.ts', here), 'utf8'),
    ].join('\n');
    expect(causeCodes.filter((code) => !text.includes(`'${code}'`))).toEqual([]);
  });
});
