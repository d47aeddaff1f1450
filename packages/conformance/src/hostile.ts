/**
 * Hostile input against a real app (issue #12 item 7): a seeded fuzz of the upgrade path over raw
 * `net` sockets, and floods of rejected handshakes and abrupt disconnects. No vitest here: the
 * vitest wrapper (`hostile-suite.ts`) and `pnpm soak` (`scripts/soak.mjs`) both run these.
 *
 * Every case is built as bytes (latin1: one char, one byte) from a pristine handshake and one to
 * three mutations drawn from a seeded PRNG, so a seed and a case index reproduce it exactly.
 */
import type { Server } from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { SAMPLE_KEY } from './clients.js';

export { SAMPLE_KEY } from './clients.js';
export {
  authenticate,
  type BuildApp,
  type ConformanceApp,
  fixtureEndpoints,
  Latch,
  PRIVATE_PATH,
} from './fixture.js';
export { listening } from './listening.js';

/**
 * The byte sequence every case puts into header values, header names or the target. It must never
 * come back in a response header (an echo of client bytes into a header is how a header
 * injection starts).
 */
export const MARKER = 'zq7kmarker';

/** The default seed (fixed, so the normal test run is the same every time). */
export const DEFAULT_SEED = 0x5eed_0712;

/** A debug-level logger that writes nowhere: every record is still built and serialized. */
export function discardLogger() {
  return pino(
    { level: 'debug' },
    new Writable({
      write: (_chunk, _encoding, callback) => callback(),
    }),
  );
}

/** mulberry32: a small seeded PRNG, good enough to pick mutations. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A request being mutated: everything as latin1 strings. */
interface Model {
  method: string;
  target: string;
  /** `null`: no version at all (an HTTP/0.9-shaped request line). */
  version: string | null;
  headers: Array<[string, string]>;
  body: string;
  /** A complete request sent before the handshake on the same connection (pipelining). */
  lead: string;
  /** Bytes sent after the handshake (pipelined requests, frames). */
  trailer: string;
  /** Send only this many bytes of the handshake, then half-close. */
  cut: number | undefined;
}

/** One generated case. */
export interface FuzzCase {
  readonly index: number;
  /** What was done to the pristine handshake, for the failure message. */
  readonly mutations: readonly string[];
  readonly bytes: Buffer;
  /** Half-close after sending (truncated requests): the server must answer or close. */
  readonly halfClose: boolean;
  /** How many responses a well-behaved server sends before it is done (2 with a lead request). */
  readonly responses: number;
  /** Which response (1, 2) answers a HEAD request: it has no body whatever Content-Length says. */
  readonly headResponse: number | undefined;
  /** Why the oracle says the (first) request is not a valid handshake; undefined: no opinion. */
  readonly mustReject: string | undefined;
}

/** Paths of the fixture app (`fixture.ts`), `/echo` weighted so that many cases reach a 101. */
const PATHS = [
  '/echo',
  '/echo',
  '/echo',
  '/echo',
  '/echo',
  '/chat',
  '/same-origin',
  '/limited',
  '/per-client',
  '/private',
  '/handler-view',
  '/client-preference',
  '/proceed',
  '/hooks/context',
  '/hooks/throws',
  '/hooks/forbidden',
  '/hooks/busy',
  '/hooks/custom',
  '/hooks/bad-selector',
  '/health',
  '/no-such-endpoint',
];

const CRITICAL = ['Host', 'Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version'];
const CONTROL_INSERTS = ['\r', '\n', '\0', '\r\n', '\r\n ', '\n\n', '\r\n\r\n', '\x7f', '\x01', '\t'];

const highBytes = (rng: Rng) => {
  let text = '';
  for (let i = rng.int(1, 3); i > 0; i--) text += String.fromCharCode(rng.int(0x80, 0xff));
  return text;
};

/** Inserts `text` strictly inside `value` (never at either end, where trimming could drop it). */
const insideOf = (rng: Rng, value: string, text: string) => {
  if (value.length < 2) return `a${text}${value}a`;
  const at = rng.int(1, value.length - 1);
  return value.slice(0, at) + text + value.slice(at);
};

