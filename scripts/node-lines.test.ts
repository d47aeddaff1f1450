import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without declarations
import { NODE_LINES } from './node-lines.mjs';

const root = new URL('..', import.meta.url).pathname;
const lines = NODE_LINES as number[];
const expected = process.env.WSGATE_EXPECT_NODE_MAJOR;

describe('Node lines', () => {
  it.skipIf(expected === undefined)(
    'runs on the Node line the matrix asked for (skipped: not run by scripts/node-matrix.mjs)',
    () => {
      expect(process.versions.node.split('.')[0]).toBe(expected);
    },
  );

  const publishable = readdirSync(join(root, 'packages'))
    .map((name) => JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')))
    .filter((manifest) => manifest.private !== true);
  it.each(publishable.map((manifest) => [manifest.name, manifest]))(
    '%s says engines.node >= the oldest supported line',
    (_name, manifest) => {
      expect(manifest.engines).toEqual({ node: `>=${lines[0]}` });
    },
  );
});
