import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGate, resolveOptions, type WsGateOptions } from '../src/index.js';

const noop = () => undefined;

/** Options that must fail, with the option the message must name. */
const bad: ReadonlyArray<readonly [option: string, options: Record<string, unknown>]> = [
  ['protocols', { protocols: 'chat' }],
  ['protocols', { protocols: ['chat v1'] }],
  ['protocols', { protocols: [''] }],
  ['protocols', { protocols: [1] }],
  ['protocols', { protocols: ['chat', 'chat'] }],
  ['protocols', { protocols: ['a/b'] }],
  ['protocolPreference', { protocolPreference: 'random' }],
  ['requireProtocol', { requireProtocol: 'yes' }],
  ['requireProtocol', { requireProtocol: true }],
  ['onNoProtocolMatch', { onNoProtocolMatch: 'ignore' }],
  ['selectProtocol', { selectProtocol: 'chat' }],
  ['origins', { origins: 'https://example.com' }],
  ['origins', { origins: ['https://example.com/'] }],
  ['origins', { origins: ['example.com'] }],
  ['origins', { origins: ['https://a.*.example.com'] }],
  ['origins', { origins: ['*.example.com'] }],
  ['origins', { origins: ['https://*'] }],
  ['origins', { origins: [42] }],
  ['origins', { origins: {} }],
  ['origins', { origins: true }],
  ['trustProxy', { trustProxy: 1 }],
  ['perMessageDeflate', { perMessageDeflate: 'true' }],
  ['heartbeatMs', { heartbeatMs: 0 }],
  ['heartbeatMs', { heartbeatMs: 1.5 }],
  ['heartbeatMs', { heartbeatMs: true }],
  ['heartbeatMs', { heartbeatMs: '30s' }],
  ['beforeUpgrade', { beforeUpgrade: {} }],
  ['plainRequests', { plainRequests: 'next' }],
  ['logger', { logger: {} }],
  ['logger', { logger: { info: noop } }],
  ['logger', { logger: 'pino' }],
  ['logger', { logger: null }],
  ['production', { production: 'false' }],
  ['protocol', { protocol: 'chat' }],
  ['onUpgrade', { onUpgrade: noop }],
];

describe('option validation', () => {
  it.each(bad)('`%s` in %j throws a TypeError naming @wsgate/core and the option', (option, options) => {
    const attempt = () => createGate(options as WsGateOptions<unknown>);
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(new RegExp(`^@wsgate/core: option \`${option}\` `));
  });

  it('names the adapter package when it gives one, origins included', () => {
    const adapter = { framework: 'express', packageName: '@wsgate/express' };
    expect(() => createGate({ protocols: ['a a'] }, adapter)).toThrow(
      /^@wsgate\/express: option `protocols`/,
    );
    expect(() => createGate({ origins: ['nope'] }, adapter)).toThrow(/^@wsgate\/express: option `origins`/);
    expect(() => createGate({ origins: ['nope'] }, adapter)).not.toThrow(/@wsgate\/core/);
  });

  it('names the closest option for a misspelt one', () => {
    const misspelt = (options: object) => () => createGate(options as WsGateOptions<unknown>);
    expect(misspelt({ protocol: ['a'] })).toThrow(
      /option `protocol` is not a known option \(did you mean `protocols`\?\)/,
    );
    expect(misspelt({ orgins: '*' })).toThrow(/did you mean `origins`/);
    expect(misspelt({ beforeupgrade: noop })).toThrow(/did you mean `beforeUpgrade`/);
    expect(misspelt({ onUpgrade: noop })).not.toThrow(/did you mean/);
    expect(misspelt({ wss: {} })).not.toThrow(/did you mean/);
    expect(() =>
      createGate({ wss: {} } as WsGateOptions<unknown>, { framework: 'x', extraOptions: ['ws'] }),
    ).toThrow(/did you mean `ws`/);
  });

  it('says where trustProxy went: the framework’s own trust-proxy setting', () => {
    expect(() => createGate({ trustProxy: true } as WsGateOptions<unknown>)).toThrow(
      /option `trustProxy` was removed: wsgate follows the framework's own trust-proxy setting/,
    );
  });

  it('accepts the option names an adapter adds', () => {
    const options = { path: '/ws' } as unknown as WsGateOptions<unknown>;
    expect(() => createGate(options, { framework: 'express', extraOptions: ['path'] })).not.toThrow();
    expect(() => createGate(options)).toThrow(/option `path` is not a known option/);
  });

  it.each([null, 'x', 42])('refuses %j as the options object', (options) => {
    expect(() => createGate(options as unknown as WsGateOptions<unknown>)).toThrow(
      /^@wsgate\/core: options must be an object/,
    );
  });

  it('accepts every valid shape', () => {
    const valid: WsGateOptions<unknown>[] = [
      {},
      { protocols: ['chat.v2', 'chat.v1'], protocolPreference: 'client', requireProtocol: true },
      { selectProtocol: (offered) => offered[0], requireProtocol: true },
      { onNoProtocolMatch: 'proceed', plainRequests: 'pass' },
      { origins: '*' },
      { origins: 'same-origin' },
      { origins: ['https://a.example', 'https://*.b.example', /^https:\/\/c\./, 'null'] },
      { origins: () => true },
      { perMessageDeflate: true, production: true, beforeUpgrade: noop },
      { logger: { info: noop, error: noop } },
      { heartbeatMs: false },
      { heartbeatMs: 5_000 },
      { protocols: undefined, logger: undefined, origins: undefined },
    ];
    for (const options of valid) expect(() => createGate(options)).not.toThrow();
  });
});

describe('defaults', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('applies the documented defaults', () => {
    const resolved = resolveOptions({});
    expect(resolved).toMatchObject({
      protocols: [],
      protocolPreference: 'server',
      requireProtocol: false,
      onNoProtocolMatch: 'reject',
      selectProtocol: undefined,
      perMessageDeflate: false,
      beforeUpgrade: undefined,
      plainRequests: 'reject',
      logger: undefined,
      production: false,
      heartbeatMs: 30_000,
    });
    expect(resolved.origins.kind).toBe('same-origin');
  });

  it('production follows NODE_ENV unless given', () => {
    vi.stubEnv('NODE_ENV', 'production');
    expect(resolveOptions({}).production).toBe(true);
    expect(resolveOptions({ production: false }).production).toBe(false);
    vi.stubEnv('NODE_ENV', 'development');
    expect(resolveOptions({}).production).toBe(false);
  });

  it('copies the protocol list so later changes to the caller’s array do not leak in', () => {
    const protocols = ['a'];
    const gate = createGate({ protocols });
    protocols.push('b');
    expect(gate.options.protocols).toEqual(['a']);
  });
});
