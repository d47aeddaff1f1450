/**
 * Every Koa major the peer range allows (`koa` is the newest, `koa2` an alias dependency). The
 * conformance suite and the adapter's own tests run once per entry.
 */
import { createRequire } from 'node:module';
import Koa from 'koa';
import Koa2 from 'koa2';

const require = createRequire(import.meta.url);
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

export const majors = [
  { name: 'Koa 3', major: 3, Koa, version: versionOf('koa') },
  // Typed as Koa 3's class to share one test body: the adapter's own types follow whichever
  // @types/koa the app installs, and the packed-package checks typecheck a Koa 2 project.
  { name: 'Koa 2', major: 2, Koa: Koa2 as unknown as typeof Koa, version: versionOf('koa2') },
] as const;
