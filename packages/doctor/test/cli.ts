/**
 * Runs the doctor the way a user does: `node` on the bin, with `--json`, and returns the parsed
 * report and the exit code. Through tsx and the `@wsgate/source` condition, so that neither the
 * doctor nor @wsgate/core runs from a stale build.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Report } from '../src/report.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/** What one run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The `--json` report (undefined when stdout is not JSON). */
  readonly report: Report;
}

/** Runs `wsgate-doctor ...args --json`. */
export function doctor(...args: string[]): Promise<CliRun> {
  return runBin([...args, '--json']);
}

/** Runs `wsgate-doctor ...args` as given. */
export function runBin(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@wsgate/source', '--import', 'tsx', bin, ...args],
      { cwd: packageDir, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        let report: Report;
        try {
          report = JSON.parse(stdout) as Report;
        } catch {
          report = undefined as unknown as Report;
        }
        resolve({ code, stdout, stderr, report });
      },
    );
  });
}

/** The evidence of one stage of a report. */
export function evidenceOf(report: Report, stage: string): Record<string, unknown> {
  return (report.stages.find((s) => s.name === stage)?.evidence ?? {}) as Record<string, unknown>;
}
