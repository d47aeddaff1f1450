/**
 * Finding the real peers (nginx, apache2, haproxy, caddy, chromium) on this machine, and the
 * describe wrapper that skips with a visible reason when one is missing — or fails instead when
 * `WSGATE_E2E_REQUIRED=1` (CI installs them all, so a missing binary there is a broken setup).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

/** The peers the end-to-end tests drive, with the Debian package that provides each. */
export const peers = {
  nginx: { command: 'nginx', package: 'nginx' },
  apache: { command: 'apache2', package: 'apache2' },
  haproxy: { command: 'haproxy', package: 'haproxy' },
  caddy: { command: 'caddy', package: 'caddy' },
  chromium: { command: 'chromium', package: 'chromium' },
  openssl: { command: 'openssl', package: 'openssl' },
  prlimit: { command: 'prlimit', package: 'util-linux' },
} as const;

/** A peer's name. */
export type PeerName = keyof typeof peers;

/** Whether missing peers fail the run instead of skipping (set by `.ci/run`). */
export const required = process.env.WSGATE_E2E_REQUIRED === '1';

const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

/** The absolute path of a peer's executable, or `undefined` when it is not installed. */
export function findBinary(name: PeerName): string | undefined {
  const { command } = peers[name];
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH];
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The binaries a suite needs, resolved; missing ones listed with the package to install. */
export function resolveBinaries<const N extends PeerName>(
  names: readonly N[],
): { found: Record<N, string>; missing: string[] } {
  const found = {} as Record<N, string>;
  const missing: string[] = [];
  for (const name of names) {
    const path = findBinary(name);
    if (path) found[name] = path;
    else missing.push(`${peers[name].command} (apt-get install ${peers[name].package})`);
  }
  return { found, missing };
}

/**
 * `describe` for a suite that needs real binaries. When one is missing the suite is skipped with
 * the reason in its name — or, with `WSGATE_E2E_REQUIRED=1`, replaced by one failing test.
 */
export function describeWith<const N extends PeerName>(
  names: readonly N[],
  title: string,
  body: (binaries: Record<N, string>) => void,
): void {
  const { found, missing } = resolveBinaries(names);
  if (missing.length === 0) {
    describe(title, () => body(found));
    return;
  }
  const reason = `not installed: ${missing.join(', ')}`;
  if (required) {
    describe(title, () => {
      it(`needs ${missing.join(', ')}`, () => {
        throw new Error(`WSGATE_E2E_REQUIRED=1 and ${reason}`);
      });
    });
    return;
  }
  // Skipped, not failed: a developer without the proxies installed can still run the other tests.
  // The reason is in the suite's name, so the skip is visible in the report.
  describe.skip(`${title} — skipped, ${reason} (WSGATE_E2E_REQUIRED=1 makes this fail)`, () => body(found));
}
