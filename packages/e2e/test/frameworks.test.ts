/**
 * The framework list the end-to-end tests run over is every example under examples/: this checks
 * that each example can join (it has src/app.ts exporting `start`), so a new framework is never
 * left out silently.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { frameworks, loadStart, root } from '../src/apps.js';

const examples = readdirSync(join(root, 'examples'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, 'examples', entry.name, 'package.json')))
  .map((entry) => entry.name)
  .sort();

it('every example is a framework the end-to-end tests run', () => {
  expect(examples).toContain('express');
  expect(frameworks().map((f) => f.name)).toEqual(examples);
});

it.each(frameworks())('examples/$name/src/app.ts exports start()', async (framework) => {
  expect(typeof (await loadStart(framework))).toBe('function');
});
