/**
 * The shape of a doctor run: the stages in order, what each found, and the exit code of a failure.
 */
import type { CauseCode } from './causes.js';

/** The stages, in the order they run. */
export const STAGES = ['url', 'dns', 'tcp', 'tls', 'http', 'handshake', 'open'] as const;

/** A stage's name, lower-case, as it appears in `--json`. */
export type StageName = (typeof STAGES)[number];

/**
 * The process exit code when a stage fails: one per stage, so a script can branch on it.
 * 0 means every stage passed; 2 is bad command-line input; 1 an internal error of the doctor.
 */
export const EXIT_CODES: Readonly<Record<StageName, number>> = {
  url: 3,
  dns: 4,
  tcp: 5,
  tls: 6,
  http: 7,
  handshake: 8,
  open: 9,
};

/** Exit code for bad command-line input. */
export const USAGE_EXIT_CODE = 2;

/** What one stage saw: plain data, printed as is in `--json`. */
export type Evidence = Record<string, unknown>;

/** A stage that did not pass: the named cause, this run's detail and what to change. */
export interface StageFailure {
  readonly cause: CauseCode;
  /** What went wrong in this run, with the values seen. */
  readonly detail: string;
  /** What to change; defaults to the cause's fix from the catalog. */
  readonly fix?: string | undefined;
  readonly evidence?: Evidence | undefined;
}

/** One stage in the report. */
export interface StageResult {
  readonly name: StageName;
  /** `skipped`: the stage does not apply (tls on a ws:// URL). */
  readonly status: 'passed' | 'failed' | 'skipped' | 'not reached';
  readonly cause?: CauseCode | undefined;
  readonly detail?: string | undefined;
  readonly fix?: string | undefined;
  /** What the stage saw (addresses, certificates, status and headers, frames, timings). */
  readonly evidence?: Evidence | undefined;
}

/** The result of a run: what `--json` prints. */
export interface Report {
  /** Whether every stage passed. */
  readonly ok: boolean;
  /** The URL as given. */
  readonly url: string;
  /** The failed stage; absent when `ok`. */
  readonly stage?: StageName | undefined;
  /** The failed stage's cause code (see the package README); absent when `ok`. */
  readonly cause?: CauseCode | undefined;
  readonly detail?: string | undefined;
  readonly fix?: string | undefined;
  /** The process exit code: 0, or the failed stage's entry in {@link EXIT_CODES}. */
  readonly exitCode: number;
  /** Every stage in order, including those not reached. */
  readonly stages: readonly StageResult[];
}
