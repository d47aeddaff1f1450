/**
 * One adapter, every framework major its peer range allows: the suite runs unchanged once per
 * major, each loaded from its own (alias) dev dependency.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { BuildApp } from './fixture.js';
import { runConformanceSuite, type SuiteOptions } from './suite.js';

/** A framework major under test. */
export interface FrameworkMajor<M> {
  /** `'Express 4'`: the describe block's name. */
  readonly name: string;
  /** The major the peer range admits, checked against the installed version. */
  readonly major: number;
  /** The framework module (`express`, the `Koa` class), as the adapter's tests use it. */
  readonly module: M;
  /** The installed version, read from the (alias) package's package.json. */
  readonly version: string;
}

/**
 * A {@link FrameworkMajor} for the package installed as `packageName` (`'express4'` for the
 * alias `npm:express@4…`), resolved from `from` (the test file's `import.meta.url`).
 */
export function frameworkMajor<M>(from: string, packageName: string, name: string, major: number, module: M) {
  const { version } = createRequire(from)(`${packageName}/package.json`) as { version: string };
  return { name, major, module, version } satisfies FrameworkMajor<M>;
}

/** Runs the conformance suite on every major: `build(module)` builds the fixture app on one. */
export function runConformanceSuiteOn<M>(
  framework: string,
  majors: ReadonlyArray<FrameworkMajor<M>>,
  build: (module: M) => BuildApp,
  options: SuiteOptions = {},
): void {
  for (const { name, major, module, version } of majors) {
    describe(name, () => {
      it(`loads ${name} (${version})`, () => {
        expect(version.split('.')[0]).toBe(String(major));
      });
      runConformanceSuite(framework, build(module), options);
    });
  }
}

export { listening } from './listening.js';
