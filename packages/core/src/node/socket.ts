/**
 * Raw-socket helpers for the `'upgrade'` path: core's own rejections are bytes written to the
 * socket, and every socket wsgate answers is closed once flushed, within a bound.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpResponse } from '../response.js';
import { safeHeaders } from '../response.js';

/** How long a rejected socket may take to flush before it is destroyed anyway. */
const FLUSH_TIMEOUT_MS = 5_000;

function ignoreError(): void {}

/**
 * Keeps an `'error'` listener on a socket during async work: Node removes its own before
 * `'upgrade'`, and an unhandled socket error would crash the process.
 */
export function guardSocket(socket: Duplex): () => void {
  socket.on('error', ignoreError);
  return () => socket.off('error', ignoreError);
}

/**
 * Writes a complete HTTP/1.1 response to a raw socket and closes it: status line, headers,
 * `Content-Length`, `Connection: close` (`Upgrade, close` when the response carries `Upgrade`),
 * body; then ends the socket and destroys it once flushed (or after a bounded wait).
 * Header names and values are validated; invalid ones are never written.
 */
export function writeRawResponse(socket: Duplex, response: HttpResponse): void {
  if (socket.destroyed) return;
  socket.on('error', ignoreError);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(response.body, 'utf8');
  const headers = safeHeaders(response.headers);
  const lower = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (key === 'connection' || key === 'content-length' || key === 'transfer-encoding') continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `Connection: ${lower.has('upgrade') ? 'Upgrade, close' : 'close'}\r\n`;
  head += `Content-Length: ${body.length}\r\n\r\n`;
  closeAfterFlush(socket, Buffer.concat([Buffer.from(head, 'latin1'), body]));
}

/**
 * Ends a socket (after writing `last`, if given) and destroys it once flushed, or after a bounded
 * wait for a client that never reads: a rejected socket is never left open.
 */
export function closeAfterFlush(socket: Duplex, last?: Buffer): void {
  socket.on('error', ignoreError);
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), FLUSH_TIMEOUT_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  const destroy = () => socket.destroy();
  if (last) socket.end(last, destroy);
  else socket.end(destroy);
}
