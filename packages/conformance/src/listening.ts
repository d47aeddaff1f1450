/** The handle of a listening app server; no vitest here (`pnpm soak` imports it too). */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { ConformanceApp } from './fixture.js';

/** Waits until `server` listens, and gives the suite its handle (close ends every connection). */
export async function listening(server: Server): Promise<ConformanceApp> {
  if (!server.listening) await once(server, 'listening');
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