const headerIndex = (model: Model, rng: Rng, preferCritical: boolean): number => {
  if (preferCritical) {
    const critical = model.headers
      .map(([name], i) => [name, i] as const)
      .filter(([name]) => CRITICAL.some((c) => c.toLowerCase() === name.toLowerCase()));
    if (critical.length > 0) return rng.pick(critical)[1];
  }
  return rng.int(0, model.headers.length - 1);
};

type Mutation = (model: Model, rng: Rng, host: string) => string;

/** The mutation kinds: each changes the model and says what it did. */
const MUTATIONS: Record<string, Mutation> = {
  controlInValue(model, rng) {
    if (model.headers.length === 0) return 'no header';
    const i = headerIndex(model, rng, rng.chance(0.6));
    const entry = model.headers[i] as [string, string];
    const insert = rng.pick(CONTROL_INSERTS) + (rng.chance(0.5) ? `X-Injected: ${MARKER}` : MARKER);
    entry[1] = insideOf(rng, entry[1], insert);
    return `control bytes ${JSON.stringify(insert)} inside the value of ${entry[0]}`;
  },
  highInValue(model, rng) {
    if (model.headers.length === 0) return 'no header';
    const i = headerIndex(model, rng, rng.chance(0.6));
    const entry = model.headers[i] as [string, string];
    entry[1] = insideOf(rng, entry[1], highBytes(rng) + MARKER);
    return `high bytes inside the value of ${entry[0]}`;
  },
  controlInName(model, rng) {
    if (model.headers.length === 0) return 'no header';
    const i = headerIndex(model, rng, rng.chance(0.5));
    const entry = model.headers[i] as [string, string];
    const insert = rng.pick(['\r', '\n', '\0', ' ', '\t', '\x7f', '\r\n']);
    const old = entry[0];
    entry[0] = insideOf(rng, entry[0], insert);
    return `${JSON.stringify(insert)} inside the name ${old}`;
  },
  highInName(model, rng) {
    if (model.headers.length === 0) return 'no header';
    const i = headerIndex(model, rng, rng.chance(0.5));
    const entry = model.headers[i] as [string, string];
    const old = entry[0];
    entry[0] = insideOf(rng, entry[0], highBytes(rng));
    return `high bytes inside the name ${old}`;
  },
  markerName(model, rng) {
    model.headers.splice(rng.int(0, model.headers.length), 0, [`X-${MARKER}`, rng.pick(['1', MARKER, ''])]);
    return 'a header named after the marker';
  },
  duplicate(model, rng) {
    const name = rng.pick(['Sec-WebSocket-Key', 'Host', 'Sec-WebSocket-Version', 'Upgrade', 'Connection']);
    const existing = model.headers.find(([n]) => n.toLowerCase() === name.toLowerCase());
    const value =
      name === 'Sec-WebSocket-Key' && rng.chance(0.5)
        ? 'AQIDBAUGBwgJCgsMDQ4PEA=='
        : name === 'Host' && rng.chance(0.5)
          ? `${MARKER}.example`
          : (existing?.[1] ?? 'x');
    const spelled = rng.chance(0.5) ? name.toLowerCase() : name;
    model.headers.splice(rng.int(0, model.headers.length), 0, [spelled, value]);
    return `${name} twice`;
  },
  version(model, rng) {
    const value = rng.pick([
      '8',
      '12',
      '14',
      '0',
      '255',
      '256',
      '013',
      '1.3',
      '',
      '13, 8',
      ' 13 ',
      `1${MARKER}`,
    ]);
    const entry = model.headers.find(([n]) => n.toLowerCase() === 'sec-websocket-version');
    if (entry) entry[1] = value;
    return `Sec-WebSocket-Version: ${JSON.stringify(value)}`;
  },
  key(model, rng) {
    const value = rng.pick([
      '',
      'short',
      `${MARKER}${MARKER}abcd==`,
      `${SAMPLE_KEY}=`,
      'dGhlIHNhbXBsZSBub25jZQ',
      '!!!!!!!!!!!!!!!!!!!!!!==',
    ]);
    const entry = model.headers.find(([n]) => n.toLowerCase() === 'sec-websocket-key');
    if (entry) entry[1] = value;
    return `Sec-WebSocket-Key: ${JSON.stringify(value)}`;
  },
  drop(model, rng) {
    const name = rng.pick(CRITICAL);
    model.headers = model.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
    return `no ${name}`;
  },
  caseOfNames(model, rng) {
    for (const entry of model.headers) {
      entry[0] = [...entry[0]].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
    }
    return 'names in random case';
  },
  markerValues(model, rng) {
    const name = rng.pick([
      'User-Agent',
      'Origin',
      'Cookie',
      'Sec-WebSocket-Protocol',
      'Sec-WebSocket-Extensions',
      'X-Forwarded-For',
      'X-Forwarded-Host',
      'Forwarded',
      'Authorization',
      'Referer',
    ]);
    const value = rng.pick([
      MARKER,
      `http://${MARKER}.example`,
      `permessage-deflate; ${MARKER}=1`,
      `permessage-deflate; client_max_window_bits=${MARKER}`,
      `chat.v2, ${MARKER}`,
      `for="${MARKER}"`,
      `Bearer ${MARKER}`,
    ]);
    model.headers.push([name, value]);
    return `${name}: ${value}`;
  },
  method(model, rng) {
    model.method = rng.pick([
      'get',
      'Get',
      'POST',
      'HEAD',
      'PUT',
      'OPTIONS',
      'DELETE',
      'GE T',
      'G\0ET',
      'GET\t',
      MARKER.toUpperCase(),
    ]);
    return `method ${JSON.stringify(model.method)}`;
  },
  httpVersion(model, rng) {
    model.version = rng.pick([
      'HTTP/1.0',
      'HTTP/2.0',
      'HTTP/1.2',
      'HTTP/3.0',
      'http/1.1',
      'HTTP/1',
      'HTTP/0.9',
      'HTTP/11.1',
      null,
    ]);
    return `version ${JSON.stringify(model.version)}`;
  },
  target(model, rng, host) {
    const path = model.target.split('?')[0] as string;
    const kind = rng.int(0, 9);
    if (kind === 0) model.target = `http://${host}${path}`;
    else if (kind === 1) model.target = `http://${MARKER}.example${path}?${MARKER}`;
    else if (kind === 2) model.target = `${path}?${MARKER}=${MARKER}`;
    else if (kind === 3) model.target = `/${path}`;
    else if (kind === 4) model.target = `${path}%00${MARKER}`;
    else if (kind === 5) model.target = `${path}/%zz/../${MARKER}`;
    else if (kind === 6) model.target = '*';
    else if (kind === 7) model.target = `${path}${highBytes(rng)}`;
    else if (kind === 8) model.target = `${path}?${'a'.repeat(rng.int(1_000, 20_000))}`;
    else model.target = `${path}#${MARKER}`;
    return `target ${JSON.stringify(model.target.slice(0, 60))}${model.target.length > 60 ? '…' : ''}`;
  },
  bodyLength(model, rng) {
    const body = `${MARKER}${'b'.repeat(rng.int(0, 40))}`;
    const claimed = rng.pick([body.length, body.length + 10, 0, 1]);
    model.headers.push(['Content-Length', String(claimed)]);
    model.body = body;
    return `Content-Length: ${claimed} with ${body.length} bytes`;
  },
  bodyChunked(model, rng) {
    model.headers.push(['Transfer-Encoding', rng.pick(['chunked', 'gzip, chunked', 'identity'])]);
    if (rng.chance(0.3)) model.headers.push(['Content-Length', '5']);
    model.body = rng.chance(0.8) ? `${MARKER.length.toString(16)}\r\n${MARKER}\r\n0\r\n\r\n` : '5\r\nab';
    return 'a chunked body';
  },
  truncate(model, rng) {
    model.cut = -rng.int(1, 60);
    return 'truncated (half-closed midway)';
  },
  pipelineAfter(model, rng, host) {
    model.trailer += rng.pick([
      `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Trace: ${MARKER}\r\n\r\n`,
      `GET /echo HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      // A masked text frame "hi", then a close frame.
      '\x81\x82\x00\x00\x00\x00hi\x88\x80\x00\x00\x00\x00',
      '\xff\xff\xff\xff',
    ]);
    return 'bytes pipelined after the handshake';
  },
  pipelineBefore(model, _rng, host) {
    model.lead = `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Trace: ${MARKER}\r\n\r\n`;
    return 'a plain request pipelined before the handshake';
  },
  hugeHeader(model, rng) {
    if (rng.chance(0.5)) model.headers.push(['X-Big', `${MARKER}${'v'.repeat(rng.int(4_000, 20_000))}`]);
    else for (let i = rng.int(50, 300); i > 0; i--) model.headers.push([`X-Many-${i}`, MARKER]);
    return 'a huge header section';
  },
  spaceBeforeColon(model, rng) {
    if (model.headers.length === 0) return 'no header';
    const entry = model.headers[headerIndex(model, rng, true)] as [string, string];
    entry[0] = `${entry[0]} `;
    return `space before the colon of ${entry[0]}`;
  },
};
const KINDS = Object.keys(MUTATIONS);

/** Builds case `index` of the fuzz with `seed`: the same bytes every time. */
export function fuzzCase(seed: number, index: number, host: string): FuzzCase {
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const path = rng.pick(PATHS);
  const model: Model = {
    method: 'GET',
    target: path,
    version: 'HTTP/1.1',
    headers: [
      ['Host', host],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', SAMPLE_KEY],
      ['Sec-WebSocket-Version', '13'],
      ['X-Trace', MARKER],
    ],
    body: '',
    lead: '',
    trailer: '',
    cut: undefined,
  };
  if (path === '/chat') {
    model.headers.push(['Origin', 'http://localhost:5173'], ['Sec-WebSocket-Protocol', 'chat.v2']);
  }
  const mutations: string[] = [];
  // One case in 20 stays pristine: the fuzz must also see its valid handshakes accepted.
  const count = rng.chance(0.05) ? 0 : rng.int(1, 3);
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(KINDS);
    mutations.push(`${kind}: ${(MUTATIONS[kind] as Mutation)(model, rng, host)}`);
  }
  const requestLine = `${model.method} ${model.target}${model.version === null ? '' : ` ${model.version}`}\r\n`;
  let head = requestLine;
  for (const [name, value] of model.headers) head += `${name}: ${value}\r\n`;
  head += '\r\n';
  let request = head + model.body;
  let halfClose = false;
  if (model.cut !== undefined) {
    request = request.slice(0, Math.max(1, head.length + model.cut));
    halfClose = true;
  }
  const text = model.lead + request + (halfClose ? '' : model.trailer);
  return {
    index,
    mutations,
    bytes: Buffer.from(text, 'latin1'),
    halfClose,
    responses: model.lead ? 2 : 1,
    headResponse: model.method === 'HEAD' ? (model.lead ? 2 : 1) : undefined,
    mustReject: mustReject(model.lead || request),
  };
}

const SP_OR_TAB = (c: string) => c === ' ' || c === '\t';
const trimSpaces = (value: string) => {
  let start = 0;
  let end = value.length;
  while (start < end && SP_OR_TAB(value[start] as string)) start++;
  while (end > start && SP_OR_TAB(value[end - 1] as string)) end--;
  return value.slice(start, end);
};
const BASE64 = new Set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

/**
 * The oracle: reads the first request as the most lenient recipient RFC 9112 allows (a bare LF
 * ends a line, CR and NUL inside a value may be replaced with SP, obs-fold is unfolded, a line
 * without a colon is ignored rather than rejected) and says why RFC 6455 §4.2.1 / RFC 9112 §3.2
 * still require a rejection, or `undefined` when a 101 could be right. Conservative on purpose:
 * HTTP/2.0 in the request line, odd targets, bodies and unknown bytes elsewhere get no opinion.
 */
export function mustReject(text: string): string | undefined {
  const lines: string[] = [];
  let start = 0;
  let complete = false;
  for (;;) {
    const lf = text.indexOf('\n', start);
    if (lf === -1) break;
    const line = text.slice(start, lf > start && text[lf - 1] === '\r' ? lf - 1 : lf);
    start = lf + 1;
    if (line === '' && lines.length > 0) {
      complete = true;
      break;
    }
    if (line !== '' || lines.length > 0) lines.push(line);
  }
  if (!complete) return 'the request head is incomplete';
  const requestLine = (lines[0] ?? '').split(' ');
  if (requestLine[0] !== 'GET') return `the method is ${JSON.stringify(requestLine[0])}`;
  if (requestLine.length < 3) return 'the request line has no HTTP version';
  const version = requestLine[requestLine.length - 1] as string;
  if (version === 'HTTP/1.0' || version.startsWith('HTTP/0.')) return `the request is ${version}`;
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const last = headers[headers.length - 1];
    if (last && line.length > 0 && SP_OR_TAB(line[0] as string)) {
      last[1] += ` ${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1)]);
  }
  const values = (name: string) =>
    headers
      .filter(([n]) => n === name)
      .map(([, v]) => trimSpaces(v.replaceAll('\r', ' ').replaceAll('\0', ' ')));
  const hosts = values('host');
  if (hosts.length !== 1) return `Host arrived ${hosts.length} times`;
  const host = hosts[0] as string;
  for (const c of host) {
    const code = c.charCodeAt(0);
    if (code <= 0x20 || code >= 0x7f) return 'Host has a space, a control or a high byte';
  }
  const hasElement = (name: string, wanted: string) =>
    values(name).some((v) => v.split(',').some((e) => trimSpaces(e).toLowerCase() === wanted));
  if (!hasElement('upgrade', 'websocket')) return 'no Upgrade: websocket';
  if (!hasElement('connection', 'upgrade')) return 'no Connection: upgrade';
  const keys = values('sec-websocket-key');
  if (keys.length !== 1) return `Sec-WebSocket-Key arrived ${keys.length} times`;
  const key = keys[0] as string;
  if (key.length !== 24 || !key.endsWith('==') || ![...key.slice(0, 22)].every((c) => BASE64.has(c)))
    return 'Sec-WebSocket-Key is not 16 bytes of base64';
  const versions = values('sec-websocket-version');
  if (versions.length !== 1) return `Sec-WebSocket-Version arrived ${versions.length} times`;
  if (versions[0] !== '13') return `Sec-WebSocket-Version is ${JSON.stringify(versions[0])}`;
  return undefined;
}

