/**
 * The app every adapter builds for the suite: the same endpoints with the same options, so that
 * the cases in `cases.ts` hold for every framework. An adapter's test maps each
 * {@link EndpointSpec} onto its framework and adds the framework's own auth middleware for
 * {@link PRIVATE_PATH}.
 */
import type { Server } from 'node:http';
import { HandshakeError, type Logger, type WsGateOptions } from '@wsgate/core';
import type WebSocket from 'ws';

/** One WebSocket endpoint of the fixture app. */
export interface EndpointSpec {
  readonly path: string;
  /** Options, framework-agnostic (hooks ignore the framework request). */
  readonly options: WsGateOptions<unknown>;
  /**
   * What to do once open. `user` is what the framework's auth middleware attached to the
   * request (Express `req.user`, Koa `ctx.state.user`, Fastify `request.user`).
   */
  readonly onOpen: (
    ws: WebSocket,
    info: {
      readonly user: unknown;
      readonly context: unknown;
      /** The request headers as the connection handler sees them on the framework's request. */
      readonly headers: Readonly<Record<string, string | string[] | undefined>>;
    },
  ) => void;
}

/** The heartbeat interval of the fixture's `/heartbeat` endpoint. */
export const HEARTBEAT_TEST_MS = 100;

/** The path guarded by framework auth middleware (not a wsgate hook). */
export const PRIVATE_PATH = '/private';
/** The path served by another library's `'upgrade'` listener on the same server. */
export const OTHER_LIBRARY_PATH = '/other-library';
/** The credential the fixture's auth middleware accepts. */
export const SECRET = 'letmein';
/** The message a throwing hook uses; it must never reach a client. */
export const HOOK_SECRET = 'database password is hunter2';

/** What the fixture app is built from. */
export interface Fixture {
  readonly endpoints: readonly EndpointSpec[];
  /** A pino logger writing into the suite's memory buffer. */
  readonly logger: Logger;
  /**
   * The auth check the framework middleware for {@link PRIVATE_PATH} runs: `Authorization: Bearer
   * letmein`, cookie `session=letmein` or query `ticket=letmein` → the user; otherwise `undefined`,
   * and the middleware answers 401 with `WWW-Authenticate: Bearer` its framework's way.
   */
  readonly authenticate: (
    headers: Readonly<Record<string, string | string[] | undefined>>,
    url: string,
  ) => unknown;
  /**
   * Node server options the app's `http.Server` is created with (absent: Node's defaults). The
   * suite builds a second app with short `headersTimeout`/`requestTimeout` for its deadline cases.
   */
  readonly server?: ServerTimeouts | undefined;
}

/** The Node `http.createServer` options the deadline cases set. */
export interface ServerTimeouts {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly connectionsCheckingInterval: number;
}

/** A running fixture app. */
export interface ConformanceApp {
  /** The listening server (port 0, 127.0.0.1). */
  readonly server: Server;
  /** The app's wsgate endpoint handles, for leak checks (the hostile-input suite). */
  readonly endpoints?: ReadonlyArray<{ readonly connections: ReadonlySet<unknown> }>;
  /** Stops the app and its server. */
  close(): Promise<void>;
}

/** Builds and starts the fixture app on a framework. */
export type BuildApp = (fixture: Fixture) => Promise<ConformanceApp>;

const echo: EndpointSpec['onOpen'] = (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
};

/** Gates the suite opens and closes to test a client leaving during a slow hook. */
export class Latch {
  #release: (() => void) | undefined;
  #promise: Promise<void> = this.#reset();
  /** How many hook calls are waiting. */
  waiting = 0;
  #reset(): Promise<void> {
    return new Promise((resolve) => {
      this.#release = resolve;
    });
  }
  async wait(): Promise<void> {
    this.waiting++;
    await this.#promise;
    this.waiting--;
  }
  release(): void {
    this.#release?.();
    this.#promise = this.#reset();
  }
}

