/**
 * A reference app in a Node process of its own: the example's real server script
 * (`examples/<framework>/src/server.ts`, what `npm start` runs) under tsx, on a given port, with
 * its pino records read from stdout.
 */
import { join } from 'node:path';
import type { Framework, LogRecord } from './apps.js';
import { root } from './apps.js';
import { type Peer, startPeer } from './peer.js';

/** A reference app running as its own process. */
export interface AppProcess extends Peer {
  readonly port: number;
  /** The handshake records it has logged so far. */
  records(): LogRecord[];
}

/**
 * Starts `examples/<framework>/src/server.ts` with `PORT=port`; resolves once the process itself
 * prints that it listens (its `listening on http://127.0.0.1:<port>` line), not merely once the
 * port accepts connections, which another process on that port would do too. Port 0 (the default)
 * lets the kernel pick a free port as the process binds it: no window in which another process can
 * take it; the port it got is `port` of the result.
 */
export async function startAppProcess(framework: Framework, port = 0): Promise<AppProcess> {
  // server.ts prints this after listen() succeeded; with a given port, that port and no other. Up
  // to the newline: a line half written so far could be a longer port's first digits.
  const digits = port === 0 ? '\\d+' : String(port);
  const listening = new RegExp(`^listening on http://127\\.0\\.0\\.1:(${digits})\\n`, 'm');
  const peer = await startPeer({
    name: `${framework.name} server`,
    command: join(root, 'node_modules', '.bin', 'tsx'),
    args: () => ['--conditions=@wsgate/source', join(root, 'examples', framework.name, 'src', 'server.ts')],
    prepare: () => {},
    ports: [],
    readyOutput: listening,
    env: () => ({ PORT: String(port) }),
  });
  const bound = Number(listening.exec(peer.stdout())?.[1]);
  return {
    ...peer,
    port: bound,
    records: () =>
      peer
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogRecord)
        .filter((record) => typeof record.outcome === 'string'),
  };
}
