/**
 * Local servers built to fail in one way each: on 127.0.0.1, port 0, every socket tracked so that
 * `close()` leaves nothing behind.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { computeAcceptKey } from '@wsgate/core';
import { afterAll } from 'vitest';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

/** A listening server and how to stop it. */
export interface Running {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 (or ::1) and tracks sockets; `server` may be net, tls, http or https. */
export async function listen(server: Server, host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<Running> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  // tls.Server reports raw sockets on 'connection' too; TLS-level errors must not crash the test.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server that hands each connection to `onConnection`. */
export function rawServer(onConnection: (socket: Socket) => void): Promise<Running> {
  return listen(createServer(onConnection));
}

/** Reads a request head from a socket, then calls `respond` with it (raw bytes out). */
export function rawHttpServer(respond: (head: string, socket: Socket) => void): Promise<Running> {
  return rawServer((socket) => {
    let data = '';
    const onData = (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      respond(data.slice(0, end), socket);
    };
    socket.on('data', onData);
  });
}

/** A header's value in a raw request head (first line of that name). */
export function requestHeader(head: string, name: string): string | undefined {
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (line.slice(0, colon).toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** The right Sec-WebSocket-Accept for a key (core's, so the doctor's own is checked against it). */
export const acceptFor = computeAcceptKey;

/** A raw HTTP response. */
export function response(status: string, headers: Record<string, string>, body = ''): string {
  const lines = [`HTTP/1.1 ${status}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (!('Content-Length' in headers) && !status.startsWith('101'))
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** An http(s) server with a `ws` server on it, listening; `close()` stops both. */
export async function listenWs(
  server: HttpServer,
  options: Omit<ServerOptions, 'server'> = {},
  onConnection: (ws: WebSocket) => void = () => {},
  host: '127.0.0.1' | '::1' = '127.0.0.1',
): Promise<Running> {
  const wss = new WebSocketServer({ ...options, server });
  wss.on('connection', onConnection);
  const running = await listen(server, host);
  return {
    port: running.port,
    close: async () => {
      wss.close();
      await running.close();
    },
  };
}

/** Echoes every message back as it came (text or binary). */
export function echo(ws: WebSocket): void {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

/**
 * Registers an afterAll that closes every server handed to the returned function, which resolves
 * with the server's port.
 */
export function closeAfterAll(): (server: Promise<Running> | Running) => Promise<number> {
  const running: Running[] = [];
  afterAll(async () => {
    for (const server of running) await server.close();
  });
  return async (server) => {
    const started = await server;
    running.push(started);
    return started.port;
  };
}
