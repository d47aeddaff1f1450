import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { expectedDocs, fenceLanguage, renderIncludes, root } from './docs.js';

it.each([...expectedDocs()])('%s is up to date with its sources (run `pnpm docs`)', (file, expected) => {
  expect(existsSync(join(root, file)), `${file} is missing`).toBe(true);
  expect(readFileSync(join(root, file), 'utf8')).toBe(expected);
});

it.each([
  ['packages/e2e/configs/nginx-websocket.conf', 'nginx'],
  ['packages/e2e/configs/apache-upgrade.conf', 'apache'],
  ['packages/e2e/configs/haproxy.cfg', 'haproxy'],
  ['packages/e2e/configs/Caddyfile', 'caddyfile'],
  ['examples/express/src/app.ts', 'ts'],
  ['scripts/demo.mjs', 'js'],
])('%s is fenced as %s', (file, language) => {
  expect(fenceLanguage(file)).toBe(language);
});

it('takes a `# #region` of a config file, without the markers of regions nested in it', () => {
  const markdown = '<!-- include: packages/e2e/configs/nginx-websocket.conf#server -->\n<!-- /include -->';
  const rendered = renderIncludes(markdown);
  expect(rendered).toMatch(/^<!-- include: \S+ -->\n```nginx\nserver \{\n/);
  expect(rendered).toContain('    proxy_set_header Upgrade $http_upgrade;\n');
  expect(rendered).not.toContain('#region');
  expect(rendered).not.toContain('#endregion');
  expect(rendered).toMatch(/\n\}\n```\n<!-- \/include -->$/);
});

it('takes a nested `# #region` on its own, dedented', () => {
  const rendered = renderIncludes(
    '<!-- include: packages/e2e/configs/nginx-websocket.conf#websocket -->\n<!-- /include -->',
  );
  expect(rendered).toContain(
    '```nginx\nproxy_http_version 1.1;\nproxy_set_header Upgrade $http_upgrade;\nproxy_set_header Connection "upgrade";\n```',
  );
});

it('names the file and region when a region is missing', () => {
  expect(() =>
    renderIncludes('<!-- include: packages/e2e/configs/haproxy.cfg#nope -->\n<!-- /include -->'),
  ).toThrow('packages/e2e/configs/haproxy.cfg has no region "nope"');
});