/** The fixture's endpoints; `slowHook` is the latch the `/hooks/slow` hook waits on. */
export function fixtureEndpoints(slowHook: Latch): EndpointSpec[] {
  return [
    { path: '/echo', options: { origins: '*', perMessageDeflate: true }, onOpen: echo },
    {
      path: '/chat',
      options: {
        protocols: ['chat.v2', 'chat.v1'],
        requireProtocol: true,
        origins: ['http://localhost:5173'],
      },
      onOpen: echo,
    },
    { path: '/same-origin', options: {}, onOpen: echo },
    { path: '/limited', options: { origins: '*', maxConnections: 1 }, onOpen: echo },
    { path: '/per-client', options: { origins: '*', maxConnectionsPerClient: 1 }, onOpen: echo },
    // A short heartbeat, so that the suite sees a silent peer terminated and a live one kept.
    { path: '/heartbeat', options: { origins: '*', heartbeatMs: HEARTBEAT_TEST_MS }, onOpen: echo },
    {
      // What the connection handler sees of the negotiation headers on the framework's request.
      path: '/handler-view',
      options: { origins: '*', protocols: ['b.v1'] },
      onOpen: (ws, { headers }) =>
        ws.send(
          JSON.stringify({
            protocol: headers['sec-websocket-protocol'],
            extensions: headers['sec-websocket-extensions'],
            upgrade: headers.upgrade,
          }),
        ),
    },
    {
      path: '/client-preference',
      options: { protocols: ['a.v1', 'b.v1'], protocolPreference: 'client', origins: '*' },
      onOpen: (ws) => ws.send(ws.protocol),
    },
    {
      path: '/proceed',
      options: { protocols: ['only.v1'], onNoProtocolMatch: 'proceed', origins: '*' },
      onOpen: (ws) => ws.send(`protocol:${ws.protocol}`),
    },
    {
      path: PRIVATE_PATH,
      options: { origins: '*' },
      onOpen: (ws, { user }) => ws.send(JSON.stringify(user)),
    },
    {
      path: '/hooks/context',
      options: {
        origins: '*',
        beforeUpgrade: (_req, info) => {
          if (!info.path.endsWith('/context')) throw new Error('wrong path');
          return { from: 'hook', protocols: info.offeredProtocols };
        },
      },
      onOpen: (ws, { context }) => ws.send(JSON.stringify(context)),
    },
    {
      path: '/hooks/throws',
      options: {
        origins: '*',
        beforeUpgrade: () => {
          throw new Error(HOOK_SECRET);
        },
      },
      onOpen: echo,
    },
    {
      path: '/hooks/forbidden',
      options: {
        origins: '*',
        beforeUpgrade: () => new HandshakeError('FORBIDDEN', { detail: 'this account may not chat' }),
      },
      onOpen: echo,
    },
    {
      path: '/hooks/busy',
      options: {
        origins: '*',
        beforeUpgrade: () => {
          throw new HandshakeError('TOO_MANY_CONNECTIONS', { detail: 'the limit is 0' });
        },
      },
      onOpen: echo,
    },
    {
      path: '/hooks/custom',
      options: {
        origins: '*',
        beforeUpgrade: () => {
          throw new HandshakeError('PAYMENT_REQUIRED', {
            status: 402,
            headers: { 'X-Plan': 'free' },
            body: 'upgrade your plan',
          });
        },
      },
      onOpen: echo,
    },
    {
      path: '/hooks/bad-selector',
      options: { origins: '*', selectProtocol: () => 'never-offered' },
      onOpen: echo,
    },
    {
      path: '/hooks/slow',
      options: {
        origins: '*',
        beforeUpgrade: async () => {
          await slowHook.wait();
        },
      },
      onOpen: echo,
    },
  ];
}

/** The fixture's auth check (see {@link Fixture.authenticate}). */
export function authenticate(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  url: string,
): unknown {
  const user = { user: 'demo' };
  if (headers.authorization === `Bearer ${SECRET}`) return user;
  const cookie = typeof headers.cookie === 'string' ? headers.cookie : '';
  if (cookie.split(';').some((part) => part.trim() === `session=${SECRET}`)) return user;
  if (new URL(url, 'http://localhost').searchParams.get('ticket') === SECRET) return user;
  return undefined;
}
