/**
 * Reads an HTTP/1.x response from an {@link Inbox}: the head (status line and headers), and for a
 * non-101 the body. Every parser here is linear in its input and bounded in size: server bytes are
 * scanned with indexOf and slices, never with a regular expression.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { deadline, type Inbox } from './inbox.js';

/** The most bytes of a response head the doctor reads. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** The most bytes of a response body the doctor keeps (the rest is cut off). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A parsed response head. */
export interface ResponseHead {
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  /** Header lines as sent, in order, names as spelled. */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
}

/** What came back for a request. */
export type ReadHead =
  | { readonly kind: 'head'; readonly head: ResponseHead }
  | { readonly kind: 'timeout' | 'closed' | 'reset' | 'too-large'; readonly preview: string }
  | { readonly kind: 'not-http'; readonly preview: string; readonly bytes: Buffer };

/** The value of a header (lines of the same name joined with ", "), case-insensitive. */
export function header(head: ResponseHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = head.rawHeaders.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
}

/** How many header lines of that name the head has. */
export function headerCount(head: ResponseHead, name: string): number {
  const lower = name.toLowerCase();
  return head.rawHeaders.filter(([n]) => n.toLowerCase() === lower).length;
}

/** Printable text of the first bytes, for evidence: control bytes as \xNN. */
export function preview(bytes: Buffer, max = 200): string {
  let out = '';
  for (const byte of bytes.subarray(0, max)) {
    out +=
      byte === 0x0a
        ? '\\n'
        : byte === 0x0d
          ? '\\r'
          : byte >= 0x20 && byte < 0x7f
            ? String.fromCharCode(byte)
            : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return bytes.length > max ? `${out}…` : out;
}

/** Waits for a complete response head; takes it out of the inbox. */
export async function readHead(inbox: Inbox, timeoutMs: number): Promise<ReadHead> {
  const remaining = deadline(timeoutMs);
  for (;;) {
    const bytes = inbox.bytes;
    if (bytes.length > 0 && !startsLikeHttp(bytes)) {
      return { kind: 'not-http', preview: preview(bytes), bytes: Buffer.from(bytes.subarray(0, 64)) };
    }
    const end = headEnd(bytes);
    if (end && end.index > MAX_HEAD_BYTES) return { kind: 'too-large', preview: preview(bytes) };
    if (end) {
      const head = parseHead(inbox.take(end.index + end.length).toString('latin1'));
      if (!head)
        return { kind: 'not-http', preview: preview(bytes), bytes: Buffer.from(bytes.subarray(0, 64)) };
      return { kind: 'head', head };
    }
    if (bytes.length > MAX_HEAD_BYTES) return { kind: 'too-large', preview: preview(bytes) };
    const result = await inbox.wait(remaining());
    if (result === 'timeout') return { kind: 'timeout', preview: preview(inbox.bytes) };
    if (result === 'error' && inbox.bytes.length === 0) return { kind: 'reset', preview: '' };
    if (result === 'end' || result === 'error') {
      const rest = inbox.bytes;
      if (rest.length > 0 && headEnd(rest) === undefined) {
        // A head cut off by the close still says something (status line, Server).
        const head = startsLikeHttp(rest) ? parseHead(rest.toString('latin1')) : undefined;
        if (head) return { kind: 'head', head };
      }
      if (headEnd(rest) === undefined) return { kind: 'closed', preview: preview(rest) };
    }
  }
}

/** Whether the bytes so far can be the start of `HTTP/1.`. */
function startsLikeHttp(bytes: Buffer): boolean {
  const prefix = 'HTTP/1.';
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

function headEnd(bytes: Buffer): { index: number; length: number } | undefined {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

/** Parses a response head (status line and header lines); undefined when it is not HTTP/1.x. */
export function parseHead(text: string): ResponseHead | undefined {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  const statusLine = lines[0] ?? '';
  const firstSpace = statusLine.indexOf(' ');
  const version = firstSpace < 0 ? statusLine : statusLine.slice(0, firstSpace);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return undefined;
  const code = statusLine.slice(firstSpace + 1, firstSpace + 4);
  if (code.length !== 3 || !isDigits(code)) return undefined;
  const rawHeaders: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    rawHeaders.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { version, status: Number(code), reason: statusLine.slice(firstSpace + 5), rawHeaders };
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** A response body as far as the doctor read it. */
export interface ResponseBody {
  /** The decoded text (UTF-8), cut at {@link MAX_BODY_BYTES}. */
  readonly text: string;
  /** Whether the body was longer than what was kept, or did not finish in time. */
  readonly truncated: boolean;
}

/** Reads the body that follows a non-101 head: Content-Length, chunked, or until the close. */
export async function readBody(inbox: Inbox, head: ResponseHead, timeoutMs: number): Promise<ResponseBody> {
  const remaining = deadline(timeoutMs);
  const chunked = (header(head, 'transfer-encoding') ?? '').toLowerCase().includes('chunked');
  const lengthText = header(head, 'content-length');
  const length = lengthText !== undefined && isDigits(lengthText) ? Number(lengthText) : undefined;
  const noBody = head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200);
  let raw: Buffer;
  let truncated = false;
  if (noBody || length === 0) {
    raw = Buffer.alloc(0);
  } else if (chunked) {
    const decoded = await readChunked(inbox, remaining);
    raw = decoded.body;
    truncated = decoded.truncated;
  } else {
    const want = Math.min(length ?? Number.POSITIVE_INFINITY, MAX_BODY_BYTES);
    while (inbox.bytes.length < want && !inbox.ended && !inbox.error) {
      if ((await inbox.wait(remaining())) === 'timeout') break;
    }
    raw = inbox.take(Math.min(want, inbox.bytes.length));
    truncated = raw.length < (length ?? raw.length) || (length === undefined && inbox.bytes.length > 0);
  }
  return { text: decode(raw, header(head, 'content-encoding')), truncated };
}

async function readChunked(
  inbox: Inbox,
  remaining: () => number,
): Promise<{ body: Buffer; truncated: boolean }> {
  const parts: Buffer[] = [];
  let size = 0;
  for (;;) {
    const bytes = inbox.bytes;
    const lineEnd = bytes.indexOf('\r\n');
    if (lineEnd >= 0 && lineEnd <= 32) {
      const sizeText = bytes.subarray(0, lineEnd).toString('latin1');
      const semicolon = sizeText.indexOf(';');
      const chunkSize = Number.parseInt(semicolon < 0 ? sizeText : sizeText.slice(0, semicolon), 16);
      if (!Number.isFinite(chunkSize)) return { body: Buffer.concat(parts), truncated: true };
      if (chunkSize === 0) return { body: Buffer.concat(parts), truncated: false };
      if (bytes.length >= lineEnd + 2 + chunkSize + 2) {
        inbox.take(lineEnd + 2);
        const chunk = inbox.take(chunkSize);
        inbox.take(2);
        parts.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES)
          return { body: Buffer.concat(parts).subarray(0, MAX_BODY_BYTES), truncated: true };
        continue;
      }
    } else if (lineEnd > 32 || (lineEnd < 0 && bytes.length > 32)) {
      return { body: Buffer.concat(parts), truncated: true };
    }
    if (inbox.ended || inbox.error) return { body: Buffer.concat(parts), truncated: true };
    if ((await inbox.wait(remaining())) === 'timeout') return { body: Buffer.concat(parts), truncated: true };
  }
}

/** Decodes gzip, deflate or br (bounded); anything else, or a failure, gives the bytes as UTF-8. */
function decode(raw: Buffer, encoding: string | undefined): string {
  const options = { maxOutputLength: MAX_BODY_BYTES };
  try {
    switch (encoding?.toLowerCase().trim()) {
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(raw, options).toString('utf8');
      case 'deflate':
        return inflateSync(raw, options).toString('utf8');
      case 'br':
        return brotliDecompressSync(raw, options).toString('utf8');
      default:
        return raw.toString('utf8');
    }
  } catch {
    return raw.toString('utf8');
  }
}
