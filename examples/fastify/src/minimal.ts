// The smallest wsgate app on Fastify: the Fastify recipe shows this file.
import { wsgate } from '@wsgate/fastify';
import Fastify from 'fastify';

const app = Fastify({ logger: true });
await app.register(wsgate);
app.get('/chat', { websocket: true, config: { wsgate: { protocols: ['chat.v2', 'chat.v1'] } } }, (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
await app.listen({ port: 3000 });
