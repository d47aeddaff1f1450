// The smallest wsgate app on Fastify: the Fastify recipe shows this file.
import { websocket, wsgate } from '@wsgate/fastify';
import Fastify from 'fastify';

const app = Fastify({ logger: true });
await app.register(wsgate);
app.get(
  '/chat',
  websocket({ protocols: ['chat.v2', 'chat.v1'] }, (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  }),
);
await app.listen({ port: 3000 });
