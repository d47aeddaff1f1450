/** Checks every adapter's own tests run the same way (assertions with vitest's `expect`). */
import { expect } from 'vitest';
import { closeWs, connectWs } from './clients.js';

/**
 * An open connection on `/a` uses the server's one place: `/b` is refused with
 * `503 TOO_MANY_CONNECTIONS` and `Retry-After`, logged; once `/a` closes, `/b` is admitted.
 *
 * @param findRecord - Waits (bounded) for a log record matching `where`.
 */
export async function expectServerConnectionLimit(
  port: number,
  findRecord: (where: (record: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>,
): Promise<void> {
  const first = await connectWs(`ws://127.0.0.1:${port}/a`);
  expect(first.kind).toBe('open');
  if (first.kind !== 'open') return;
  const refused = await connectWs(`ws://127.0.0.1:${port}/b`);
  expect(refused).toMatchObject({ kind: 'rejected', status: 503 });
  if (refused.kind === 'rejected') {
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'TOO_MANY_CONNECTIONS' });
  }
  expect(await findRecord((r) => r.path === '/b' && r.code === 'TOO_MANY_CONNECTIONS')).toMatchObject({
    status: 503,
  });
  await closeWs(first.ws);
  // Released when the server side of the socket closes, just after the client saw the close.
  let next = await connectWs(`ws://127.0.0.1:${port}/b`);
  for (let i = 0; i < 50 && next.kind !== 'open'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    next = await connectWs(`ws://127.0.0.1:${port}/b`);
  }
  expect(next.kind).toBe('open');
  if (next.kind === 'open') await closeWs(next.ws);
}

/**
 * A 101 response head carries what ws writes and nothing else: no header of the middleware in
 * front of the endpoint (helmet, CORS, compression) reaches it.
 */
export function expectBare101(head: string): void {
  const [statusLine, ...lines] = head.split('\r\n');
  expect(statusLine).toBe('HTTP/1.1 101 Switching Protocols');
  const names = lines.map((line) => line.slice(0, line.indexOf(':')).toLowerCase()).sort();
  expect(names).toEqual(['connection', 'sec-websocket-accept', 'upgrade']);
}
