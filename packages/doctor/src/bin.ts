#!/usr/bin/env node
/** The `wsgate-doctor` executable. */
import { main } from './cli.js';
import { printError } from './output.js';

/**
 * Exits with `code` once the event loop is idle, or after a moment if something still holds it: a
 * resolver that never answered keeps its getaddrinfo call alive well past the run's timeout.
 */
function exitWith(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 200).unref();
}

main(process.argv.slice(2)).then(exitWith, (error: unknown) => {
  printError(
    `wsgate-doctor: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  exitWith(1);
});
