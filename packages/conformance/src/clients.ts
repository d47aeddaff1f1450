/**
 * Real clients for the suite: raw `net` sockets for exact bytes (malformed and proxy-shaped
 * requests) and the `ws` client for real handshakes and messages.
 */
import net from 'node:net';
import WebSocket from 'ws';

/** A parsed HTTP response read from a raw socket. */
export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Whether the server closed the connection after the response. */
  readonly closed: boolean;
}

/** The valid key of RFC 6455 §1.3. */
export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** One header line to send, or `null` to leave a default out. */
export type HeaderSpec = Readonly<Record<string, string | readonly string[] | null>>;

/**
 * Builds a request's bytes: a complete Chrome-like handshake by default, with `headers` added,
 * replaced (same name, any case) or removed (`null`).
 */
export function buildRequest(options: {
  readonly path: string;
  readonly host: string;
  readonly method?: string;
  readonly version?: string;
  readonly headers?: HeaderSpec;
  /** Start from no headers at all instead of a handshake. */
  readonly bare?: boolean;
  readonly body?: string;
}): string {
  const defaults: Record<string, string | readonly string[]> = options.bare
    ? {}
    : {
        Host: options.host,
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': SAMPLE_KEY,
        'Sec-WebSocket-Version': '13',
      };
  const merged = new Map<string, [string, string | readonly string[] | null]>();
  for (const [name, value] of Object.entries(defaults)) merged.set(name.toLowerCase(), [name, value]);
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const resolved = typeof value === 'string' ? value.replaceAll('{host}', options.host) : value;
    merged.set(name.toLowerCase(), [name, resolved]);
  }
  let text = `${options.method ?? 'GET'} ${options.path} HTTP/${options.version ?? '1.1'}\r\n`;
  for (const [name, value] of merged.values()) {
    if (value === null) continue;
    for (const v of typeof value === 'string' ? [value] : value) text += `${name}: ${v}\r\n`;
  }
  return `${text}\r\n${options.body ?? ''}`;
}

/**
 * Sends raw bytes and reads one response. For a 101 it stops after the head; otherwise it reads
 * until the body is complete or the server closes. Never hangs: `timeoutMs` bounds the wait.
 */
export function sendRaw(port: number, bytes: string, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let closed = false;
    let settled = false;
    const settle = (outcome: RawResponse | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        settle(
          new Error(
            `no complete response within ${timeoutMs} ms; got ${JSON.stringify(data.toString('latin1'))}`,
          ),
        ),
      timeoutMs,
    );
    const check = () => {
      const parsed = parse(data, closed);
      if (!parsed) {
        if (closed)
          settle(new Error(`connection closed mid-response; got ${JSON.stringify(data.toString('latin1'))}`));
        return;
      }
      // A response that announces `Connection: close` must be followed by the close itself.
      if (parsed.status !== 101 && /\bclose\b/i.test(parsed.headers.connection ?? '') && !closed) return;
      settle(parsed);
    };
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      check();
    });
    socket.on('end', () => {
      closed = true;
      check();
    });
    socket.on('close', () => {
      closed = true;
      check();
    });
    socket.on('error', () => {});
    socket.write(bytes);
  });
}

/** Everything a server sent on one connection until it closed it. */
export interface RawExchange {
  /** The response head, parsed (status and headers). */
  readonly response: RawResponse;
  /** The bytes after the head: WebSocket frames, after a 101. */
  readonly after: Buffer;
}

/**
 * Sends raw bytes (a handshake, then frames of the test's making) and reads until the server
 * closes the connection. Never hangs: `timeoutMs` bounds the wait.
 */
export function exchangeRaw(port: number, bytes: Buffer, timeoutMs = 5_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const data = Buffer.concat(chunks);
      const end = data.indexOf('\r\n\r\n');
      const response = end === -1 ? undefined : parse(data.subarray(0, end + 4), true);
      if (!response) reject(new Error(`no response head; got ${JSON.stringify(data.toString('latin1'))}`));
      else resolve({ response, after: data.subarray(end + 4) });
    });
    socket.write(bytes);
  });
}

