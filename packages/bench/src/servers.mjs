/**
 * The servers compared: for each framework, the wsgate adapter and the library users would pick
 * instead, plus a bare `ws` `handleUpgrade` on a plain `http` server as the floor. Every one
 * serves `/chat` the same way: it selects `chat.v2` (else `chat.v1`), refuses other origins with
 * 403 before the 101, and echoes messages. Each baseline does that with its own library's
 * facilities, as its documentation shows. Imports are dynamic so that a broken package only
 * breaks its own variant.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALLOWED_ORIGIN, CHAT_OPTIONS, CHAT_PATH, PROTOCOLS } from './requests.mjs';

function echo(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

/** ws 8 hands `handleProtocols` a Set, ws 7 (under express-ws) an array. */
function pickProtocol(offered) {
  const has = Array.isArray(offered) ? (p) => offered.includes(p) : (p) => offered.has(p);
  return PROTOCOLS.find(has) ?? false;
}

function originAllowed(origin) {
  return origin === ALLOWED_ORIGIN;
}

function pathOf(url) {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Milliseconds since `startedAt`, to the microsecond, as wsgate's handshake records have it. */
function since(startedAt) {
  return Math.round((performance.now() - startedAt) * 1000) / 1000;
}

/**
 * The `native + pino` baselines' logging, what a user of the native library hand-writes to log
 * what wsgate logs: one record per handshake (`record`, the library's view of it; the field names
 * of wsgate's records) under wsgate's messages, and a close record (code, duration, message
 * counts) when the connection ends. Object literals only: no spread on this path.
 */
function logAccepted(logger, record) {
  logger.info(record, 'websocket handshake accepted');
}

function logRejected(logger, record) {
  logger.info(record, 'websocket handshake rejected');
}

/** {@link echo}, counting messages, and logging the connection's end on `logger`. */
function loggedEcho(ws, logger, path, framework, remoteAddress) {
  const openedAt = performance.now();
  let messagesIn = 0;
  let messagesOut = 0;
  ws.on('message', (data, isBinary) => {
    messagesIn++;
    ws.send(data, { binary: isBinary });
    messagesOut++;
  });
  ws.once('close', (closeCode) => {
    logger.info(
      {
        path,
        framework,
        remoteAddress,
        protocol: ws.protocol || undefined,
        closeCode,
        durationMs: Math.round(performance.now() - openedAt),
        messagesIn,
        messagesOut,
      },
      'websocket connection closed',
    );
  });
}

async function listen(server, host) {
  server.listen(0, host);
  await once(server, 'listening');
  return server.address().port;
}

function closer(server) {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
}

/**
 * The reference configuration's logger: pino writing JSON lines to a file through an asynchronous
 * `pino.destination` (`sync: false`), as a production app runs it. The file lives in a temporary
 * directory removed when the server process exits.
 */
export async function fileLogger() {
  const { default: pino } = await import('pino');
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-bench-log-'));
  const file = join(dir, 'handshakes.log');
  const destination = pino.destination({ dest: file, sync: false });
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing written yet, or already closed.
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    logger: pino({ level: 'info' }, destination),
    file: { path: file, flush: () => destination.flushSync() },
  };
}

/**
 * @wsgate/otel on the real OpenTelemetry SDK, as a production app runs it: a meter provider whose
 * reader is pulled (a Prometheus scrape; nothing pulls during the bench, the aggregation still runs
 * on every handshake) and a tracer provider batching every span to an exporter that drops them.
 * The channels are process-wide and each variant runs in its own server process.
 */
export async function instrumentOtel() {
  const { instrumentWsgate } = await import('@wsgate/otel');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  class PulledReader extends MetricReader {
    async onShutdown() {}
    async onForceFlush() {}
  }
  const meterProvider = new MeterProvider({ readers: [new PulledReader()] });
  const dropping = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] });
  const otel = instrumentWsgate({ meterProvider, tracerProvider });
  return async () => {
    otel.stop();
    await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
  };
}

/** Runs `close`, then stops the instrumentation when there is one. */
function alsoStop(close, stopOtel) {
  if (!stopOtel) return close;
  return async () => {
    await close();
    await stopOtel();
  };
}

