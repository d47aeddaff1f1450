/**
 * Type test: the loggers users already have satisfy core's `Logger` as they are
 * (docs/design.md, "The log record").
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { pino } from 'pino';
import { describe, expectTypeOf, it } from 'vitest';
import { createGate, type Logger, type WsGateOptions } from '../src/index.js';

describe('Logger', () => {
  it('accepts a pino Logger', () => {
    expectTypeOf<PinoLogger>().toExtend<Logger>();
    expectTypeOf<PinoLogger<'audit'>>().toExtend<Logger>();
    expectTypeOf(pino()).toExtend<Logger>();
    expectTypeOf(pino().child({ component: 'ws' })).toExtend<Logger>();
  });

  it("accepts Fastify's FastifyBaseLogger and request.log", () => {
    expectTypeOf<FastifyBaseLogger>().toExtend<Logger>();
    expectTypeOf<FastifyRequest['log']>().toExtend<Logger>();
  });

  it('is what the logger option takes', () => {
    expectTypeOf<FastifyBaseLogger>().toExtend<NonNullable<WsGateOptions['logger']>>();
    expectTypeOf(createGate).toBeCallableWith({ logger: pino() });
  });

  it('refuses objects without info and error', () => {
    expectTypeOf<{ info(obj: object): void }>().not.toExtend<Logger>();
    expectTypeOf<{ log(msg: string): void }>().not.toExtend<Logger>();
  });
});
