/**
 * The response an upgrade request gets while it runs through the framework: a real
 * `http.ServerResponse` on the real socket, so every middleware behaves as on any request
 * (`res.socket`, `res.setTimeout`, `'finish'`/`'close'`, `getHeaders()`), from the first handshake
 * to the ten-thousandth.
 *
 * It differs from Node's own in what an upgrade needs, by overriding public methods of the
 * documented class (no private fields): until an endpoint claims the request, a status the
 * application writes gets its mandatory headers (`WWW-Authenticate` on 401, `Allow` on 405, …),
 * and the framework's 404 for a path no endpoint serves becomes wsgate's `ENDPOINT_NOT_FOUND`
 * problem document (`METHOD_NOT_ALLOWED` for a method other than GET). Once claimed, it is
 * detached from the socket and writes nothing there.
 */
import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpResponse } from '../response.js';
import { missingRequiredHeaders } from './unclaimed.js';

/** What the response asks of its owner. */
export interface UpgradeResponseOwner {
  /** Whether an endpoint took the request (from then on the response writes nothing). */
  readonly claimed: boolean;
  /** The response that replaces the framework's 404: no endpoint serves this path. */
  notFound(): HttpResponse;
}

type Callback = (error?: Error | null) => void;

/**
 * A `ServerResponse` for an upgrade request, written to the upgrade socket.
 *
 * Its three overrides are own properties, not prototype methods: Express re-prototypes every
 * response it handles (`Object.setPrototypeOf(res, app.response)`), which would drop a subclass's
 * methods. Middleware that wraps `res.write`/`res.end` (compression) wraps these as usual.
 */
export class UpgradeResponse extends ServerResponse {
  /** What wsgate tracks of this response's completion (the dispatcher's). */
  readonly control: ResponseControl;

  constructor(req: IncomingMessage, socket: Socket, owner: UpgradeResponseOwner) {
    super(req);
    // The socket is closed after this response: it was an upgrade, never a keep-alive request.
    this.shouldKeepAlive = false;
    // What Node's server does for every request (http.ServerResponse#assignSocket).
    this.assignSocket(socket);
    this.control = defineOverrides(this, owner);
  }
}

/**
 * Gives Node's own response of an upgrade-shaped request on the normal request path (the first
 * request of a fresh server) what an {@link UpgradeResponse} has: the same overrides, and the
 * socket closed after it.
 */
export function adoptResponse(res: ServerResponse, owner: UpgradeResponseOwner): ResponseControl {
  res.shouldKeepAlive = false;
  return defineOverrides(res, owner);
}

/** Where a response's completion stands (see {@link ResponseControl}). */
type Completion = 'closing-on-end' | 'closed' | 'completing';

/**
 * What wsgate keeps of a response it gave its overrides: the response, the overrides (to tell
 * whether middleware wrapped them since), and where its completion stands — `closing-on-end` (an
 * adopted response that emits `'close'` once the framework ends it), `closed` (an adopted one
 * that emitted it), `completing` (a detached one whose real `end` emits `'finish'`). Kept beside
 * the response, not on it: a property added to a response (or a WeakSet entry) on every
 * handshake costs microseconds (packages/bench).
 */
export interface ResponseControl {
  readonly res: ServerResponse;
  readonly writeHead: unknown;
  readonly end: unknown;
  completion: Completion | undefined;
}

/**
 * For Node's own (adopted) response of a request whose socket ws took over, already detached:
 * stores the status (`writeHead`, nothing written) and emits `'close'` ("the response is
 * completed") — now, or once the framework ends the response (`'by-framework'`: Koa's respond,
 * after koa-logger and the like have subscribed). It never emits `'finish'`: on that Node's own
 * server would reuse or close the socket.
 */
export function completeAdopted(
  control: ResponseControl,
  status: number,
  ending: 'now' | 'by-framework',
): void {
  const { res } = control;
  if (!res.headersSent) res.writeHead(status);
  if (ending === 'by-framework' && !res.writableEnded) control.completion = 'closing-on-end';
  else emitCloseOnce(control);
}

function emitCloseOnce(control: ResponseControl): void {
  const { res } = control;
  if (res.socket !== null || control.completion === 'closed') return;
  control.completion = 'closed';
  process.nextTick(() => res.emit('close'));
}

/**
 * Brings a claimed (detached) upgrade response to the state of what its socket got — the 101 ws
 * wrote, or core's rejection — so that middleware sees the handshake end as it sees any request
 * end: `statusCode` is set, and once `res.end()` runs (through the wrappers middleware installed:
 * express-session saves the session there) the response emits `'finish'` then `'close'`, as Node's
 * own responses do (access loggers write their line on `'finish'`). Nothing reaches the socket.
 *
 * @param ending - `'now'`: the response is ended here (`writeHead` then `end`: Express, whose
 *   pipeline ends with the endpoint); `'by-framework'`: the framework ends it once its own
 *   pipeline is done (Koa's respond, after middleware that runs after `await next()` — koa-session
 *   may still set its cookie header then).
 */