/** The status code of the first frame in `frames` if it is a close frame (servers do not mask). */
export function closeCodeOf(frames: Buffer): number | undefined {
  if (frames.length < 4 || frames[0] !== 0x88) return undefined;
  return frames.readUInt16BE(2);
}

function parse(data: Buffer, closed: boolean): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = data.subarray(end + 4);
  if (status === 101) return { status, headers, body: '', closed };
  const length = headers['content-length'];
  if (length !== undefined) {
    if (rest.length < Number(length)) return undefined;
    return { status, headers, body: rest.subarray(0, Number(length)).toString('utf8'), closed };
  }
  if (!closed) return undefined;
  return { status, headers, body: rest.toString('utf8'), closed };
}

/**
 * Sends `request` and resolves with the response head the server sends (status line and header
 * lines, without the blank line), then drops the connection: after a 101 the server never closes.
 */
export function readResponseHead(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.destroy();
      resolve(received.slice(0, end));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before a response head: ${JSON.stringify(received)}`)));
  });
}

/**
 * A plain request and then a handshake in one write (HTTP/1.1 pipelining, as a keep-alive client
 * may send them): resolves with every byte received (latin1) once `until` holds for them, or the
 * server closes, or `timeoutMs` passes. `plainPath` should answer slowly, so that the handshake
 * arrives while its response is still being written.
 */
export function sendPipelined(
  port: number,
  plainPath: string,
  handshakePath: string,
  until: (received: string) => boolean,
  timeoutMs = 3_000,
): Promise<string> {
  return new Promise((resolve) => {
    const host = `127.0.0.1:${port}`;
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (until(received)) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(
      `GET ${plainPath} HTTP/1.1\r\nHost: ${host}\r\n\r\n${buildRequest({ path: handshakePath, host })}`,
    );
  });
}

/** What the `ws` client saw. */
export type WsOutcome =
  | {
      readonly kind: 'open';
      readonly ws: WebSocket;
      readonly protocol: string;
      readonly extensions: string;
      /** The next message not yet taken, including ones that arrived with the 101. */
      next(): Promise<string>;
    }
  | {
      readonly kind: 'rejected';
      readonly status: number;
      readonly headers: Readonly<Record<string, string | string[] | undefined>>;
      readonly body: string;
    }
  | { readonly kind: 'error'; readonly message: string };

/** Opens a connection with the real `ws` client and reports what happened. */
export function connectWs(
  url: string,
  protocols: string | string[] = [],
  options: WebSocket.ClientOptions = {},
): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: 5_000, ...options });
    // Collect from the start: a message sent on open can arrive before the caller listens.
    const queue: string[] = [];
    const waiters: Array<(message: string) => void> = [];
    ws.on('message', (data) => {
      const waiter = waiters.shift();
      if (waiter) waiter(String(data));
      else queue.push(String(data));
    });
    const next = () =>
      new Promise<string>((resolveMessage, rejectMessage) => {
        const queued = queue.shift();
        if (queued !== undefined) return resolveMessage(queued);
        waiters.push(resolveMessage);
        ws.once('close', (code) => rejectMessage(new Error(`closed with ${code} before a message`)));
      });
    ws.once('open', () =>
      resolve({ kind: 'open', ws, protocol: ws.protocol, extensions: ws.extensions, next }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ kind: 'rejected', status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.once('error', (error) => resolve({ kind: 'error', message: error.message }));
  });
}

/** Sends `message` and resolves with the next message received, as text. */
export function roundTrip(ws: WebSocket, message: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.once('error', reject);
    ws.send(message);
  });
}

/** Closes a client and waits for the close to complete. */
export function closeWs(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close();
  });
}