/** The floor: a plain `http` server and `ws`'s `handleUpgrade`, nothing else. */
async function startFloor(host) {
  const http = await import('node:http');
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ noServer: true, handleProtocols: pickProtocol });
  const server = http.createServer((req, res) => {
    if (pathOf(req.url) !== CHAT_PATH) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' }).end('Upgrade Required');
  });
  server.on('upgrade', (req, socket, head) => {
    const refuse = (status) => {
      socket.once('finish', () => socket.destroy());
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
    };
    if (pathOf(req.url) !== CHAT_PATH) return refuse(404);
    if (!originAllowed(req.headers.origin)) return refuse(403);
    wss.handleUpgrade(req, socket, head, echo);
  });
  const port = await listen(server, host);
  return { port, close: closer(server) };
}

/** @wsgate/express, as in the reference app; with `logged`, its app-level `wsgate({ logger })` first. */
/**
 * The lifecycle configurations: `bare` turns the heartbeat off (wsgate's default is on, every
 * 30 s); `limits` keeps it on and sets every connection limit, high enough never to refuse.
 */
const LIFECYCLE = {
  default: {},
  bare: { heartbeatMs: false },
  limits: { maxConnections: 1_000_000, maxConnectionsPerClient: 1_000_000 },
};
const SERVER_LIMIT = { maxServerConnections: 1_000_000 };

async function startExpressWsgate(host, logged = false, otel = false, lifecycle = 'default') {
  const stopOtel = otel ? await instrumentOtel() : undefined;
  const { default: express } = await import('express');
  const { websocket, wsgate } = await import('@wsgate/express');
  const app = express();
  const log = logged ? await fileLogger() : undefined;
  if (log) app.use(wsgate({ logger: log.logger }));
  if (lifecycle === 'limits') app.use(wsgate(SERVER_LIMIT));
  app.get(CHAT_PATH, websocket({ ...CHAT_OPTIONS, ...LIFECYCLE[lifecycle] }, echo));
  const server = app.listen(0, host);
  await once(server, 'listening');
  return { port: server.address().port, close: alsoStop(closer(server), stopOtel), logFile: log?.file };
}

/**
 * express-ws 5 (ws 7 underneath). Its ws server takes every upgrade and answers 101 before
 * Express routes the request, so the origin check must be ws's `verifyClient`: Express
 * middleware on the route runs only after the 101.
 */
async function startExpressWs(host) {
  const { default: express } = await import('express');
  const { default: expressWs } = await import('express-ws');
  const app = express();
  expressWs(app, undefined, {
    wsOptions: {
      handleProtocols: pickProtocol,
      verifyClient: (info, callback) => callback(originAllowed(info.origin), 403),
    },
  });
  app.ws(CHAT_PATH, echo);
  const server = app.listen(0, host);
  await once(server, 'listening');
  return { port: server.address().port, close: closer(server) };
}

/**
 * express-ws with the same `fileLogger()` as `@wsgate/express + pino`, logged by hand: the
 * rejection where user code sees it (`verifyClient`; ws 7 refuses a bad key or version before
 * calling it, with no event to hook), the accepted handshake in the `app.ws` handler (Express
 * runs it after the 101), the close on the socket. The handler's `req.path` has express-ws's
 * `/.websocket` suffix; the handshake's duration runs from `verifyClient`.
 */
async function startExpressWsLogged(host) {
  const { default: express } = await import('express');
  const { default: expressWs } = await import('express-ws');
  const log = await fileLogger();
  const { logger } = log;
  const startedAt = new WeakMap();
  const app = express();
  expressWs(app, undefined, {
    wsOptions: {
      handleProtocols: pickProtocol,
      verifyClient: (info, callback) => {
        const started = performance.now();
        if (originAllowed(info.origin)) {
          startedAt.set(info.req, started);
          return callback(true);
        }
        logRejected(logger, {
          outcome: 'rejected',
          status: 403,
          path: pathOf(info.req.url),
          framework: 'express',
          method: info.req.method,
          remoteAddress: info.req.socket.remoteAddress,
          origin: info.origin,
          durationMs: since(started),
        });
        callback(false, 403);
      },
    },
  });
  app.ws(CHAT_PATH, (ws, req) => {
    const path = req.path.slice(0, -'/.websocket'.length);
    const remoteAddress = req.socket.remoteAddress;
    logAccepted(logger, {
      outcome: 'accepted',
      status: 101,
      path,
      framework: 'express',
      method: req.method,
      remoteAddress,
      origin: req.headers.origin,
      protocol: ws.protocol || undefined,
      durationMs: since(startedAt.get(req) ?? performance.now()),
    });
    loggedEcho(ws, logger, path, 'express', remoteAddress);
  });
  const server = app.listen(0, host);
  await once(server, 'listening');
  return { port: server.address().port, close: closer(server), logFile: log.file };
}

