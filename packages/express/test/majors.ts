/**
 * Every Express major the peer range allows (`express` is the newest, `express4` an alias
 * dependency). The conformance suite and the adapter's own tests run once per entry.
 */
import { createRequire } from 'node:module';
import express from 'express';
import express4 from 'express4';

const require = createRequire(import.meta.url);
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

export const majors = [
  { name: 'Express 5', major: 5, express, version: versionOf('express') },
  // Typed as Express 5's module to share one test body: the adapter's own types follow whichever
  // @types/express the app installs, and the packed-package checks typecheck an Express 4 project.
  {
    name: 'Express 4',
    major: 4,
    express: express4 as unknown as typeof express,
    version: versionOf('express4'),
  },
] as const;
