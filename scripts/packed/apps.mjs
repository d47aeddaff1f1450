// What each throwaway project runs: one app per framework, written once in JavaScript that is also
// strict TypeScript, with an ESM (`import`) or CommonJS (`require`) head. Every project starts its
// app on port 0, opens one accepted handshake (subprotocol negotiated, text echoed as text) and
// one rejected one (a foreign Origin: 403 ORIGIN_NOT_ALLOWED) with the real `ws` client, then
// closes the server and prints one line that the check compares. Every app also runs with
// @wsgate/otel on (the global providers of @opentelemetry/api, installed as its peer at the newest
// version in range), stopped at the end.

/** The line a project prints when both handshakes went as expected. */
export const EXPECTED_OUTPUT = 'accepted chat.v2 text "hi" | rejected 403 ORIGIN_NOT_ALLOWED';

const OPTIONS = `{ protocols: ['chat.v2'], requireProtocol: true }`;
const ECHO = `(data, isBinary) => ws.send(data, { binary: isBinary })`;

/** Per framework: the modules it needs and the body that starts the app as `server` + `stop`. */
const FRAMEWORKS = {
  express: {
    modules: [
      ['{ websocket }', '@wsgate/express'],
      ['express', 'express'],
    ],
    start: `const app = express();
  app.get('/chat', websocket(${OPTIONS}, (ws) => {
    ws.on('message', ${ECHO});
  }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const stop = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });`,
  },
  koa: {
    modules: [
      ['{ websocket }', '@wsgate/koa'],
      ['Koa', 'koa'],
    ],
    start: `const app = new Koa();
  app.use(websocket('/chat', ${OPTIONS}, (ws) => {
    ws.on('message', ${ECHO});
  }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const stop = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });`,
  },
  fastify: {
    modules: [
      ['{ wsgate }', '@wsgate/fastify'],
      ['Fastify', 'fastify'],
    ],
    start: `const app = Fastify();
  await app.register(wsgate);
  app.get('/chat', { websocket: true, config: { wsgate: ${OPTIONS} } }, (ws) => {
    ws.on('message', ${ECHO});
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const server = app.server;
  const stop = () => app.close();`,
  },
};

const CLIENT = `const address = server.address();
  const base = \`ws://127.0.0.1:\${typeof address === 'object' && address !== null ? address.port : 0}/chat\`;
  const accepted = await new Promise((resolve, reject) => {
    const ws = new WebSocket(base, ['chat.v2']);
    ws.on('open', () => ws.send('hi'));
    ws.on('message', (data, isBinary) => {
      resolve(\`accepted \${ws.protocol} \${isBinary ? 'binary' : 'text'} \${JSON.stringify(String(data))}\`);
      ws.close();
    });
    ws.on('error', reject);
  });
  const rejected = await new Promise((resolve, reject) => {
    const ws = new WebSocket(base, ['chat.v2'], { origin: 'http://evil.example' });
    ws.on('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => {
        request.destroy();
        resolve(\`rejected \${response.statusCode} \${JSON.parse(body).code}\`);
      });
    });
    ws.on('open', () => reject(new Error('a foreign Origin was accepted')));
    ws.on('error', reject);
  });
  await stop();
  console.log(\`\${accepted} | \${rejected}\`);`;

/**
 * The source of a project's entry file.
 *
 * @param framework - `express`, `koa` or `fastify`.
 * @param kind - `esm` (also the TypeScript source) or `cjs`.
 */
export function appSource(framework, kind) {
  const { modules, start } = FRAMEWORKS[framework];
  const all = [
    ['{ once }', 'node:events'],
    ...modules,
    ['{ instrumentWsgate }', '@wsgate/otel'],
    ['WebSocket', 'ws'],
  ];
  const head = all
    .map(([binding, from]) =>
      kind === 'cjs' ? `const ${binding} = require('${from}');` : `import ${binding} from '${from}';`,
    )
    .join('\n');
  return `${head}

async function main() {
  const otel = instrumentWsgate();
  ${start}
  ${CLIENT}
  otel.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;
}
