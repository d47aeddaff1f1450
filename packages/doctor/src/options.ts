/**
 * The command line: `wsgate-doctor <ws:// or wss:// URL> [options]`, parsed with node:util
 * parseArgs. Bad input throws a {@link UsageError} naming the option.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** What a run is asked to do. */
export interface DoctorOptions {
  /** The URL as given. */
  readonly url: string;
  /** Subprotocols to offer, in order (`--protocol`, repeatable). */
  readonly protocols: readonly string[];
  /** Extra request headers (`--header 'Name: value'`, repeatable), in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The `Origin` to send; none without `--origin`. */
  readonly origin?: string | undefined;
  /** PEM text of extra CAs to trust (`--ca FILE`). */
  readonly ca?: string | undefined;
  /** Go on after a certificate problem (`--insecure`); the problem is still reported. @default false */
  readonly insecure: boolean;
  /** Bound of each network step, in milliseconds (`--timeout SECONDS`). @default 10000 */
  readonly timeoutMs: number;
  /** How long to stay idle after the round trip, in milliseconds (`--idle SECONDS`); 0: no wait. @default 0 */
  readonly idleMs: number;
  /** Print one JSON object instead of the readable report. @default false */
  readonly json: boolean;
}

/** Bad command-line input: the message names the option. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The usage text printed with `--help` and after a usage error. */
export const USAGE = `usage: wsgate-doctor <ws:// or wss:// URL> [options]

  --protocol NAME        offer this subprotocol (repeatable)
  --header 'Name: value' send this request header (repeatable)
  --origin URL           send this Origin (none is sent without it)
  --ca FILE              trust the CA certificates in this PEM file
  --insecure             go on after a certificate problem (still reported)
  --timeout SECONDS      bound of each network step (default 10)
  --idle SECONDS         stay idle this long after the round trip, to find proxy idle timeouts
  --json                 print one JSON object instead of the report
  --help                 print this text
`;

const DEFAULT_TIMEOUT_S = 10;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Parses `argv` (without node and the script); returns `'help'` for `--help`.
 *
 * @example
 * ```ts
 * parseOptions(['wss://example.com/chat', '--protocol', 'chat.v2', '--timeout', '5']);
 * ```
 */
export function parseOptions(argv: readonly string[], readFile = readFileText): DoctorOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('missing the URL (ws://… or wss://…)');
  if (positionals.length > 1)
    throw new UsageError(`one URL only; also got: ${positionals.slice(1).join(' ')}`);
  const protocols = values.protocol ?? [];
  for (const protocol of protocols) {
    if (!TOKEN.test(protocol)) throw new UsageError(`--protocol ${JSON.stringify(protocol)} is not a token`);
  }
  const headers = (values.header ?? []).map(parseHeader);
  const origin = values.origin;
  if (origin !== undefined && !FIELD_VALUE.test(origin)) {
    throw new UsageError('--origin must not contain control characters');
  }
  return {
    url: positionals[0] as string,
    protocols,
    headers,
    origin,
    ca: values.ca === undefined ? undefined : readCa(values.ca, readFile),
    insecure: values.insecure ?? false,
    timeoutMs: seconds('--timeout', values.timeout, DEFAULT_TIMEOUT_S, false) * 1000,
    idleMs: seconds('--idle', values.idle, 0, true) * 1000,
    json: values.json ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      protocol: { type: 'string', multiple: true },
      header: { type: 'string', multiple: true },
      origin: { type: 'string' },
      ca: { type: 'string' },
      insecure: { type: 'boolean' },
      timeout: { type: 'string' },
      idle: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  if (!TOKEN.test(name)) throw new UsageError(`--header ${JSON.stringify(text)} is not 'Name: value'`);
  const value = text.slice(colon + 1).trim();
  if (!FIELD_VALUE.test(value)) throw new UsageError(`--header ${name}: the value has control characters`);
  return [name, value];
}

function seconds(option: string, text: string | undefined, fallback: number, zeroAllowed: boolean): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
    throw new UsageError(
      `${option} takes a number of seconds${zeroAllowed ? '' : ' above 0'}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function readCa(file: string, readFile: (file: string) => string): string {
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    throw new UsageError(`--ca ${file}: ${(error as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--ca ${file}: no PEM certificate in the file`);
  }
  return text;
}

function readFileText(file: string): string {
  return readFileSync(file, 'utf8');
}
