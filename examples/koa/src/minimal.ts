// The smallest wsgate app on Koa: the Koa recipe shows this file.
import { websocket } from '@wsgate/koa';
import Koa from 'koa';
import { pino } from 'pino';

const app = new Koa();
app.use(
  websocket('/chat', { protocols: ['chat.v2', 'chat.v1'], logger: pino() }, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  }),
);
app.listen(3000);
