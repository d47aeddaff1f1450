/**
 * The handshake and open stages: 101s that are wrong in one way each, servers that close, never pong
 * or send invalid frames, and a TCP proxy that drops idle connections (what nginx's
 * proxy_read_timeout does), for --idle.
 */
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { doctor, evidenceOf } from './cli.js';
import { acceptFor, closeAfterAll, echo, listen, listenWs, rawHttpServer, requestHeader } from './servers.js';

const track = closeAfterAll();

/** A raw server answering with a 101 built from the request's key, changed by `edit`; then `after`. */
function switching(
  edit: (headers: Record<string, string>, head: string) => void,
  after: (socket: Socket) => void = () => {},
) {
  return track(
    rawHttpServer((head, socket) => {
      const headers: Record<string, string> = {
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Accept': acceptFor(requestHeader(head, 'sec-websocket-key') ?? ''),
      };
      edit(headers, head);
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\n${lines.join('')}\r\n`);
      after(socket);
    }),
  );
}

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: string, masked = false): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | body.length]);
  return Buffer.concat([head, masked ? Buffer.from([0, 0, 0, 0]) : Buffer.alloc(0), body]);
}

describe('handshake stage', () => {
  it.each([
    ['no Upgrade header', (h: Record<string, string>) => delete h.Upgrade, 'handshake-upgrade-header', []],
    [
      'Connection: keep-alive',
      (h: Record<string, string>) => (h.Connection = 'keep-alive'),
      'handshake-connection-header',
      [],
    ],
    [
      'a wrong Sec-WebSocket-Accept',
      (h: Record<string, string>) => (h['Sec-WebSocket-Accept'] = acceptFor('AAAAAAAAAAAAAAAAAAAAAA==')),
      'handshake-accept-mismatch',
      [],
    ],
    [
      'a subprotocol never offered',
      (h: Record<string, string>) => (h['Sec-WebSocket-Protocol'] = 'graphql-ws'),
      'handshake-subprotocol-not-offered',
      ['--protocol', 'chat'],
    ],
    [
      'an extension never offered',
      (h: Record<string, string>) => (h['Sec-WebSocket-Extensions'] = 'x-webkit-deflate-frame'),
      'handshake-extension-not-offered',
      [],
    ],
  ])('%s', async (_name, edit, cause, args) => {
    const port = await switching(edit);
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`, ...args);
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'handshake', cause, exitCode: 8 });
    expect(code).toBe(8);
  });

  it('ws echoing no subprotocol for the one offered: handshake-subprotocol-not-echoed', async () => {
    const port = await track(listenWs(createHttpServer(), { handleProtocols: () => false }));
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`, '--protocol', 'chat.v1');
    expect(report).toMatchObject({ stage: 'handshake', cause: 'handshake-subprotocol-not-echoed' });
    expect(code).toBe(8);
  });

  it('the exact accept value is in the evidence', async () => {
    const port = await switching((h) => {
      h['Sec-WebSocket-Accept'] = 'bogus';
    });
    const { report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(evidenceOf(report, 'handshake')).toMatchObject({ accept: 'bogus' });
    expect(evidenceOf(report, 'handshake').expectedAccept).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });
});

describe('open stage', () => {
  it('closed right after the 101 with 1008: open-closed with the code and reason', async () => {
    const port = await track(listenWs(createHttpServer(), {}, (ws) => ws.close(1008, 'policy')));
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report, JSON.stringify(report)).toMatchObject({
      stage: 'open',
      cause: 'open-closed',
      exitCode: 9,
    });
    expect(evidenceOf(report, 'open').close).toEqual({ code: 1008, reason: 'policy' });
    expect(code).toBe(9);
  });

  it('a 101 and then silence: open-no-pong within --timeout', async () => {
    const port = await switching(() => {});
    const { code, report } = await doctor(`ws://127.0.0.1:${port}/`, '--timeout', '1');
    expect(report).toMatchObject({ stage: 'open', cause: 'open-no-pong' });
    expect(code).toBe(9);
  });

  it('a masked frame from the server: open-protocol-error', async () => {
    const port = await switching(
      () => {},
      (socket) => socket.write(serverFrame(1, 'hi', true)),
    );
    const { report } = await doctor(`ws://127.0.0.1:${port}/`);
    expect(report).toMatchObject({ stage: 'open', cause: 'open-protocol-error' });
  });

  describe('--idle', () => {
    it('a proxy that drops connections idle for 1 s: open-idle-closed after about a second', async () => {
      const backendPort = await track(listenWs(createHttpServer(), {}, echo));
      // A TCP proxy with an idle timeout, the way nginx applies proxy_read_timeout.
      const proxy = createServer((client) => {
        const upstream = connect({ host: '127.0.0.1', port: backendPort });
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.setTimeout(1000, drop);
        client.on('error', drop);
        upstream.on('error', drop);
      });
      const port = await track(listen(proxy));
      const { code, report } = await doctor(`ws://127.0.0.1:${port}/`, '--idle', '5');
      expect(report, JSON.stringify(report)).toMatchObject({ stage: 'open', cause: 'open-idle-closed' });
      expect(code).toBe(9);
      const seconds = evidenceOf(report, 'open').idleSeconds as number;
      expect(seconds).toBeGreaterThan(0.5);
      expect(seconds).toBeLessThan(4.5);
    });

    it('pongs once and then never again (dropped silently): open-idle-dropped', async () => {
      const port = await switching(
        () => {},
        // The first pong answers the doctor's first ping ("wsgate-doctor"); nothing answers later.
        (socket) => socket.write(serverFrame(10, 'wsgate-doctor')),
      );
      const { report } = await doctor(`ws://127.0.0.1:${port}/`, '--idle', '0.5', '--timeout', '1');
      expect(report, JSON.stringify(report)).toMatchObject({ stage: 'open', cause: 'open-idle-dropped' });
    });

    it('a healthy server survives the idle wait', async () => {
      const port = await track(listenWs(createHttpServer(), {}, echo));
      const { code, report } = await doctor(`ws://127.0.0.1:${port}/`, '--idle', '0.5');
      expect(report.ok, JSON.stringify(report)).toBe(true);
      expect(code).toBe(0);
      expect(evidenceOf(report, 'open').idleSeconds).toBeGreaterThan(0);
    });
  });
});
