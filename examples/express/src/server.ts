import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { lifecycleFromEnv, start } from './app.js';

const app = await start({
  logger: pino(),
  port: Number(process.env.PORT ?? 3001),
  lifecycle: lifecycleFromEnv(process.env),
});
console.log(`listening on http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);

// #region signals
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
// #endregion signals
