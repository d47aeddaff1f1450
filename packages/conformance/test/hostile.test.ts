/**
 * The hostile-input harness itself: its oracle says "must not be 101" only where the RFCs require
 * a rejection, its cases are reproducible from a seed, and it catches what it is there to catch
 * (a 101 for anything, client bytes echoed into a header, a server that never answers).
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SEED, fuzzCase, MARKER, mustReject, probe, runFuzz, SAMPLE_KEY } from '../src/hostile.js';

const HOST = '127.0.0.1:8080';
const request = (lines: readonly string[], requestLine = 'GET /echo HTTP/1.1') =>
  `${requestLine}\r\n${lines.join('\r\n')}\r\n\r\n`;
const VALID = [
  `Host: ${HOST}`,
  'Upgrade: websocket',
  'Connection: Upgrade',
  `Sec-WebSocket-Key: ${SAMPLE_KEY}`,
  'Sec-WebSocket-Version: 13',
];
const replace = (name: string, line: string | null) => {
  const rest = VALID.filter((l) => !l.startsWith(`${name}:`));
  return line === null ? rest : [...rest, line];
};

describe('the oracle', () => {
  it('has no opinion on a valid handshake, or on what RFC 6455 leaves open', () => {
    expect(mustReject(request(VALID))).toBeUndefined();
    expect(mustReject(request(VALID, 'GET /echo HTTP/2.0'))).toBeUndefined();
    expect(mustReject(request(VALID, `GET http://${HOST}/echo HTTP/1.1`))).toBeUndefined();
    expect(mustReject(`${request([...VALID, 'Content-Length: 3'])}abc`)).toBeUndefined();
    // CR and NUL inside a value may be replaced with SP (RFC 9110 §5.5); obs-fold unfolds to SP.
    expect(mustReject(request([...VALID, 'X-Other: a\rb\0c']))).toBeUndefined();
    expect(mustReject(request([...VALID, 'X-Other: a', ' b']))).toBeUndefined();
    // Bare LF line ends, a repeated Upgrade with the same token, names in any case.
    expect(mustReject(`GET /echo HTTP/1.1\n${VALID.join('\n')}\nupgrade: websocket\n\n`)).toBeUndefined();
    expect(mustReject(request(replace('Connection', 'connection: keep-alive, UPGRADE')))).toBeUndefined();
  });

  it('requires a rejection where RFC 6455 §4.2.1 and RFC 9112 §3.2 do', () => {
    const cases: Array<[string, string]> = [
      [request(VALID).slice(0, -2), 'incomplete'],
      [request(VALID, 'get /echo HTTP/1.1'), 'method'],
      [request(VALID, 'POST /echo HTTP/1.1'), 'method'],
      [request(VALID, 'GET /echo HTTP/1.0'), 'HTTP/1.0'],
      [request(VALID, 'GET /echo'), 'no HTTP version'],
      [request([...VALID, `Host: ${HOST}`]), 'Host arrived 2'],
      [request(replace('Host', null)), 'Host arrived 0'],
      [request(replace('Host', 'Host: 127.0.0.1\x80:8080')), 'Host has'],
      [request(replace('Upgrade', 'Upgrade: web\0socket')), 'Upgrade'],
      [request(replace('Connection', 'Connection: Upgr\rade')), 'Connection'],
      [request([...VALID, 'Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==']), 'Key arrived 2'],
      [request(replace('Sec-WebSocket-Key', `Sec-WebSocket-Key: dGhlIHNh\nbXBsZSBub25jZQ==`)), 'Key is not'],
      [request(replace('Sec-WebSocket-Key', `Sec-WebSocket-Key\x80: ${SAMPLE_KEY}`)), 'Key arrived 0'],
      [request(replace('Sec-WebSocket-Version', 'Sec-WebSocket-Version: 8')), 'Version is'],
      [request([...VALID, 'Sec-WebSocket-Version: 13']), 'Version arrived 2'],
    ];
    for (const [text, reason] of cases) expect(mustReject(text), JSON.stringify(text)).toContain(reason);
  });
});

describe('the cases', () => {
  it('are the same bytes for the same seed and index, and differ across seeds', () => {
    const a = fuzzCase(DEFAULT_SEED, 42, HOST);
    expect(fuzzCase(DEFAULT_SEED, 42, HOST).bytes.equals(a.bytes)).toBe(true);
    expect(fuzzCase(DEFAULT_SEED + 1, 42, HOST).bytes.equals(a.bytes)).toBe(false);
  });

  it('put the marker in every case sent whole and leave some handshakes pristine', () => {
    const cases = Array.from({ length: 300 }, (_, i) => fuzzCase(DEFAULT_SEED, i, HOST));
    expect(cases.filter((c) => !c.halfClose).every((c) => c.bytes.includes(MARKER))).toBe(true);
    expect(cases.some((c) => c.mutations.length === 0)).toBe(true);
    expect(cases.filter((c) => c.mustReject).length).toBeGreaterThan(100);
  });
});

describe('the harness catches', () => {
  const servers: net.Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });
  /** A raw server: `answer` gets the request head and returns the bytes to send (or nothing). */
  const raw = async (answer: (head: string) => string | undefined) => {
    const server = net.createServer((socket) => {
      let data = '';
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
        for (let end = data.indexOf('\r\n\r\n'); end !== -1; end = data.indexOf('\r\n\r\n')) {
          const reply = answer(data.slice(0, end));
          data = data.slice(end + 4);
          if (reply !== undefined) socket.write(reply);
        }
      });
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  };

  it('a 101 for a request that is not a handshake, and client bytes echoed into a header', async () => {
    const port = await raw((head) => {
      const trace = /\r\nx-trace: ([^\r\n]*)/i.exec(head)?.[1] ?? '';
      return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Echo: ${trace}\r\n\r\n`;
    });
    const stats = await runFuzz({ port, seed: DEFAULT_SEED, count: 200, timeoutMs: 1_000 });
    const problems = stats.failures.map((f) => f.problem);
    expect(problems.some((p) => p.startsWith('101 for a request that is not a handshake'))).toBe(true);
    expect(problems.some((p) => p.startsWith('client bytes in a response header'))).toBe(true);
  });

  it('nothing, for a keep-alive answer to a HEAD pipelined behind a plain request (no body follows)', async () => {
    const port = await raw((head) =>
      head.startsWith('HEAD ')
        ? 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'
        : 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    );
    const bytes = Buffer.from(
      'GET /health HTTP/1.1\r\nHost: h\r\n\r\nHEAD /echo HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    const item = { index: 0, mutations: [], bytes, halfClose: false, responses: 2, mustReject: undefined };
    expect(await probe(port, { ...item, headResponse: 2 }, 1_000)).toMatchObject({
      hung: false,
      statuses: [200, 200],
    });
  });

  it('a server that neither answers nor closes', async () => {
    const port = await raw(() => undefined);
    const stats = await runFuzz({ port, seed: DEFAULT_SEED, count: 4, timeoutMs: 200 });
    expect(stats.failures.filter((f) => f.problem.startsWith('no answer and no close'))).not.toHaveLength(0);
  });
});
