/**
 * @wsgate/doctor — explains why a ws:// or wss:// URL does not connect, stage by stage. The CLI is
 * `wsgate-doctor`; this module is the same run as a function, for scripts and tests.
 *
 * @packageDocumentation
 */
export { type Cause, type CauseCode, causeCodes, causes } from './causes.js';
export { type DoctorOptions, parseOptions, USAGE, UsageError } from './options.js';
export { renderJson, renderText } from './render.js';
export {
  type Evidence,
  EXIT_CODES,
  type Report,
  STAGES,
  type StageFailure,
  type StageName,
  type StageResult,
  USAGE_EXIT_CODE,
} from './report.js';
export { runDoctor } from './run.js';
