/**
 * TLS seen from the server: a self-check of the certificate an https server was given (key matches,
 * chain order, intermediates present, expiry, SAN list), and the mapping of `tlsClientError` — the
 * alerts clients send when they reject the certificate, no shared cipher or version, plain HTTP on
 * the TLS port — to causes with the likely fix. The checks are pure functions; {@link watchTlsServer}
 * runs them on a live server and logs one structured record per finding, never throwing.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { rootCertificates, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { Logger } from './logging.js';

/** The log message of a certificate self-check finding. */
export const TLS_CERTIFICATE_MESSAGE = 'tls certificate check';
/** The log message of a failed TLS handshake on the server. */
export const TLS_CLIENT_ERROR_MESSAGE = 'tls handshake failed';

/** How close to its expiry a certificate is reported. */
export const EXPIRY_WARNING_DAYS = 30;

/** What the self-check can find. */
export type TlsCertificateCode =
  | 'TLS_CERTIFICATE_UNREADABLE'
  | 'TLS_KEY_MISMATCH'
  | 'TLS_CHAIN_ORDER'
  | 'TLS_INTERMEDIATE_MISSING'
  | 'TLS_CERTIFICATE_SELF_SIGNED'
  | 'TLS_CERTIFICATE_EXPIRED'
  | 'TLS_CERTIFICATE_NOT_YET_VALID'
  | 'TLS_CERTIFICATE_EXPIRES_SOON'
  | 'TLS_SAN_MISSING';

/** What a `tlsClientError` can mean. */
export type TlsClientErrorCode =
  | 'TLS_CLIENT_UNKNOWN_CA'
  | 'TLS_CLIENT_BAD_CERTIFICATE'
  | 'TLS_CLIENT_CERTIFICATE_EXPIRED'
  | 'TLS_CLIENT_CERTIFICATE_UNKNOWN'
  | 'TLS_NO_SHARED_CIPHER'
  | 'TLS_NO_SHARED_VERSION'
  | 'TLS_NO_SHARED_ALPN'
  | 'TLS_PLAIN_HTTP'
  | 'TLS_HANDSHAKE_TIMEOUT'
  | 'TLS_CLIENT_RESET'
  | 'TLS_CLIENT_ERROR';

/** One finding of the self-check. */
export interface TlsCertificateFinding {
  readonly code: TlsCertificateCode;
  /** `error`: clients fail; `warning`: they will soon, or some do. */
  readonly severity: 'error' | 'warning';
  readonly detail: string;
  readonly hint: string;
}

/** A certificate of the chain, as the self-check reports it. */
export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly subjectAltName?: string | undefined;
  readonly ca: boolean;
}

/** The result of {@link checkCertificate}. */
export interface TlsCertificateCheck {
  /** The chain in the order configured (leaf first when right). */
  readonly chain: readonly CertificateInfo[];
  readonly findings: readonly TlsCertificateFinding[];
}

/** What {@link checkCertificate} checks: PEM text or buffers as given to `https.createServer`. */
export interface CertificateMaterial {
  readonly cert: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly key?: string | Buffer | ReadonlyArray<string | Buffer | { pem: string | Buffer }> | undefined;
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';
/** At most this many certificates are read from one chain. */
const MAX_CHAIN = 10;
const DAY_MS = 86_400_000;

/** Splits PEM text into certificate blocks (linear scan, at most {@link MAX_CHAIN}). */
export function splitPem(text: string): string[] {
  const blocks: string[] = [];
  let from = 0;
  while (blocks.length < MAX_CHAIN) {
    const begin = text.indexOf(PEM_BEGIN, from);
    if (begin < 0) break;
    const end = text.indexOf(PEM_END, begin);
    if (end < 0) break;
    blocks.push(`${text.slice(begin, end + PEM_END.length)}\n`);
    from = end + PEM_END.length;
  }
  return blocks;
}

function texts(value: CertificateMaterial['cert'] | CertificateMaterial['key']): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    const pem = typeof item === 'object' && !Buffer.isBuffer(item) && 'pem' in item ? item.pem : item;
    return typeof pem === 'string' ? pem : (pem as Buffer).toString('utf8');
  });
}

