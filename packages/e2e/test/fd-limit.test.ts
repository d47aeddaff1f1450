/**
 * The file-descriptor limit (issue #12, item 6), for real: each reference app runs in a child
 * process under `prlimit --nofile=96:96` (what `ulimit -n 96` or `LimitNOFILE=96` give a
 * service). The test opens WebSocket connections past the limit and checks that the server stays
 * up, logs `server out of file descriptors` once with the limit and the fix, and accepts a new
 * handshake once the connections close.
 *
 * What the clients see at the limit is libuv's doing, not wsgate's: it accepts and closes the
 * excess connections at once (its reserve-descriptor trick), so they fail with "socket hang up"
 * or ECONNRESET before any byte of a response.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { describeWith, frameworks, freePort, root, startPeer } from '../src/index.js';

const LIMIT = 96;
const OUT = 'server out of file descriptors';
const AVAILABLE = 'server file descriptors available again';

type Outcome = { readonly ws: WebSocket; readonly opened: boolean; readonly error?: string };

function open(port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { handshakeTimeout: 5_000 });
    ws.once('open', () => resolve({ ws, opened: true }));
    ws.once('unexpected-response', (_req, res) =>
      resolve({ ws, opened: false, error: `status ${res.statusCode}` }),
    );
    ws.once('error', (error) => resolve({ ws, opened: false, error: error.message }));
  });
}

function records(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function until(check: () => boolean, what: string, output: () => string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describeWith(['prlimit'], 'at the file-descriptor limit', ({ prlimit }) => {
  describe.concurrent.each(frameworks())('$name', (framework) => {
    it(`stays up, says so once with the limit (${LIMIT}) and the fix, and recovers`, async () => {
      const port = await freePort();
      const app = await startPeer({
        name: `${framework.name} under prlimit`,
        command: prlimit,
        args: () => [
          `--nofile=${LIMIT}:${LIMIT}`,
          join(root, 'node_modules', '.bin', 'tsx'),
          '--conditions=@wsgate/source',
          join(root, 'examples', framework.name, 'src', 'server.ts'),
        ],
        prepare: () => {},
        ports: [port],
        env: () => ({ PORT: String(port), HEARTBEAT_MS: 'off' }),
      });
      const outcomes: Outcome[] = [];
      try {
        // One after another, so that the count crosses the limit exactly once.
        for (let i = 0; i < LIMIT + 20; i++) outcomes.push(await open(port));
        const opened = outcomes.filter((o) => o.opened).length;
        const failed = outcomes.filter((o) => !o.opened);
        expect(opened, app.output()).toBeGreaterThan(0);
        expect(opened).toBeLessThan(LIMIT);
        // Dropped unanswered by libuv, never a wsgate response.
        expect(failed.length).toBeGreaterThan(0);
        for (const { error } of failed) expect(error).toMatch(/socket hang up|ECONNRESET/);

        await until(() => records(app.stdout()).some((r) => r.msg === OUT), OUT, app.output);
        for (const { ws } of outcomes) ws.terminate();
        await until(() => records(app.stdout()).some((r) => r.msg === AVAILABLE), AVAILABLE, app.output);

        // Alive, and serving again.
        const again = await open(port);
        expect(again.opened, again.error).toBe(true);
        const echoed = new Promise<string>((resolve) =>
          again.ws.once('message', (data) => resolve(String(data))),
        );
        again.ws.send('back');
        expect(await echoed).toBe('back');
        again.ws.terminate();

        const said = records(app.stdout()).filter((r) => r.msg === OUT);
        expect(said, 'logged once').toHaveLength(1);
        expect(said[0]).toMatchObject({ level: 50, code: 'EMFILE', limit: LIMIT });
        expect(said[0]?.detectedBy).toMatch(/^(count|accept-error)$/);
        expect(said[0]?.hint).toMatch(/now 96.*LimitNOFILE=.*ulimit -n.*maxConnections/);
      } finally {
        for (const { ws } of outcomes) ws.terminate();
        await app.stop();
      }
    });
  });
});