export function completeDetached(
  control: ResponseControl,
  status: number,
  ending: 'now' | 'by-framework',
): void {
  const { res } = control;
  if (res.writableEnded || control.completion === 'completing') return;
  control.completion = 'completing';
  if (res.headersSent) return;
  res.statusCode = status;
  if (ending === 'by-framework') return;
  // Ending a response nobody watches changes nothing anyone sees, and costs tens of µs a
  // handshake (packages/bench).
  if (!observed(control)) return;
  res.writeHead(status);
  res.end();
}

/**
 * Whether anything besides wsgate watches a response end: a `'prefinish'`/`'finish'`/`'close'`
 * listener (access loggers, on-finished), or a wrapper around `writeHead`/`end` installed after
 * wsgate's (express-session, compression, on-headers).
 */
function observed(control: ResponseControl): boolean {
  const { res } = control;
  return (
    res.listenerCount('finish') > 0 ||
    res.listenerCount('close') > 0 ||
    res.listenerCount('prefinish') > 0 ||
    res.writeHead !== control.writeHead ||
    res.end !== control.end
  );
}

interface BaseMethods {
  writeHead(this: ServerResponse, ...args: unknown[]): ServerResponse;
  write(this: ServerResponse, ...args: unknown[]): boolean;
  end(this: ServerResponse, ...args: unknown[]): ServerResponse;
}

function defineOverrides(res: ServerResponse, owner: UpgradeResponseOwner): ResponseControl {
  // What the overrides call: the class's methods, or the wrappers middleware that ran before
  // wsgate installed (an adopted response: morgan's on-headers, say).
  const base = { writeHead: res.writeHead, write: res.write, end: res.end } as unknown as BaseMethods;
  /** Set once the framework's 404 is being replaced: what is sent instead. */
  let replacement: HttpResponse | undefined;
  /** A 404 sent without an explicit `writeHead` (Express's finalhandler, Koa): replace it too. */
  const replaceImplicit404 = () => {
    if (!owner.claimed && !res.headersSent && res.statusCode === 404) res.writeHead(404);
  };
  const overrides = {
    writeHead(this: ServerResponse, statusCode: number, ...rest: unknown[]) {
      if (owner.claimed || this.headersSent) return base.writeHead.call(this, statusCode, ...rest);
      if (statusCode === 404) {
        replacement = owner.notFound();
        for (const name of this.getHeaderNames()) this.removeHeader(name);
        const length = String(Buffer.byteLength(replacement.body));
        // The framework may have set its own reason phrase ("Not Found") for the status it meant.
        const reason = STATUS_CODES[replacement.status] ?? 'Unknown';
        return base.writeHead.call(this, replacement.status, reason, {
          ...replacement.headers,
          'Content-Length': length,
        });
      }
      // The raw path always closes; Node writes `Connection: close` itself.
      const has = (name: string) => this.hasHeader(name) || hasHeaderIn(rest, name);
      for (const [name, value] of missingRequiredHeaders(statusCode, has)) this.setHeader(name, value);
      return base.writeHead.call(this, statusCode, ...rest);
    },
    write(this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      replaceImplicit404();
      if (!replacement) return base.write.call(this, chunk, ...rest);
      callLast(rest);
      return true;
    },
    end(this: ServerResponse, ...args: unknown[]) {
      const { completion } = control;
      if (completion === 'closing-on-end') {
        const result = base.end.call(this, ...args);
        emitCloseOnce(control);
        return result;
      }
      if (completion === 'completing') {
        // A second end (a late answer after a deadline): already finished, no second 'finish'.
        if (this.writableEnded) return base.end.call(this, ...args);
        // Detached: nothing reaches the socket, so Node would never emit these itself.
        const result = base.end.call(this, ...args);
        this.emit('finish');
        process.nextTick(() => this.emit('close'));
        return result;
      }
      replaceImplicit404();
      if (!replacement) return base.end.call(this, ...args);
      const callback = args.findLast((arg) => typeof arg === 'function');
      return callback
        ? base.end.call(this, replacement.body, callback)
        : base.end.call(this, replacement.body);
    },
  };
  // Plain assignments: cheaper on every handshake than defining non-enumerable properties.
  res.writeHead = overrides.writeHead as ServerResponse['writeHead'];
  res.write = overrides.write as ServerResponse['write'];
  res.end = overrides.end as ServerResponse['end'];
  const control: ResponseControl = {
    res,
    writeHead: overrides.writeHead,
    end: overrides.end,
    completion: undefined,
  };
  return control;
}

/** Whether `writeHead`'s extra arguments (`[statusMessage], [headers]`) set `name`. */
function hasHeaderIn(rest: readonly unknown[], name: string): boolean {
  const headers = rest.find((arg) => typeof arg === 'object' && arg !== null);
  if (!headers) return false;
  const wanted = name.toLowerCase();
  if (Array.isArray(headers)) {
    // A flat [name, value, name, value] list, or [[name, value], …].
    return headers.some((entry, i) =>
      Array.isArray(entry)
        ? String(entry[0]).toLowerCase() === wanted
        : i % 2 === 0 && String(entry).toLowerCase() === wanted,
    );
  }
  return Object.keys(headers).some((key) => key.toLowerCase() === wanted);
}

/** Calls the callback among `write`'s extra arguments, as a write would once flushed. */
function callLast(rest: readonly unknown[]): void {
  const callback = rest.findLast((arg) => typeof arg === 'function') as Callback | undefined;
  if (callback) process.nextTick(callback);
}
