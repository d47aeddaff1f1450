/**
 * Stage 4, tls (wss:// only): the TLS handshake over the TCP connection, with the chain as Node
 * sees it (subject, issuer, validity of each certificate) and what is wrong with it. The handshake
 * never rejects by itself (rejectUnauthorized: false) so the chain can always be shown; the doctor
 * then fails the stage on Node's own verdict (`authorizationError`) unless `--insecure`.
 */

import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import {
  checkServerIdentity,
  connect,
  type DetailedPeerCertificate,
  rootCertificates,
  type TLSSocket,
} from 'node:tls';
import { splitPem } from '@wsgate/core';
import type { CauseCode } from '../causes.js';
import { Inbox } from '../inbox.js';
import type { Evidence, StageFailure } from '../report.js';
import { failed, passed, type StageOutcome } from './outcome.js';
import type { Connection } from './tcp.js';
import type { Target } from './url.js';

/** A certificate as reported. */
export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly subjectAltName?: string | undefined;
  readonly selfSigned: boolean;
  /** The certificate is one of the client's trust anchors (Node's roots, or `--ca`). */
  readonly trusted: boolean;
  readonly fingerprint256: string;
}

/** What the TLS stage passes on. */
export interface SecureConnection {
  readonly socket: TLSSocket;
  readonly inbox: Inbox;
}

/** Node's verification errors, by what they mean. */
const VERIFY_CAUSES: Readonly<Record<string, CauseCode>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls-incomplete-chain',
  UNABLE_TO_GET_ISSUER_CERT: 'tls-incomplete-chain',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls-unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls-unknown-ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls-self-signed',
  CERT_HAS_EXPIRED: 'tls-cert-expired',
  CERT_NOT_YET_VALID: 'tls-cert-not-yet-valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls-name-mismatch',
};

/** OpenSSL errors of a failed handshake (the alert the server sent, or the client's own check). */
const HANDSHAKE_CAUSES: ReadonlyArray<readonly [fragment: string, cause: CauseCode]> = [
  ['NO_APPLICATION_PROTOCOL', 'tls-alpn-h2-only'],
  ['PROTOCOL_VERSION', 'tls-no-shared-version'],
  ['UNSUPPORTED_PROTOCOL', 'tls-no-shared-version'],
  ['NO_PROTOCOLS_AVAILABLE', 'tls-no-shared-version'],
  ['HANDSHAKE_FAILURE', 'tls-handshake-failure'],
  ['NO_SHARED_CIPHER', 'tls-handshake-failure'],
  ['WRONG_VERSION_NUMBER', 'url-wss-to-plain-port'],
  ['PACKET_LENGTH_TOO_LONG', 'url-wss-to-plain-port'],
  ['RECORD_LAYER_FAILURE', 'url-wss-to-plain-port'],
];

/** Runs the TLS handshake; the inbox of the TCP stage is detached. */
export function handshakeTls(
  target: Target,
  tcp: Connection,
  options: { ca?: string | undefined; insecure: boolean; timeoutMs: number },
): Promise<StageOutcome<SecureConnection>> {
  const early = tcp.inbox.bytes;
  tcp.inbox.detach();
  if (early.length > 0) {
    tcp.socket.destroy();
    return Promise.resolve(
      failed({
        cause: 'tls-failed',
        detail: `the server spoke first (${early.length} bytes before the TLS handshake): this port does not speak TLS`,
        evidence: { received: early.subarray(0, 64).toString('latin1') },
      }),
    );
  }
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({
      socket: tcp.socket,
      host: target.host,
      ...(isIP(target.host) ? {} : { servername: target.host }),
      ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] }),
      rejectUnauthorized: false,
      // What the ws client and browsers' WebSocket connections need: HTTP/1.1 (RFC 6455 over HTTP/2
      // is RFC 8441, which Node's server side does not offer).
      ALPNProtocols: ['http/1.1'],
    });
    const inbox = new Inbox(socket);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(
        failed({
          cause: 'tls-timeout',
          detail: `the TLS handshake did not finish within ${options.timeoutMs} ms`,
        }),
      );
    }, options.timeoutMs);
    const onError = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(failed(handshakeFailure(error, inbox)));
    };
    const onClose = () => {
      clearTimeout(timer);
      resolve(
        failed({
          cause: 'tls-closed',
          detail: 'the server closed the connection during the TLS handshake, without an alert',
        }),
      );
    };
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      const chain = chainOf(socket.getPeerCertificate(true), trustAnchors(options.ca));
      const evidence: Evidence = {
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        alpn: socket.alpnProtocol || null,
        ms: Math.round(performance.now() - started),
        chain,
      };
      const problem = socket.authorized
        ? undefined
        : verifyFailure(socket, target, chain, options.ca !== undefined);
      if (problem && !options.insecure) {
        socket.destroy();
        resolve(failed({ ...problem, evidence: { ...evidence, ...problem.evidence } }));
        return;
      }
      if (problem) evidence.ignored = { cause: problem.cause, detail: problem.detail };
      resolve(passed({ socket, inbox }, evidence));
    });
  });
}