/** @wsgate/koa, as in the reference app; with `logged`, its app-level `wsgate({ logger })` first. */
async function startKoaWsgate(host, logged = false, otel = false, lifecycle = 'default') {
  const stopOtel = otel ? await instrumentOtel() : undefined;
  const { default: Koa } = await import('koa');
  const { websocket, wsgate } = await import('@wsgate/koa');
  const app = new Koa();
  const log = logged ? await fileLogger() : undefined;
  if (log) app.use(wsgate({ logger: log.logger }));
  if (lifecycle === 'limits') app.use(wsgate(SERVER_LIMIT));
  app.use(websocket(CHAT_PATH, { ...CHAT_OPTIONS, ...LIFECYCLE[lifecycle] }, echo));
  const server = app.listen(0, host);
  await once(server, 'listening');
  return { port: server.address().port, close: alsoStop(closer(server), stopOtel), logFile: log?.file };
}

/** koa-easy-ws: its middleware adds `ctx.ws()` to upgrade requests; the route checks the origin. */
async function startKoaEasyWs(host) {
  const { default: Koa } = await import('koa');
  const { default: websocket } = await import('koa-easy-ws');
  const app = new Koa();
  app.use(websocket('ws', { wsOptions: { handleProtocols: pickProtocol } }));
  app.use(async (ctx, next) => {
    if (ctx.path !== CHAT_PATH || !ctx.ws) return next();
    if (!originAllowed(ctx.get('Origin'))) {
      ctx.status = 403;
      return;
    }
    echo(await ctx.ws());
  });
  const server = app.listen(0, host);
  await once(server, 'listening');
  return { port: server.address().port, close: closer(server) };
}

/**
 * koa-easy-ws with the same `fileLogger()` as `@wsgate/koa + pino`, logged by hand in the route:
 * the origin refusal, the accepted handshake once `ctx.ws()` resolves, the close on the socket.
 * A bad key or version is refused by ws inside `ctx.ws()` (whose promise then never settles), out
 * of the route's sight.
 */
async function startKoaEasyWsLogged(host) {
  const { default: Koa } = await import('koa');
  const { default: websocket } = await import('koa-easy-ws');
  const log = await fileLogger();
  const { logger } = log;
  const app = new Koa();
  app.use(websocket('ws', { wsOptions: { handleProtocols: pickProtocol } }));
  app.use(async (ctx, next) => {
    if (ctx.path !== CHAT_PATH || !ctx.ws) return next();
    const startedAt = performance.now();
    const origin = ctx.get('Origin');
    const remoteAddress = ctx.req.socket.remoteAddress;
    if (!originAllowed(origin)) {
      ctx.status = 403;
      logRejected(logger, {
        outcome: 'rejected',
        status: 403,
        path: ctx.path,
        framework: 'koa',
        method: ctx.method,
        remoteAddress,
        origin,
        durationMs: since(startedAt),
      });
      return;
    }
    const ws = await ctx.ws();
    logAccepted(logger, {
      outcome: 'accepted',
      status: 101,
      path: ctx.path,
      framework: 'koa',
      method: ctx.method,
      remoteAddress,
      origin,
      protocol: ws.protocol || undefined,
      durationMs: since(startedAt),
    });
    loggedEcho(ws, logger, ctx.path, 'koa', remoteAddress);
  });
  const server = app.listen(0, host);
  await once(server, 'listening');
  return { port: server.address().port, close: closer(server), logFile: log.file };
}

/**
 * @wsgate/fastify: the plugin (it registers @fastify/websocket) and a `{ websocket: true }` route.
 * With `logged`, the plugin's `logger` option: wsgate's records only. (`Fastify({ logger })` would
 * also log Fastify's own two lines per request, which the baseline, with no logger, does not pay.)
 */
