/**
 * Comparison probes: extra connections whose answer explains the main one — the same handshake
 * without the subprotocol or without the Origin, a TLS handshake on a ws:// port that said nothing,
 * a plain HTTP request on a wss:// port that did not speak TLS.
 */
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { buildHandshakeRequest, buildPlainGet, type HandshakeRequestInit } from './handshake-request.js';
import { header, readHead } from './http-response.js';
import { Inbox } from './inbox.js';
import type { Target } from './stages/url.js';

/** Where a probe connects. */
export interface ProbeTarget {
  readonly target: Target;
  readonly address: string;
  readonly timeoutMs: number;
}

/** What a probe saw. */
export interface ProbeResult {
  readonly probe: string;
  readonly status?: number | undefined;
  readonly server?: string | undefined;
  readonly outcome: string;
}

function tcp({ address, target, timeoutMs }: ProbeTarget): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: address, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
  });
}

/** Whether the port completes a TLS handshake (any certificate). */
export async function speaksTls(where: ProbeTarget): Promise<{ protocol: string | null } | undefined> {
  const socket = await tcp(where);
  if (!socket) return undefined;
  const host = where.target.host;
  return new Promise((resolve) => {
    const secure = connectTls({
      socket,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => done(undefined), where.timeoutMs);
    const done = (value: { protocol: string | null } | undefined) => {
      clearTimeout(timer);
      secure.destroy();
      resolve(value);
    };
    secure.once('secureConnect', () => done({ protocol: secure.getProtocol() }));
    secure.once('error', () => done(undefined));
  });
}

/** The status line of a plain HTTP GET on the port, when it answers HTTP. */
export async function speaksPlainHttp(
  where: ProbeTarget,
  init: HandshakeRequestInit,
): Promise<ProbeResult | undefined> {
  const socket = await tcp(where);
  if (!socket) return undefined;
  const inbox = new Inbox(socket);
  socket.write(buildPlainGet(init));
  const result = await readHead(inbox, where.timeoutMs);
  socket.destroy();
  if (result.kind !== 'head') return undefined;
  return {
    probe: 'plain HTTP GET',
    status: result.head.status,
    server: header(result.head, 'server'),
    outcome: `HTTP ${result.head.status}`,
  };
}

/** The same handshake with changed options (on a fresh connection, TLS when the target is wss://). */
export async function handshakeProbe(
  where: ProbeTarget,
  init: HandshakeRequestInit,
  probe: string,
): Promise<ProbeResult> {
  const socket = await tcp(where);
  if (!socket) return { probe, outcome: 'could not connect' };
  const host = where.target.host;
  const stream = where.target.secure
    ? connectTls({
        socket,
        ...(isIP(host) ? {} : { servername: host }),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      })
    : socket;
  const inbox = new Inbox(stream);
  stream.write(buildHandshakeRequest(init).bytes);
  const result = await readHead(inbox, where.timeoutMs);
  stream.destroy();
  if (result.kind !== 'head') return { probe, outcome: result.kind };
  return {
    probe,
    status: result.head.status,
    server: header(result.head, 'server'),
    outcome: result.head.status === 101 ? 'switched (101)' : `HTTP ${result.head.status}`,
  };
}
