/**
 * Runs the stages in order; the first failure stops the run and the stages after it are listed as
 * not reached. A cause that belongs to an earlier stage (ws:// to a TLS port is a url problem found
 * by the http stage) fails that stage, with the stage that found it marked too.
 */

import { causes } from './causes.js';
import type { HandshakeRequestInit } from './handshake-request.js';
import type { DoctorOptions } from './options.js';
import { handshakeProbe, type ProbeResult, type ProbeTarget, speaksPlainHttp, speaksTls } from './probes.js';
import {
  type Evidence,
  EXIT_CODES,
  type Report,
  STAGES,
  type StageFailure,
  type StageName,
  type StageResult,
} from './report.js';
import { resolveHost } from './stages/dns.js';
import { checkSwitch } from './stages/handshake.js';
import { sendHandshake } from './stages/http.js';
import { exchange } from './stages/open.js';
import type { StageOutcome } from './stages/outcome.js';
import { connectTcp } from './stages/tcp.js';
import { handshakeTls } from './stages/tls.js';
import { checkUrl, type Target } from './stages/url.js';

/** The most a comparison probe waits for its answer. */
const PROBE_TIMEOUT_MS = 2000;

class Run {
  private readonly results = new Map<StageName, StageResult>();
  constructor(private readonly url: string) {}

  /** Records a stage's outcome; returns the value, or undefined after a failure. */
  record<T>(name: StageName, outcome: StageOutcome<T>): T | undefined {
    if (outcome.ok) {
      this.results.set(name, { name, status: 'passed', evidence: outcome.evidence });
      return outcome.value;
    }
    this.failure = { at: name, failure: outcome.failure };
    return undefined;
  }

  skip(name: StageName, why: string): void {
    this.results.set(name, { name, status: 'skipped', detail: why });
  }

  failure: { at: StageName; failure: StageFailure } | undefined;

  report(): Report {
    const failure = this.failure;
    if (!failure) {
      return {
        ok: true,
        url: this.url,
        exitCode: 0,
        stages: STAGES.map((name) => this.results.get(name) as StageResult),
      };
    }
    const { cause } = failure.failure;
    const stage = causes[cause].stage;
    const fix = failure.failure.fix ?? causes[cause].fix;
    const failed = (name: StageName, extra: Evidence = {}): StageResult => ({
      name,
      status: 'failed',
      cause,
      detail: failure.failure.detail,
      fix,
      evidence: { ...(this.results.get(name)?.evidence ?? {}), ...failure.failure.evidence, ...extra },
    });
    const stages = STAGES.map((name, index): StageResult => {
      if (name === stage) return failed(name, stage === failure.at ? {} : { foundBy: failure.at });
      if (name === failure.at) return failed(name);
      if (index > STAGES.indexOf(failure.at)) return { name, status: 'not reached' };
      return this.results.get(name) ?? { name, status: 'not reached' };
    });
    return {
      ok: false,
      url: this.url,
      stage,
      cause,
      detail: failure.failure.detail,
      fix,
      exitCode: EXIT_CODES[stage],
      stages,
    };
  }
}

/**
 * Runs every stage against `options.url` and returns the report (it never throws for network faults).
 *
 * @example
 * ```ts
 * const options = parseOptions(['ws://127.0.0.1:3000/chat']);
 * if (options !== 'help') console.log((await runDoctor(options)).cause);
 * ```
 */