/** What one connection got. */
export interface ProbeResult {
  /** Status of each response head read, in order. */
  readonly statuses: readonly number[];
  /** The response heads (latin1), for the marker check. */
  readonly heads: readonly string[];
  /** The server closed (or reset) the connection. */
  readonly closed: boolean;
  /** Neither answered nor closed within the bound. */
  readonly hung: boolean;
  /** Milliseconds from the first byte written to the first response head (or close). */
  readonly ms: number;
}

/**
 * Sends a case's bytes on a raw socket and reads responses until the server has sent as many as
 * the case expects, sent a 101, or closed. Never waits longer than `timeoutMs`.
 */
export function probe(port: number, item: FuzzCase, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const statuses: number[] = [];
    const heads: string[] = [];
    let offset = 0;
    let started = 0;
    let firstAt: number | undefined;
    let done = false;
    const finish = (closed: boolean, hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const ms = (firstAt ?? performance.now()) - started;
      resolve({ statuses, heads, closed, hung, ms });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    const parse = () => {
      for (;;) {
        const end = data.indexOf('\r\n\r\n', offset);
        if (end === -1) return;
        const head = data.subarray(offset, end).toString('latin1');
        const status = Number(head.slice(9, 12));
        firstAt ??= performance.now();
        statuses.push(status);
        heads.push(head);
        let next = end + 4;
        if (status === 101) return finish(false, false);
        const lower = head.toLowerCase();
        const length = /\r\ncontent-length:[ \t]*(\d{1,9})/.exec(lower);
        if (item.headResponse === statuses.length) {
          // A HEAD response has no body.
        } else if (length) {
          next += Number(length[1]);
          if (data.length < next) return;
        } else if (lower.includes('\r\ntransfer-encoding: chunked')) {
          const last = data.indexOf('\r\n0\r\n\r\n', end);
          if (last === -1) return;
          next = last + 7;
        } else {
          return; // The body runs to the close.
        }
        offset = next;
        if (statuses.length >= item.responses) return finish(false, false);
      }
    };
    socket.on('connect', () => {
      started = performance.now();
      if (item.halfClose) socket.end(item.bytes);
      else socket.write(item.bytes);
    });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      parse();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      firstAt ??= performance.now();
      finish(true, false);
    });
  });
}

