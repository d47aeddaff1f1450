/** Stage 2, dns: resolve the host the way Node's net module does (getaddrinfo), within the timeout. */
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { failed, passed, type StageOutcome } from './outcome.js';

/** The resolver: Node's `dns.promises.lookup` with `all: true`. */
export type Lookup = (host: string, options: { all: true; verbatim: true }) => Promise<LookupAddress[]>;

/**
 * Resolves `host` to its addresses, in the resolver's order. `lookup` is replaceable so that a
 * resolver that never answers can be tested without a network.
 */
export async function resolveHost(
  host: string,
  timeoutMs: number,
  resolver: Lookup = lookup,
): Promise<StageOutcome<LookupAddress[]>> {
  const family = isIP(host);
  if (family !== 0) return passed([{ address: host, family }], { addresses: [host], literal: true });
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([resolver(host, { all: true, verbatim: true }), timeout]);
    const ms = Math.round(performance.now() - started);
    if (result === 'timeout') {
      return failed({ cause: 'dns-timeout', detail: `no answer for ${host} within ${timeoutMs} ms` });
    }
    if (result.length === 0) return failed({ cause: 'dns-failed', detail: `${host} resolved to no address` });
    return passed(result, { addresses: result.map((entry) => entry.address), ms });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const evidence = { code };
    if (code === 'ENOTFOUND') {
      return failed({ cause: 'dns-not-found', detail: `${host} does not resolve (ENOTFOUND)`, evidence });
    }
    return failed({
      cause: 'dns-failed',
      detail: `resolving ${host} failed: ${code ?? String(error)}`,
      evidence,
    });
  } finally {
    clearTimeout(timer);
  }
}
