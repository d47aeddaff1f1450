#!/usr/bin/env node
/** The `wsgate-doctor` executable. */
import { main } from './cli.js';
import { printError } from './output.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    printError(
      `wsgate-doctor: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