/** One property a case broke. */
export interface FuzzFailure {
  readonly seed: number;
  readonly index: number;
  readonly problem: string;
  readonly mutations: readonly string[];
  readonly bytes: string;
}

/** The figures of a fuzz run. */
export interface FuzzStats {
  readonly cases: number;
  /** First response status → count; `closed` for a close without any answer. */
  readonly byStatus: Record<string, number>;
  readonly closedWithoutAnswer: number;
  readonly maxMs: number;
  readonly failures: FuzzFailure[];
}

/** Runs cases `from` … `from + count - 1` of `seed` against `port`, `concurrency` at a time. */
export async function runFuzz(options: {
  readonly port: number;
  readonly seed: number;
  readonly count: number;
  readonly from?: number;
  readonly concurrency?: number;
  readonly timeoutMs?: number;
}): Promise<FuzzStats> {
  const { port, seed, count } = options;
  const from = options.from ?? 0;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const host = `127.0.0.1:${port}`;
  const byStatus: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let closedWithoutAnswer = 0;
  let maxMs = 0;
  let nextIndex = from;
  const worker = async () => {
    while (nextIndex < from + count) {
      const item = fuzzCase(seed, nextIndex++, host);
      const result = await probe(port, item, timeoutMs);
      const first = result.statuses[0];
      const label = first === undefined ? (result.hung ? 'hung' : 'closed') : String(first);
      byStatus[label] = (byStatus[label] ?? 0) + 1;
      if (first === undefined && result.closed) closedWithoutAnswer++;
      maxMs = Math.max(maxMs, result.ms);
      const fail = (problem: string) =>
        failures.push({
          seed,
          index: item.index,
          problem,
          mutations: item.mutations,
          bytes: JSON.stringify(item.bytes.toString('latin1').slice(0, 600)),
        });
      if (result.hung) {
        fail(
          `no answer and no close within ${timeoutMs} ms (got ${result.statuses.length} of ${item.responses} responses)`,
        );
      }
      if (first === 101 && item.mustReject)
        fail(`101 for a request that is not a handshake: ${item.mustReject}`);
      for (const head of result.heads) {
        if (head.toLowerCase().includes(MARKER)) fail(`client bytes in a response header:\n${head}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
  return { cases: count, byStatus, closedWithoutAnswer, maxMs: Math.round(maxMs), failures };
}

/** Formats failures so that each names its seed and case (rerun: `fuzzCase(seed, index, host)`). */
export function describeFailures(framework: string, failures: readonly FuzzFailure[]): string {
  return failures
    .slice(0, 10)
    .map(
      (f) =>
        `${framework}: seed ${f.seed} (0x${f.seed.toString(16)}) case ${f.index}: ${f.problem}\n  mutations: ${f.mutations.join('; ')}\n  bytes: ${f.bytes}`,
    )
    .join('\n');
}

/** The endpoint handles of an app, for the leak checks. */
export interface HasConnections {
  readonly connections: ReadonlySet<unknown>;
}

/** Open connections of a server (`server.getConnections()`). */
export function connectionsOf(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/**
 * Waits (bounded) until the server has no connection and no endpoint an open WebSocket; returns
 * what is left then.
 */
export async function settle(
  server: Server,
  endpoints: readonly HasConnections[],
  timeoutMs = 3_000,
): Promise<{ sockets: number; websockets: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sockets = await connectionsOf(server);
    const websockets = endpoints.reduce((sum, e) => sum + e.connections.size, 0);
    if ((sockets === 0 && websockets === 0) || Date.now() > deadline) return { sockets, websockets };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let gcFunction: (() => void) | undefined | null = null;
/** `global.gc` when the process has it, else one made available through V8 flags, else undefined. */
export function gc(): (() => void) | undefined {
  if (gcFunction === null) {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (existing) gcFunction = existing;
    else {
      try {
        setFlagsFromString('--expose-gc');
        gcFunction = runInNewContext('gc') as () => void;
      } catch {
        gcFunction = undefined;
      }
    }
  }
  return gcFunction ?? undefined;
}

/** RSS in bytes, after a full collection when one can be forced. */
export async function rssAfterGc(): Promise<number> {
  const collect = gc();
  if (collect) {
    for (let i = 0; i < 3; i++) {
      collect();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return process.memoryUsage().rss;
}

const handshake = (host: string, path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** Requests the fixture app must reject, one kind after another. */
function rejectedHandshake(host: string, i: number): string {
  switch (i % 6) {
    case 0:
      return handshake(host, '/echo', 'Sec-WebSocket-Version: 8\r\n');
    case 1:
      return handshake(host, '/echo').replace(`Sec-WebSocket-Key: ${SAMPLE_KEY}\r\n`, '');
    case 2:
      return handshake(host, '/no-such-endpoint');
    case 3:
      return handshake(host, '/private');
    case 4:
      return handshake(host, '/hooks/throws');
    default:
      return handshake(host, '/echo', `Host: ${host}\r\n`);
  }
}

/** Runs `count` jobs, `concurrency` at a time. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** What a flood saw. */
export interface FloodStats {
  readonly requests: number;
  /** Status → count (`closed` for a close without an answer, `hung` past the bound). */
  readonly byStatus: Record<string, number>;
  readonly maxMs: number;
}

const byStatusOf = (results: readonly ProbeResult[]) => {
  const byStatus: Record<string, number> = {};
  let maxMs = 0;
  for (const r of results) {
    const label = r.statuses[0] === undefined ? (r.hung ? 'hung' : 'closed') : String(r.statuses[0]);
    byStatus[label] = (byStatus[label] ?? 0) + 1;
    maxMs = Math.max(maxMs, r.ms);
  }
  return { byStatus, maxMs: Math.round(maxMs) };
};

const caseOf = (bytes: string): FuzzCase => ({
  index: -1,
  mutations: [],
  bytes: Buffer.from(bytes, 'latin1'),
  halfClose: false,
  responses: 1,
  headResponse: undefined,
  mustReject: undefined,
});

/** `count` rejected handshakes in a row (`concurrency` at a time). Every one must be answered. */
export async function floodRejected(port: number, count: number, concurrency = 8): Promise<FloodStats> {
  const host = `127.0.0.1:${port}`;
  const results: ProbeResult[] = [];
  await pool(count, concurrency, async (i) => {
    results.push(await probe(port, caseOf(rejectedHandshake(host, i)), 2_000));
  });
  return { requests: count, ...byStatusOf(results) };
}

/** Connects and waits until the socket is connected (or failed). */
function connected(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('close', () => resolve(socket));
  });
}

/** Clients that destroy the socket midway through the request head. */
export async function floodPartial(port: number, count: number, concurrency = 8): Promise<void> {
  const host = `127.0.0.1:${port}`;
  await pool(count, concurrency, async (i) => {
    const socket = await connected(port);
    const bytes = handshake(host, '/echo');
    socket.write(bytes.slice(0, 1 + ((i * 7) % (bytes.length - 4))));
    await new Promise((resolve) => setImmediate(resolve));
    socket.destroy();
  });
}

/**
 * Clients that send a complete handshake and destroy the socket at once, while the request is in
 * the framework's middleware or the endpoint's checks.
 */
export async function floodGoneDuringMiddleware(port: number, count: number, concurrency = 8): Promise<void> {
  const host = `127.0.0.1:${port}`;
  const paths = ['/echo', '/private', '/hooks/context', '/chat'];
  await pool(count, concurrency, async (i) => {
    const socket = await connected(port);
    socket.write(handshake(host, paths[i % paths.length] as string));
    if (i % 2 === 1) await new Promise((resolve) => setImmediate(resolve));
    socket.destroy();
  });
}

/**
 * Clients whose handshake waits in an async `beforeUpgrade` hook (the fixture's `/hooks/slow`)
 * and that leave while it waits: `waiting()` says how many wait, `release()` lets them go.
 */
export async function floodGoneDuringHook(
  port: number,
  count: number,
  hook: { readonly waiting: number; release(): void },
): Promise<{ reachedHook: number }> {
  const host = `127.0.0.1:${port}`;
  const sockets = await Promise.all(Array.from({ length: count }, () => connected(port)));
  for (const socket of sockets) socket.write(handshake(host, '/hooks/slow'));
  const deadline = Date.now() + 2_000;
  while (hook.waiting < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const reachedHook = hook.waiting;
  for (const socket of sockets) socket.destroy();
  // Give the server the closes before the hooks return, so that each one sees a gone client.
  await new Promise((resolve) => setTimeout(resolve, 50));
  hook.release();
  return { reachedHook };
}

/** Clients that destroy the socket as soon as the 101 arrives. */
export async function floodGoneAfter101(port: number, count: number, concurrency = 8): Promise<FloodStats> {
  const host = `127.0.0.1:${port}`;
  const results: ProbeResult[] = [];
  await pool(count, concurrency, async () => {
    results.push(await probe(port, caseOf(handshake(host, '/echo')), 2_000));
  });
  return { requests: count, ...byStatusOf(results) };
}
