/**
 * A backend that records the exact request head a proxy sends (version, header names as spelled
 * on the wire, order) and answers 426. It shows what each real proxy does to a handshake, which is
 * what @wsgate/core's diagnosis fingerprints are built on.
 */
import net from 'node:net';

/** A request head as it arrived. */
export interface RecordedRequest {
  readonly requestLine: string;
  /** `1.0` or `1.1`. */
  readonly httpVersion: string;
  /** `[name, value]` in wire order and spelling. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The value of a header (any case), repeated ones joined with `, `. */
  get(name: string): string | undefined;
}

/** A running recorder. */
export interface Recorder {
  readonly port: number;
  readonly requests: readonly RecordedRequest[];
  /** Waits for the next request after `since` requests (bounded). */
  next(since: number, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/** Starts a recorder on a free loopback port. */
export function startRecorder(): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      requests.push(parseHead(data.slice(0, end)));
      data = '';
      socket.end(
        'HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\nContent-Length: 8\r\n\r\nrecorded',
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        requests,
        async next(since, timeoutMs = 5_000) {
          const deadline = Date.now() + timeoutMs;
          while (requests.length <= since) {
            if (Date.now() > deadline)
              throw new Error(`no request reached the recorder within ${timeoutMs} ms`);
            await new Promise((r) => setTimeout(r, 10));
          }
          return requests[since] as RecordedRequest;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function parseHead(head: string): RecordedRequest {
  const [requestLine = '', ...lines] = head.split('\r\n');
  const headers = lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()] as const;
  });
  return {
    requestLine,
    httpVersion: requestLine.split('HTTP/')[1] ?? '',
    headers,
    get(name) {
      const values = headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
      return values.length === 0 ? undefined : values.join(', ');
    },
  };
}
