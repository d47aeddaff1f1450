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

/** Starts `examples/<framework>/src/server.ts` with `PORT=port`; resolves once it listens. */
export async function startAppProcess(framework: Framework, port: number): Promise<AppProcess> {
  const peer = await startPeer({
    name: `${framework.name} server`,
    command: join(root, 'node_modules', '.bin', 'tsx'),
    args: () => ['--conditions=@wsgate/source', join(root, 'examples', framework.name, 'src', 'server.ts')],
    prepare: () => {},
    ports: [port],
    env: () => ({ PORT: String(port) }),
  });
  return {
    ...peer,
    port,
    records: () =>
      peer
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogRecord)
        .filter((record) => typeof record.outcome === 'string'),
  };
}
