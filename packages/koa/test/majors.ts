/**
 * Every Koa major the peer range allows (`koa` is the newest, `koa2` an alias dependency). The
 * conformance suite and the adapter's own tests run once per entry.
 */
import { frameworkMajor } from '@wsgate/conformance';
import Koa from 'koa';
import Koa2 from 'koa2';

export const majors = [
  frameworkMajor(import.meta.url, 'koa', 'Koa 3', 3, Koa),
  // Typed as Koa 3's class to share one test body: the adapter's own types follow whichever
  // @types/koa the app installs, and the packed-package checks typecheck a Koa 2 project.
  frameworkMajor(import.meta.url, 'koa2', 'Koa 2', 2, Koa2 as unknown as typeof Koa),
];
