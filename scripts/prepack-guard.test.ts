import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
/** The environment without the package manager's own variables (this test may run under pnpm). */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));

describe('prepack guard', () => {
  // An npm pack inside a pnpm script inherits pnpm's user agent: the guard must still refuse.
  it.each([
    ['from a shell', {}],
    ['inside a pnpm script', { npm_config_user_agent: 'pnpm/10.34.8 npm/? node/v22 linux x64' }],
  ])('fails npm pack of a package with catalog:/workspace: specifiers, %s', (_where, extra) => {
    const result = spawnSync('npm', ['pack', '--dry-run'], {
      cwd: join(root, 'packages', 'express'),
      env: { ...env, ...extra },
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('@wsgate/express: refusing to pack with npm:');
    expect(result.stderr).toContain('dependencies.@wsgate/core: "workspace:*"');
  });
});
