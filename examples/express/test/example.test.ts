import { once } from 'node:events';
import { runExampleSuite } from '@wsgate/conformance';
import { createApp } from '../src/app.js';

runExampleSuite('express', async (logger) => {
  const server = createApp(logger).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
