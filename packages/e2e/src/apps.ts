/**
 * The reference apps under test: every `examples/<framework>/src/app.ts` that exists is one
 * framework, so Koa and Fastify join these tests as soon as their example lands. Each app runs with
 * a pino logger that writes into memory, so tests assert the server's handshake record.
 */

import { existsSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Logger, pino } from 'pino';
import { memoryStream } from './records.js';

/** The repository root. */
export const root = new URL('../../../', import.meta.url).pathname;

/** What every reference app's `src/app.ts` exports. */
export type StartApp = (options: {
  logger: Logger;
  port?: number;
  host?: string;
  /** The lifecycle knobs (`HEARTBEAT_MS`, … in the server script); unset: wsgate's defaults. */
  lifecycle?: { heartbeatMs?: number | false } | undefined;
}) => Promise<{ server: Server; close(): Promise<void> }>;

/** A reference app found under examples/. */
export interface Framework {
  /** The example's directory name (`express`, `koa`, `fastify`), also the logged `framework`. */
  readonly name: string;
  readonly appFile: string;
}

/** Every example with a `src/app.ts`, by name. */
export function frameworks(): Framework[] {
  const dir = join(root, 'examples');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'src', 'app.ts')))
    .map((entry) => ({ name: entry.name, appFile: join(dir, entry.name, 'src', 'app.ts') }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One handshake record as pino wrote it. */
export type LogRecord = Record<string, unknown> & {
  readonly msg?: string;
  readonly outcome?: 'accepted' | 'rejected';
  readonly code?: string;
  readonly path?: string;
};

/** A running reference app with the records its logger received. */
export interface RunningApp {
  readonly framework: string;
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly records: readonly LogRecord[];
  /**
   * The first handshake record after `since` (an index into `records`) that matches `where`;
   * waits up to `timeoutMs`, then fails listing what was logged.
   */
  waitForRecord(
    where: (record: LogRecord) => boolean,
    since?: number,
    timeoutMs?: number,
  ): Promise<LogRecord>;
  close(): Promise<void>;
}

/** Loads an example's `start` export; fails (never skips) when the example does not export one. */
export async function loadStart(framework: Framework): Promise<StartApp> {
  const module = (await import(pathToFileURL(framework.appFile).href)) as { start?: unknown };
  if (typeof module.start !== 'function')
    throw new Error(`${framework.appFile} must export start({ logger, port, host }) like examples/express`);
  return module.start as StartApp;
}

/** Starts a framework's reference app on 127.0.0.1 (a free port, or `port`) with an in-memory logger. */
export async function startApp(
  framework: Framework,
  port = 0,
  lifecycle?: { heartbeatMs?: number | false },
): Promise<RunningApp> {
  const start = await loadStart(framework);
  const records: LogRecord[] = [];
  const app = await start({ logger: pino(memoryStream(records)), port, host: '127.0.0.1', lifecycle });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`${framework.name}: the app is not listening on TCP`);
  }
  const isHandshake = (r: LogRecord) => typeof r.outcome === 'string';
  return {
    framework: framework.name,
    port: address.port,
    address: `127.0.0.1:${address.port}`,
    records,
    async waitForRecord(where, since = 0, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = records.slice(since).find((r) => isHandshake(r) && where(r));
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = records.slice(since).filter(isHandshake);
          throw new Error(
            `${framework.name}: no matching handshake record within ${timeoutMs} ms; logged: ${JSON.stringify(seen, null, 1)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () => app.close(),
  };
}
