/** `wsgate-doctor <URL> [options]`: parse, run, print, and return the exit code. */
import { parseOptions, USAGE, UsageError } from './options.js';
import { print, printError } from './output.js';
import { renderJson, renderText } from './render.js';
import { USAGE_EXIT_CODE } from './report.js';
import { runDoctor } from './run.js';

/** Runs the CLI on `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(`wsgate-doctor: ${error.message}\n\n${USAGE}`);
    return USAGE_EXIT_CODE;
  }
  if (options === 'help') {
    print(USAGE);
    return 0;
  }
  const report = await runDoctor(options);
  print(options.json ? renderJson(report) : renderText(report));
  return report.exitCode;
}
