/** What a stage function returns: what it passes on to the next stage, or why it failed. */
import type { Evidence, StageFailure } from '../report.js';

/** A stage's result: passed with evidence and a value for the next stage, or failed. */
export type StageOutcome<T> =
  | { readonly ok: true; readonly evidence: Evidence; readonly value: T }
  | { readonly ok: false; readonly failure: StageFailure };

/** A passed outcome. */
export function passed<T>(value: T, evidence: Evidence): StageOutcome<T> {
  return { ok: true, evidence, value };
}

/** A failed outcome. */
export function failed<T>(failure: StageFailure): StageOutcome<T> {
  return { ok: false, failure };
}
