// The smallest wsgate app: the README shows this file.
import { websocket } from '@wsgate/express';
import express from 'express';
import { pino } from 'pino';

const app = express();
app.get(
  '/chat',
  websocket({ protocols: ['chat.v2', 'chat.v1'], logger: pino() }, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  }),
);
app.listen(3000);
