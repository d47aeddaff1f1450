/**
 * Stage 3, tcp: connect to each resolved address in turn, within the timeout, then watch the
 * connection for a moment: a reset or close before anything was sent is a refusal after accept
 * (a load balancer without backends, an IP filter), not a handshake problem.
 */
import type { LookupAddress } from 'node:dns';
import { connect, type Socket } from 'node:net';
import { Inbox } from '../inbox.js';
import type { StageFailure } from '../report.js';
import { failed, passed, type StageOutcome } from './outcome.js';

/** How long a fresh connection is watched for an immediate reset or close. */
export const SETTLE_MS = 150;

/** A connected socket and what it has received so far. */
export interface Connection {
  readonly socket: Socket;
  readonly inbox: Inbox;
  readonly address: string;
}

/** Connects to the first address that accepts. */
export async function connectTcp(
  addresses: readonly LookupAddress[],
  port: number,
  timeoutMs: number,
): Promise<StageOutcome<Connection>> {
  const attempts: Array<{ address: string; result: string }> = [];
  let first: StageFailure | undefined;
  for (const { address } of addresses) {
    const started = performance.now();
    const result = await connectOnce(address, port, timeoutMs);
    const ms = Math.round(performance.now() - started);
    if ('socket' in result) {
      attempts.push({ address, result: `connected in ${ms} ms` });
      return settle(result, attempts);
    }
    attempts.push({ address, result: result.detail });
    first ??= result;
  }
  const failure = first as StageFailure;
  return failed({ ...failure, evidence: { port, attempts } });
}

function connectOnce(address: string, port: number, timeoutMs: number): Promise<Connection | StageFailure> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const where = `${address.includes(':') ? `[${address}]` : address}:${port}`;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ cause: 'tcp-timeout', detail: `no answer from ${where} within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({ socket, inbox: new Inbox(socket), address });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(connectError(error, where));
    });
  });
}

/** The cause of a failed connect, from its errno code. */
export function connectError(error: NodeJS.ErrnoException, where: string): StageFailure {
  switch (error.code) {
    case 'ECONNREFUSED':
      return { cause: 'tcp-refused', detail: `${where} refused the connection (ECONNREFUSED)` };
    case 'ETIMEDOUT':
      return { cause: 'tcp-timeout', detail: `connecting to ${where} timed out (ETIMEDOUT)` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { cause: 'tcp-unreachable', detail: `no route to ${where} (${error.code})` };
    case 'ECONNRESET':
      return { cause: 'tcp-reset', detail: `${where} reset the connection (ECONNRESET)` };
    default:
      return { cause: 'tcp-failed', detail: `connecting to ${where} failed: ${error.code ?? error.message}` };
  }
}

async function settle(
  connection: Connection,
  attempts: Array<{ address: string; result: string }>,
): Promise<StageOutcome<Connection>> {
  const { inbox, socket } = connection;
  const result = await inbox.wait(SETTLE_MS);
  const evidence = { attempts, local: `${socket.localAddress}:${socket.localPort}` };
  if (result === 'error' || result === 'end') {
    const reset = result === 'error' && inbox.error?.code === 'ECONNRESET';
    socket.destroy();
    return failed({
      cause: reset ? 'tcp-reset' : 'tcp-closed',
      detail: reset
        ? `the server accepted the connection and reset it at once (${inbox.error?.code}), before anything was sent`
        : 'the server accepted the connection and closed it at once, before anything was sent',
      evidence,
    });
  }
  return passed(connection, evidence);
}
