/**
 * Every Express major the peer range allows (`express` is the newest, `express4` an alias
 * dependency). The conformance suite and the adapter's own tests run once per entry.
 */
import { frameworkMajor } from '@wsgate/conformance';
import express from 'express';
import express4 from 'express4';

export const majors = [
  frameworkMajor(import.meta.url, 'express', 'Express 5', 5, express),
  // Typed as Express 5's module to share one test body: the adapter's own types follow whichever
  // @types/express the app installs, and the packed-package checks typecheck an Express 4 project.
  frameworkMajor(import.meta.url, 'express4', 'Express 4', 4, express4 as unknown as typeof express),
];
