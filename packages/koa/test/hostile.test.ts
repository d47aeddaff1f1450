import { runHostileSuite } from '@wsgate/conformance';
import Koa from 'koa';
import { buildOn } from './app.js';

/**
 * Koa prints every error its `on-finished` hook sees on a response's socket; the fuzz makes Node's
 * parser fail on bytes pipelined behind a plain request thousands of times (each answered 400).
 */
class QuietKoa extends Koa {
  override silent = true;
}

// Koa 3 only: the hostile-input suite is about the gate and Node's parser, not the major.
runHostileSuite('koa', buildOn(QuietKoa as typeof Koa));