let publicRoots: X509Certificate[] | undefined;
function issuedByPublicRoot(cert: X509Certificate): boolean {
  publicRoots ??= rootCertificates.flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
  return publicRoots.some((root) => cert.checkIssued(root) && cert.verify(root.publicKey));
}

function info(cert: X509Certificate): CertificateInfo {
  return {
    subject: cert.subject.replaceAll('\n', ', '),
    issuer: cert.issuer.replaceAll('\n', ', '),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    ...(cert.subjectAltName ? { subjectAltName: cert.subjectAltName } : {}),
    ca: cert.ca,
  };
}

function selfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/**
 * Checks a certificate chain (and its key, when given) the way clients will see it: the key
 * matches the leaf, each certificate is issued by the next, the chain does not stop at a leaf
 * whose issuer only the browser may know, nothing is expired, not yet valid or within
 * {@link EXPIRY_WARNING_DAYS} of expiry, and the leaf lists its names in subjectAltName.
 *
 * @example
 * ```ts
 * const { findings } = checkCertificate({ cert: readFileSync('fullchain.pem'), key: readFileSync('key.pem') });
 * for (const f of findings) console.warn(f.code, f.detail, f.hint);
 * ```
 */
export function checkCertificate(material: CertificateMaterial, now: Date = new Date()): TlsCertificateCheck {
  const findings: TlsCertificateFinding[] = [];
  let certs: X509Certificate[];
  try {
    certs = texts(material.cert)
      .flatMap(splitPem)
      .map((pem) => new X509Certificate(pem));
  } catch (error) {
    findings.push({
      code: 'TLS_CERTIFICATE_UNREADABLE',
      severity: 'error',
      detail: `the certificate does not parse: ${(error as Error).message}`,
      hint: 'Pass the PEM text of the certificate chain (leaf first) as cert.',
    });
    return { chain: [], findings };
  }
  // The leaf is the first certificate that is not a CA, wherever a misordered chain put it.
  const leaf = certs.find((cert) => !cert.ca) ?? certs[0];
  if (!leaf) {
    findings.push({
      code: 'TLS_CERTIFICATE_UNREADABLE',
      severity: 'error',
      detail: 'no PEM certificate found in cert',
      hint: 'Pass the PEM text of the certificate chain (leaf first) as cert.',
    });
    return { chain: [], findings };
  }
  const chain = certs.map(info);
  const leafInfo = info(leaf);

  const keys = texts(material.key);
  if (keys.length > 0) {
    const matches = keys.some((pem) => {
      try {
        return leaf.checkPrivateKey(createPrivateKey(pem));
      } catch {
        return false;
      }
    });
    if (!matches) {
      findings.push({
        code: 'TLS_KEY_MISMATCH',
        severity: 'error',
        detail: `the private key does not belong to the certificate "${leafInfo.subject}"`,
        hint: 'Use the key the certificate was issued for (the one its CSR was made with); Node refuses to start with ERR_OSSL_X509_KEY_VALUES_MISMATCH.',
      });
    }
  }

  for (let i = 0; i + 1 < certs.length; i++) {
    const cert = certs[i] as X509Certificate;
    const next = certs[i + 1] as X509Certificate;
    if (!cert.checkIssued(next)) {
      const issuer = certs.find((other) => other !== cert && cert.checkIssued(other));
      findings.push({
        code: 'TLS_CHAIN_ORDER',
        severity: 'error',
        detail: issuer
          ? `certificate ${i} ("${chain[i]?.subject}") is followed by one that did not issue it; its issuer is at position ${certs.indexOf(issuer)}`
          : `certificate ${i + 1} ("${chain[i + 1]?.subject}") did not issue certificate ${i} ("${chain[i]?.subject}")`,
        hint: 'Order the chain leaf first, then each intermediate after the certificate it signed (cat leaf.pem intermediate.pem > fullchain.pem).',
      });
      break;
    }
  }

  // Follow the issuers from the leaf through the chain: where it stops is what clients must know.
  let top = leaf;
  const visited = new Set<X509Certificate>([leaf]);
  for (;;) {
    const issuer = certs.find((other) => !visited.has(other) && top.checkIssued(other));
    if (!issuer) break;
    visited.add(issuer);
    top = issuer;
  }
  const topInfo = info(top);
  if (top === leaf && selfSigned(leaf)) {
    findings.push({
      code: 'TLS_CERTIFICATE_SELF_SIGNED',
      severity: 'warning',
      detail: `the certificate "${leafInfo.subject}" is self-signed: only clients told to trust it connect`,
      hint: 'Use a certificate from a CA your clients trust (e.g. Let’s Encrypt), or give clients this certificate as their CA.',
    });
  } else if (!top.ca && !selfSigned(top) && !issuedByPublicRoot(top)) {
    findings.push({
      code: 'TLS_INTERMEDIATE_MISSING',
      severity: 'error',
      detail: `the chain ends at the leaf "${topInfo.subject}", issued by "${topInfo.issuer}", which is not in the chain: browsers that cache intermediates connect, Node and curl fail (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
      hint: 'Serve the full chain: the leaf followed by the intermediate(s), e.g. fullchain.pem rather than cert.pem.',
    });
  }

  certs.forEach((cert, i) => {
    const subject = chain[i]?.subject;
    const from = new Date(cert.validFrom).getTime();
    const to = new Date(cert.validTo).getTime();
    if (to < now.getTime()) {
      findings.push({
        code: 'TLS_CERTIFICATE_EXPIRED',
        severity: 'error',
        detail: `"${subject}" expired on ${chain[i]?.validTo}`,
        hint: 'Renew the certificate and reload the server (check that the renewal job restarts or reloads it).',
      });
    } else if (from > now.getTime()) {
      findings.push({
        code: 'TLS_CERTIFICATE_NOT_YET_VALID',
        severity: 'error',
        detail: `"${subject}" is valid only from ${chain[i]?.validFrom}`,
        hint: 'Check the server clock and the clock of the machine that issued the certificate.',
      });
    } else if (to - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
      findings.push({
        code: 'TLS_CERTIFICATE_EXPIRES_SOON',
        severity: 'warning',
        detail: `"${subject}" expires on ${chain[i]?.validTo}, in ${Math.ceil((to - now.getTime()) / DAY_MS)} day(s)`,
        hint: 'Renew the certificate before it expires, and check that renewal reloads the server.',
      });
    }
  });

  if (!leaf.subjectAltName) {
    findings.push({
      code: 'TLS_SAN_MISSING',
      severity: 'error',
      detail: `"${leafInfo.subject}" has no subjectAltName: clients ignore the CN and match no name (ERR_TLS_CERT_ALTNAME_INVALID)`,
      hint: 'Reissue the certificate with every host name in subjectAltName (DNS:example.com, …).',
    });
  }
  return { chain, findings };
}

/** A `tlsClientError` explained. */
export interface TlsClientErrorCause {
  readonly code: TlsClientErrorCode;
  /** Client-side causes are logged at info (scanners would flood the log), server ones at error. */
  readonly serverFault: boolean;
  readonly detail: string;
  readonly hint: string;
}

const CLIENT_ERROR_CAUSES: ReadonlyArray<
  readonly [fragment: string, cause: Omit<TlsClientErrorCause, 'detail'>]
> = [
  [
    'ALERT_UNKNOWN_CA',
    {
      code: 'TLS_CLIENT_UNKNOWN_CA',
      serverFault: true,
      hint: 'The client does not trust the chain (alert 48): usually the intermediate is missing — serve fullchain.pem; or a private CA the client was not given. npx @wsgate/doctor wss://<host>/ shows the chain as clients get it.',
    },
  ],
  [
    'ALERT_BAD_CERTIFICATE',
    {
      code: 'TLS_CLIENT_BAD_CERTIFICATE',
      serverFault: true,
      hint: 'The client rejected the certificate (alert 42): check the host name is in subjectAltName and the chain is complete.',
    },
  ],
  [
    'ALERT_CERTIFICATE_EXPIRED',
    {
      code: 'TLS_CLIENT_CERTIFICATE_EXPIRED',
      serverFault: true,
      hint: 'The client says a certificate expired (alert 45): renew it, or fix the client clock.',
    },
  ],
  [
    'ALERT_CERTIFICATE_UNKNOWN',
    {
      code: 'TLS_CLIENT_CERTIFICATE_UNKNOWN',
      serverFault: true,
      hint: 'The client rejected the certificate without saying why (alert 46, Chromium’s generic one): run npx @wsgate/doctor wss://<host>/ to see the chain as clients get it.',
    },
  ],
  [
    'NO_SHARED_CIPHER',
    {
      code: 'TLS_NO_SHARED_CIPHER',
      serverFault: true,
      hint: 'No cipher suite in common: enable ECDHE with AES-GCM or ChaCha20 (Node’s default ciphers), and check the key type (RSA/EC) fits the suites.',
    },
  ],
  [
    'UNSUPPORTED_PROTOCOL',
    {
      code: 'TLS_NO_SHARED_VERSION',
      serverFault: false,
      hint: 'The client offered only TLS versions the server refuses (minVersion): an old client, or a scanner.',
    },
  ],
  [
    'VERSION_TOO_LOW',
    {
      code: 'TLS_NO_SHARED_VERSION',
      serverFault: false,
      hint: 'The client offered only TLS versions the server refuses (minVersion): an old client, or a scanner.',
    },
  ],
  [
    'ALERT_PROTOCOL_VERSION',
    {
      code: 'TLS_NO_SHARED_VERSION',
      serverFault: true,
      hint: 'The client refused the server’s TLS versions (alert 70): allow TLS 1.2 and 1.3 (maxVersion).',
    },
  ],
  [
    'NO_APPLICATION_PROTOCOL',
    {
      code: 'TLS_NO_SHARED_ALPN',
      serverFault: true,
      hint: 'No ALPN protocol in common: WebSocket clients need http/1.1 — add it to ALPNProtocols (or allowHTTP1: true for http2).',
    },
  ],
  [
    'HTTP_REQUEST',
    {
      code: 'TLS_PLAIN_HTTP',
      serverFault: false,
      hint: 'A client sent plain HTTP to the TLS port: it must use wss:// (and https://) for this port, or a proxy in front forwards without TLS.',
    },
  ],
  [
    'HANDSHAKE_TIMEOUT',
    {
      code: 'TLS_HANDSHAKE_TIMEOUT',
      serverFault: false,
      hint: 'The client did not finish the handshake in time (handshakeTimeout): a slow or stalled client, or a port scanner.',
    },
  ],
  [
    'ECONNRESET',
    {
      code: 'TLS_CLIENT_RESET',
      serverFault: false,
      hint: 'The client closed the connection during the handshake: often a client that rejected the certificate without an alert, or a scanner.',
    },
  ],
];

/**
 * Explains an error from a server's `'tlsClientError'` event: which alert the client sent, or what
 * the server itself could not agree on. Matches Node's error `code` and OpenSSL's reason text
 * (plain substring search, no regular expression).
 *
 * @example
 * ```ts
 * server.on('tlsClientError', (err) => console.info(explainTlsClientError(err)));
 * ```
 */
export function explainTlsClientError(error: unknown): TlsClientErrorCause {
  const err = error as NodeJS.ErrnoException | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message.slice(0, 500) : String(error);
  const haystack = `${code} ${message}`.toUpperCase().replaceAll(' ', '_');
  const match = CLIENT_ERROR_CAUSES.find(([fragment]) => haystack.includes(fragment));
  const detail = code ? `${code}: ${message}` : message;
  if (match) return { ...match[1], detail };
  return {
    code: 'TLS_CLIENT_ERROR',
    serverFault: false,
    detail,
    hint: 'See the OpenSSL reason in detail; npx @wsgate/doctor wss://<host>/ shows the handshake from the client side.',
  };
}

/** The record logged for a self-check finding or a `tlsClientError`: handshake-record field names. */
export interface TlsRecord {
  /** `tls-certificate` (self-check) or `tls-client-error`. */
  readonly event: 'tls-certificate' | 'tls-client-error';
  readonly code: TlsCertificateCode | TlsClientErrorCode;
  /** `express`, `koa`, `fastify`, or `core`. */
  readonly framework: string;
  readonly detail: string;
  readonly hint: string;
  /** The peer address (tls-client-error only). */
  readonly remoteAddress?: string | undefined;
  /** The SNI name the client asked for (tls-client-error only). */
  readonly servername?: string | undefined;
  /** The configured chain (tls-certificate only). */
  readonly chain?: readonly CertificateInfo[] | undefined;
  /** The error behind a tls-client-error. */
  readonly err?: unknown;
}

/** Options of {@link watchTlsServer}. */
export interface WatchTlsOptions {
  readonly logger?: Logger | undefined;
  /** Logged as `framework`. @default 'core' */
  readonly framework?: string | undefined;
  /** The certificate to check, when the server was not given it as `cert`/`key` (e.g. SNI contexts). */
  readonly certificate?: CertificateMaterial | undefined;
  /** The clock of the expiry checks. @default new Date() */
  readonly now?: Date | undefined;
}

/** The loggers each server is already watched for. */
const watched = new WeakMap<object, Set<Logger>>();

function safeLog(logger: Logger, record: TlsRecord, error: boolean, message: string): void {
  try {
    if (error) logger.error(record, message);
    else logger.info(record, message);
  } catch {
    // A broken logger must not take the server down.
  }
}

/** The startup self-check of {@link watchTlsServer}: one record per finding, or one for its own failure. */
function selfCheck(server: TlsServer, options: WatchTlsOptions, logger: Logger, framework: string): void {
  try {
    const configured = server as unknown as Partial<CertificateMaterial>;
    const material =
      options.certificate ??
      (configured.cert !== undefined ? { cert: configured.cert, key: configured.key } : undefined);
    if (!material) return;
    const { chain, findings } = checkCertificate(material, options.now);
    for (const finding of findings) {
      safeLog(
        logger,
        {
          event: 'tls-certificate',
          framework,
          code: finding.code,
          detail: finding.detail,
          hint: finding.hint,
          chain,
        },
        finding.severity === 'error',
        TLS_CERTIFICATE_MESSAGE,
      );
    }
  } catch (error) {
    safeLog(
      logger,
      {
        event: 'tls-certificate',
        framework,
        code: 'TLS_CERTIFICATE_UNREADABLE',
        detail: 'the certificate self-check failed',
        hint: 'Pass the certificate as PEM (cert, key) or give watchTlsServer the certificate option.',
        err: error,
      },
      true,
      TLS_CERTIFICATE_MESSAGE,
    );
  }
}

/**
 * Watches an https/tls server for a logger, once (later calls with the same logger are no-ops, so
 * it is cheap to call per handshake): checks its certificate at once and logs one record per
 * finding (errors at error level, warnings at info), and logs every `'tlsClientError'` explained by
 * {@link explainTlsClientError}. Never throws; without a logger it does nothing.
 *
 * @example
 * ```ts
 * const server = https.createServer({ key, cert }, app);
 * watchTlsServer(server, { logger: pino(), framework: 'express' });
 * ```
 */
export function watchTlsServer(server: TlsServer, options: WatchTlsOptions = {}): void {
  try {
    const { logger } = options;
    if (!logger || typeof server?.on !== 'function') return;
    const loggers = watched.get(server) ?? new Set<Logger>();
    if (loggers.has(logger)) return;
    loggers.add(logger);
    watched.set(server, loggers);
    const framework = options.framework ?? 'core';
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      try {
        const cause = explainTlsClientError(error);
        const servername = (socket as TLSSocket & { servername?: string | false }).servername;
        safeLog(
          logger,
          {
            event: 'tls-client-error',
            framework,
            code: cause.code,
            detail: cause.detail,
            hint: cause.hint,
            remoteAddress: socket?.remoteAddress,
            ...(typeof servername === 'string' ? { servername } : {}),
            err: error,
          },
          cause.serverFault,
          TLS_CLIENT_ERROR_MESSAGE,
        );
      } catch {
        // Explaining an error must never become one.
      }
    });
    selfCheck(server, options, logger, framework);
  } catch {
    // The watch is diagnostics only: nothing here may stop the server from starting.
  }
}