export async function runDoctor(options: DoctorOptions): Promise<Report> {
  const run = new Run(options.url);
  const target = run.record('url', checkUrl(options.url));
  if (!target) return run.report();
  const addresses = run.record('dns', await resolveHost(target.host, options.timeoutMs));
  if (!addresses) return run.report();
  const tcp = run.record('tcp', await connectTcp(addresses, target.port, options.timeoutMs));
  if (!tcp) return run.report();
  // Probes only explain: they get a shorter bound than the main run.
  const where: ProbeTarget = {
    target,
    address: tcp.address,
    timeoutMs: Math.min(options.timeoutMs, PROBE_TIMEOUT_MS),
  };
  const init: HandshakeRequestInit = {
    path: target.path,
    hostHeader: target.hostHeader,
    protocols: options.protocols,
    origin: options.origin,
    headers: options.headers,
  };
  let inbox = tcp.inbox;
  if (target.secure) {
    const outcome = await handshakeTls(target, tcp, options);
    const secure = run.record(
      'tls',
      outcome.ok ? outcome : await confirmPlainPort(outcome.failure, where, init),
    );
    if (!secure) return run.report();
    inbox = secure.inbox;
  } else {
    run.skip('tls', 'ws:// (no TLS)');
  }
  const sent = await sendHandshake(
    inbox,
    init,
    { url: target.url, protocols: options.protocols, origin: options.origin },
    options.timeoutMs,
  );
  if (!sent.ok) inbox.socket.destroy();
  const switched = run.record('http', sent.ok ? sent : await explain(sent.failure, where, init, target));
  if (!switched) return run.report();
  const negotiated = run.record('handshake', checkSwitch(switched, options.protocols));
  if (!negotiated) {
    inbox.socket.destroy();
    return run.report();
  }
  run.record('open', await exchange(inbox, negotiated, options));
  return run.report();
}

/** A TLS handshake answered with something else: is it plain HTTP? */
async function confirmPlainPort(
  failure: StageFailure,
  where: ProbeTarget,
  init: HandshakeRequestInit,
): Promise<StageOutcome<never>> {
  if (failure.cause !== 'url-wss-to-plain-port') return { ok: false, failure };
  const plain = await speaksPlainHttp(where, init);
  if (plain) {
    return {
      ok: false,
      failure: {
        ...failure,
        detail: `the TLS handshake got a non-TLS answer, and a plain HTTP GET on the port gets ${plain.outcome}${plain.server ? ` from ${plain.server}` : ''}: this port speaks plain HTTP`,
        evidence: { ...failure.evidence, probe: plain },
      },
    };
  }
  return { ok: false, failure: { ...failure, cause: 'tls-failed' } };
}

/** Adds what comparison probes show to an http failure. */
async function explain(
  failure: StageFailure,
  where: ProbeTarget,
  init: HandshakeRequestInit,
  target: Target,
): Promise<StageOutcome<never>> {
  const probes: ProbeResult[] = [];
  let detail = failure.detail;
  let cause = failure.cause;
  let fix = failure.fix;
  if (!target.secure && (cause === 'http-no-response' || cause === 'http-timeout')) {
    const tls = await speaksTls(where);
    if (tls) {
      cause = 'url-ws-to-tls-port';
      detail = `${detail}; a TLS handshake on the same port succeeds (${tls.protocol}): this port speaks TLS`;
      fix = undefined;
      probes.push({ probe: 'TLS handshake', outcome: `completed (${tls.protocol})` });
    }
  }
  const status = failure.evidence?.status;
  const rejected = typeof status === 'number' && status >= 400 && status < 500;
  if (rejected && init.protocols.length > 0) {
    const probe = await handshakeProbe(where, { ...init, protocols: [] }, 'without --protocol');
    probes.push(probe);
    if (probe.status === 101) {
      detail = `${detail}; the same handshake without the subprotocol gets 101: the server does not accept ${init.protocols.join(', ')}`;
    }
  }
  if (rejected && init.origin !== undefined) {
    const probe = await handshakeProbe(where, { ...init, origin: undefined }, 'without Origin');
    probes.push(probe);
    if (probe.status === 101) {
      detail = `${detail}; the same handshake without Origin gets 101: the server refuses Origin ${init.origin}`;
    }
  }
  if (status === 403) {
    // Same-origin is the usual default (wsgate's too): the page's own origin tells policy from auth.
    const own = `${target.secure ? 'https' : 'http'}://${target.hostHeader}`;
    if (init.origin !== own) {
      const probe = await handshakeProbe(where, { ...init, origin: own }, `with Origin ${own}`);
      probes.push(probe);
      if (probe.status === 101) {
        detail = `${detail}; with the server's own origin ${own} it gets 101: the origin policy allows same-origin pages only`;
        // wsgate's own hint already names the option to change; other servers get this one.
        if (cause !== 'http-wsgate-rejection') {
          fix = `Allow ${init.origin ?? 'the page origin'} in the server's origin list, or serve the page from ${own}.`;
        }
      }
    }
  }
  if (probes.length === 0) return { ok: false, failure };
  return {
    ok: false,
    failure: { ...failure, cause, detail, fix, evidence: { ...failure.evidence, probes } },
  };
}
