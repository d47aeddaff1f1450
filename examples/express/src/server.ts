import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from './app.js';

const logger = pino();
const port = Number(process.env.PORT ?? 3001);

const server = createApp(logger).listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`listening on http://127.0.0.1:${actual}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
