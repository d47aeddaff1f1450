import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { expectedDocs, root } from './docs.js';

it.each([...expectedDocs()])('%s is up to date with its sources (run `pnpm docs`)', (file, expected) => {
  expect(existsSync(join(root, file)), `${file} is missing`).toBe(true);
  expect(readFileSync(join(root, file), 'utf8')).toBe(expected);
});