async function startFastifyWsgate(host, logged = false, otel = false, lifecycle = 'default') {
  const stopOtel = otel ? await instrumentOtel() : undefined;
  const { default: Fastify } = await import('fastify');
  const { default: wsgate } = await import('@wsgate/fastify');
  const app = Fastify({ logger: false });
  const log = logged ? await fileLogger() : undefined;
  await app.register(wsgate, {
    ...(log ? { logger: log.logger } : {}),
    ...(lifecycle === 'limits' ? SERVER_LIMIT : {}),
  });
  app.get(
    CHAT_PATH,
    { websocket: true, config: { wsgate: { ...CHAT_OPTIONS, ...LIFECYCLE[lifecycle] } } },
    (socket) => echo(socket),
  );
  await app.listen({ port: 0, host });
  return {
    port: app.server.address().port,
    close: alsoStop(() => app.close(), stopOtel),
    logFile: log?.file,
  };
}

/** Plain @fastify/websocket: a `preValidation` hook checks the origin before the 101. */
async function startFastifyWebsocket(host) {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyWebsocket } = await import('@fastify/websocket');
  const app = Fastify({ logger: false });
  await app.register(fastifyWebsocket, { options: { handleProtocols: pickProtocol } });
  app.get(
    CHAT_PATH,
    {
      websocket: true,
      preValidation: async (request, reply) => {
        if (!originAllowed(request.headers.origin)) return reply.code(403).send();
      },
    },
    (socket) => echo(socket),
  );
  await app.listen({ port: 0, host });
  return { port: app.server.address().port, close: () => app.close() };
}

/**
 * Plain @fastify/websocket with the same `fileLogger()` as `@wsgate/fastify + pino` (Fastify's own
 * logger stays off, as there), logged by hand: the origin refusal in the `preValidation` hook, the
 * accepted handshake in the route's handler, the close on the socket. The handshake's duration
 * runs from `preValidation` (a request decorator carries its start). A bad key or version is
 * refused by ws inside the plugin's upgrade, out of the route's sight.
 */
async function startFastifyWebsocketLogged(host) {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyWebsocket } = await import('@fastify/websocket');
  const log = await fileLogger();
  const { logger } = log;
  const app = Fastify({ logger: false });
  app.decorateRequest('wsStartedAt', 0);
  await app.register(fastifyWebsocket, { options: { handleProtocols: pickProtocol } });
  app.get(
    CHAT_PATH,
    {
      websocket: true,
      preValidation: async (request, reply) => {
        request.wsStartedAt = performance.now();
        if (originAllowed(request.headers.origin)) return;
        logRejected(logger, {
          outcome: 'rejected',
          status: 403,
          path: pathOf(request.url),
          framework: 'fastify',
          method: request.method,
          remoteAddress: request.socket.remoteAddress,
          origin: request.headers.origin,
          durationMs: since(request.wsStartedAt),
        });
        return reply.code(403).send();
      },
    },
    (socket, request) => {
      const path = pathOf(request.url);
      const remoteAddress = request.socket.remoteAddress;
      logAccepted(logger, {
        outcome: 'accepted',
        status: 101,
        path,
        framework: 'fastify',
        method: request.method,
        remoteAddress,
        origin: request.headers.origin,
        protocol: socket.protocol || undefined,
        durationMs: since(request.wsStartedAt),
      });
      loggedEcho(socket, logger, path, 'fastify', remoteAddress);
    },
  );
  await app.listen({ port: 0, host });
  return { port: app.server.address().port, close: () => app.close(), logFile: log.file };
}

/**
 * Every server variant. `role` is `wsgate` (no logger), `wsgate-logged` (the reference
 * configuration: a pino logger writing every handshake's record to a file), `wsgate-otel` (no
 * logger, @wsgate/otel recording metrics and spans on the real SDK), `wsgate-bare` (no logger,
 * heartbeat off), `wsgate-limits` (no logger, heartbeat on, every connection limit set, none
 * reached), `native` (the library users would pick instead on that framework; they log nothing),
 * `native-logged` (the same native server with the same `fileLogger()`, logging by hand what
 * wsgate logs, where the library lets user code see it) or `floor` (bare ws, shared by all
 * frameworks). `handshakesOnly` variants run in the handshake scenarios only (no echo, no idle).
 */