function verifyFailure(
  socket: TLSSocket,
  target: Target,
  chain: readonly CertificateSummary[],
  caGiven: boolean,
): StageFailure {
  const code = String(socket.authorizationError);
  const cause = VERIFY_CAUSES[code] ?? 'tls-failed';
  const leaf = chain[0];
  const evidence: Evidence = { verifyError: code };
  const peer = socket.getPeerCertificate();
  const nameError = peer.raw ? checkServerIdentity(target.host, peer) : undefined;
  if (nameError && cause !== 'tls-name-mismatch') evidence.alsoNameMismatch = nameError.message;
  const details: Partial<Record<CauseCode, string>> = {
    'tls-incomplete-chain': `the server sent ${chain.length === 1 ? 'only its leaf certificate' : 'a chain'} without the intermediate that signed "${leaf?.issuer}" (${code}); browsers that cache intermediates connect, Node and curl do not`,
    'tls-unknown-ca': `the chain ends at "${chain.at(-1)?.issuer}", a CA this client does not trust (${code})${caGiven ? ', not even with --ca' : ''}`,
    'tls-self-signed': `the certificate "${leaf?.subject}" is self-signed (${code})`,
    'tls-cert-expired': `${expiredOne(chain, 'expired')} (${code})`,
    'tls-cert-not-yet-valid': `${expiredOne(chain, 'future')} (${code})`,
    'tls-name-mismatch': `${target.host} is not in the certificate's names (${leaf?.subjectAltName ?? 'no subjectAltName'})`,
  };
  return { cause, detail: details[cause] ?? `certificate verification failed: ${code}`, evidence };
}

function expiredOne(chain: readonly CertificateSummary[], which: 'expired' | 'future'): string {
  const now = Date.now();
  const cert = chain.find((c) =>
    which === 'expired' ? Date.parse(c.validTo) < now : Date.parse(c.validFrom) > now,
  );
  if (!cert) return which === 'expired' ? 'a certificate has expired' : 'a certificate is not valid yet';
  return which === 'expired'
    ? `"${cert.subject}" expired on ${cert.validTo}`
    : `"${cert.subject}" is valid only from ${cert.validFrom}`;
}

function handshakeFailure(error: NodeJS.ErrnoException, inbox: Inbox): StageFailure {
  const code = error.code ?? '';
  const text = `${code} ${error.message}`.toUpperCase().replaceAll(' ', '_');
  const evidence = {
    error: error.message,
    code,
    ...(inbox.received > 0 ? { received: inbox.received } : {}),
  };
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return {
      cause: 'tls-closed',
      detail: `the server reset the connection during the TLS handshake (${code})`,
      evidence,
    };
  }
  const match = HANDSHAKE_CAUSES.find(([fragment]) => text.includes(fragment));
  const cause = match?.[1] ?? 'tls-failed';
  const details: Partial<Record<CauseCode, string>> = {
    'tls-alpn-h2-only': 'the server refused ALPN http/1.1 (alert no_application_protocol): it offers only h2',
    'tls-no-shared-version': `no TLS version in common with the server (${code})`,
    'tls-handshake-failure': `the server ended the handshake with handshake_failure (${code}): usually no cipher suite in common`,
    'url-wss-to-plain-port': `the answer to the TLS ClientHello is not TLS (${code})`,
  };
  return { cause, detail: details[cause] ?? `the TLS handshake failed: ${error.message}`, evidence };
}

/** The SHA-256 fingerprints of the certificates this run trusts. */
function trustAnchors(ca: string | undefined): Set<string> {
  const anchors = new Set<string>();
  for (const pem of [...rootCertificates, ...(ca === undefined ? [] : splitPem(ca))]) {
    try {
      anchors.add(new X509Certificate(pem).fingerprint256);
    } catch {
      // A block that does not parse trusts nothing.
    }
  }
  return anchors;
}

/**
 * The chain as Node built it, leaf first (at most 10 certificates): what the server sent, completed
 * with the trust anchor that issued its last certificate when the client has it.
 */
export function chainOf(
  leaf: DetailedPeerCertificate,
  anchors: ReadonlySet<string> = new Set(),
): CertificateSummary[] {
  const chain: CertificateSummary[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert?.raw && !seen.has(cert.fingerprint256) && chain.length < 10) {
    seen.add(cert.fingerprint256);
    chain.push({
      subject: nameOf(cert.subject),
      issuer: nameOf(cert.issuer),
      validFrom: new Date(cert.valid_from).toISOString(),
      validTo: new Date(cert.valid_to).toISOString(),
      ...(cert.subjectaltname ? { subjectAltName: cert.subjectaltname } : {}),
      selfSigned: cert.issuerCertificate?.fingerprint256 === cert.fingerprint256,
      trusted: anchors.has(cert.fingerprint256),
      fingerprint256: cert.fingerprint256,
    });
    cert = cert.issuerCertificate;
  }
  return chain;
}

function nameOf(certName: object | undefined): string {
  if (!certName) return '';
  const name = certName as Record<string, string | string[] | undefined>;
  const parts: string[] = [];
  for (const key of ['CN', 'O', 'OU']) {
    const value = name[key];
    if (value !== undefined) parts.push(`${key}=${Array.isArray(value) ? value.join('+') : value}`);
  }
  return parts.join(', ');
}
