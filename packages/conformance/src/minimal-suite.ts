/**
 * The smallest app of each framework (examples/<framework>/src/minimal.ts, which the README and the
 * recipes show) run as users copy it: its own process, its fixed port rewritten to a free one by
 * `port-zero.mjs`, a real `ws` client. It must negotiate the subprotocol and echo text as text and
 * binary as binary (a browser gets a `Blob` for text echoed as binary).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

/** Sends `data` and resolves with the first reply and whether it came as a binary frame. */
function reply(ws: WebSocket, data: string | Buffer): Promise<{ text: string; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (message, isBinary) => resolve({ text: String(message), isBinary }));
    ws.once('error', reject);
    ws.send(data);
  });
}

/** Registers the checks of one minimal example. */
export function runMinimalSuite(framework: string, file: URL): void {
  describe(`minimal app: ${framework}`, () => {
    let child: ChildProcess;
    let port = 0;
    let output = '';

    beforeAll(async () => {
      const path = fileURLToPath(file);
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          new URL('./port-zero.mjs', import.meta.url).href,
          '--conditions=@wsgate/source',
          path,
        ],
        { cwd: dirname(dirname(path)), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (chunk) => {
        output += chunk;
      });
      port = await new Promise<number>((resolve, reject) => {
        child.stderr?.on('data', (chunk) => {
          output += chunk;
          const match = /wsgate-test-listening (\d+)/.exec(output);
          if (match) resolve(Number(match[1]));
        });
        child.once('exit', (code) => reject(new Error(`${path} exited with ${code}:\n${output}`)));
      });
    });
    afterAll(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('negotiates chat.v2 and echoes text as text, binary as binary', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, ['chat.v2']);
      await once(ws, 'open');
      try {
        expect(ws.protocol).toBe('chat.v2');
        expect(await reply(ws, 'hello')).toEqual({ text: 'hello', isBinary: false });
        expect(await reply(ws, Buffer.from('bytes'))).toEqual({ text: 'bytes', isBinary: true });
      } finally {
        ws.close();
        await once(ws, 'close');
      }
    });
  });
}
