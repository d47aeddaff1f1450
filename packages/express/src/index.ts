/**
 * @wsgate/express — WebSocket endpoints for Express 5.
 *
 * This file only translates: Express request → @wsgate/core decision → Express response or ws.
 * Statuses, header parsing, negotiation and option rules all live in @wsgate/core.
 *
 * Upgrade requests run through the Express app (core's upgrade dispatcher emits them on the
 * server's request path), so every middleware registered before the endpoint runs before the 101.
 */
import type { Server } from 'node:http';
import {
  type AttachOptions,
  attachUpgradeDispatch,
  checkWsSettings,
  createGate,
  type Gate,
  type HttpResponse,
  type ReservedWsOption,
  settleHandshake,
  type WsGateOptions,
  wsServerOptions,
} from '@wsgate/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

export { HandshakeError, type HandshakeRecord, type Logger } from '@wsgate/core';

/** ws settings wsgate leaves to you (the handshake-related ones are core's). */
export type WsSettings = Omit<ServerOptions, ReservedWsOption>;

/** Options of {@link websocket}: core's options, plus ws settings. */
export interface WebSocketOptions extends WsGateOptions<Request> {
  /**
   * Settings for the endpoint's `ws` server, e.g. `{ maxPayload: 1 << 20 }`.
   * @default {}
   */
  readonly ws?: WsSettings | undefined;
}

/**
 * Called for every accepted connection.
 *
 * @param ws - The open WebSocket.
 * @param req - The Express request, with whatever earlier middleware set on it.
 * @param context - What the `beforeUpgrade` hook returned.
 */
export type ConnectionHandler = (ws: WebSocket, req: Request, context: unknown) => void;

/** The Express handler of a WebSocket endpoint, with its ws server for shutdown and broadcasts. */
export interface WebSocketEndpoint extends RequestHandler {
  /** The endpoint's ws server (`wss.clients` lists open connections). */
  readonly wss: WebSocketServer;
  /** The endpoint's gate (its validated options). */
  readonly gate: Gate<Request>;
}

const PACKAGE = '@wsgate/express';

/**
 * A WebSocket endpoint as an Express handler: mount it with `app.get(path, …)`, after any
 * middleware that must run before the 101.
 *
 * @example
 * ```ts
 * app.get('/chat', websocket({ protocols: ['chat.v2', 'chat.v1'] }, (ws) => {
 *   ws.on('message', (data) => ws.send(data));
 * }));
 * ```
 */
export function websocket(options: WebSocketOptions, onConnection: ConnectionHandler): WebSocketEndpoint {
  if (typeof onConnection !== 'function') {
    throw new TypeError(`${PACKAGE}: websocket(options, onConnection) needs a connection handler function`);
  }
  const { ws: wsSettings, ...gateOptions } = options ?? {};
  const gate = createGate<Request>(gateOptions, { framework: 'express', packageName: PACKAGE });
  checkWsSettings(wsSettings, PACKAGE, 'ws');
  const wss = new WebSocketServer({ ...wsSettings, ...wsServerOptions(gate.options.perMessageDeflate) });

  const handler = (req: Request, res: Response, next: NextFunction): void => {
    void settleHandshake<Request, WebSocket>({
      gate,
      request: req,
      req,
      server: wss,
      respond: (response: HttpResponse) =>
        res.status(response.status).set(response.headers).send(response.body),
      pass: () => next(),
      onOpen: (ws, context) => onConnection(ws, req, context),
    }).catch(next);
  };
  return Object.assign(handler, { wss, gate });
}

/**
 * Installs wsgate's upgrade handling on a server before its first request. Without it, the first
 * request the app sees installs it, and a handshake rejected by middleware before that (the very
 * first request to a fresh server) is answered by the framework alone: unlogged and without the
 * mandatory headers. Call it when another library adds an `'upgrade'` listener before any request
 * reaches the app, or to log upgrades that reach no endpoint.
 *
 * @param options - `logger` receives the records of upgrades no endpoint claimed.
 * @example
 * ```ts
 * const server = app.listen(3000);
 * attach(server, { logger });
 * ```
 */
export function attach(server: Server, options: AttachOptions = {}): void {
  attachUpgradeDispatch(server, createGate(options, { framework: 'express', packageName: PACKAGE }));
}