export const VARIANTS = {
  floor: { framework: undefined, role: 'floor', label: 'ws handleUpgrade + http', start: startFloor },
  'express-wsgate': {
    framework: 'express',
    role: 'wsgate',
    label: '@wsgate/express',
    start: startExpressWsgate,
  },
  'express-wsgate-pino': {
    framework: 'express',
    role: 'wsgate-logged',
    label: '@wsgate/express + pino',
    start: (host) => startExpressWsgate(host, true),
  },
  'express-wsgate-otel': {
    framework: 'express',
    role: 'wsgate-otel',
    label: '@wsgate/express + otel',
    start: (host) => startExpressWsgate(host, false, true),
  },
  'express-wsgate-bare': {
    framework: 'express',
    role: 'wsgate-bare',
    label: '@wsgate/express, heartbeat off',
    start: (host) => startExpressWsgate(host, false, false, 'bare'),
  },
  'express-wsgate-limits': {
    framework: 'express',
    role: 'wsgate-limits',
    label: '@wsgate/express + limits',
    start: (host) => startExpressWsgate(host, false, false, 'limits'),
  },
  'express-native': { framework: 'express', role: 'native', label: 'express-ws', start: startExpressWs },
  'express-native-pino': {
    framework: 'express',
    role: 'native-logged',
    label: 'express-ws + pino',
    start: startExpressWsLogged,
    handshakesOnly: true,
  },
  'koa-wsgate': { framework: 'koa', role: 'wsgate', label: '@wsgate/koa', start: startKoaWsgate },
  'koa-wsgate-pino': {
    framework: 'koa',
    role: 'wsgate-logged',
    label: '@wsgate/koa + pino',
    start: (host) => startKoaWsgate(host, true),
  },
  'koa-wsgate-otel': {
    framework: 'koa',
    role: 'wsgate-otel',
    label: '@wsgate/koa + otel',
    start: (host) => startKoaWsgate(host, false, true),
  },
  'koa-wsgate-bare': {
    framework: 'koa',
    role: 'wsgate-bare',
    label: '@wsgate/koa, heartbeat off',
    start: (host) => startKoaWsgate(host, false, false, 'bare'),
  },
  'koa-wsgate-limits': {
    framework: 'koa',
    role: 'wsgate-limits',
    label: '@wsgate/koa + limits',
    start: (host) => startKoaWsgate(host, false, false, 'limits'),
  },
  'koa-native': { framework: 'koa', role: 'native', label: 'koa-easy-ws', start: startKoaEasyWs },
  'koa-native-pino': {
    framework: 'koa',
    role: 'native-logged',
    label: 'koa-easy-ws + pino',
    start: startKoaEasyWsLogged,
    handshakesOnly: true,
  },
  'fastify-wsgate': {
    framework: 'fastify',
    role: 'wsgate',
    label: '@wsgate/fastify',
    start: startFastifyWsgate,
  },
  'fastify-wsgate-pino': {
    framework: 'fastify',
    role: 'wsgate-logged',
    label: '@wsgate/fastify + pino',
    start: (host) => startFastifyWsgate(host, true),
  },
  'fastify-wsgate-otel': {
    framework: 'fastify',
    role: 'wsgate-otel',
    label: '@wsgate/fastify + otel',
    start: (host) => startFastifyWsgate(host, false, true),
  },
  'fastify-wsgate-bare': {
    framework: 'fastify',
    role: 'wsgate-bare',
    label: '@wsgate/fastify, heartbeat off',
    start: (host) => startFastifyWsgate(host, false, false, 'bare'),
  },
  'fastify-wsgate-limits': {
    framework: 'fastify',
    role: 'wsgate-limits',
    label: '@wsgate/fastify + limits',
    start: (host) => startFastifyWsgate(host, false, false, 'limits'),
  },
  'fastify-native': {
    framework: 'fastify',
    role: 'native',
    label: '@fastify/websocket',
    start: startFastifyWebsocket,
  },
  'fastify-native-pino': {
    framework: 'fastify',
    role: 'native-logged',
    label: '@fastify/websocket + pino',
    start: startFastifyWebsocketLogged,
    handshakesOnly: true,
  },
};
