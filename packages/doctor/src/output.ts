/** The CLI's output: the only module that writes to stdout and stderr. */

/** Writes text to stdout. */
export function print(text: string): void {
  process.stdout.write(text);
}

/** Writes text to stderr. */
export function printError(text: string): void {
  process.stderr.write(text);
}
