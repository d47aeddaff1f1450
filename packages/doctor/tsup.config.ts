import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false } },
    // Both builds run at once: this one keeps the CLI the other writes.
    clean: ['**/*', '!bin.js'],
    target: 'node22',
    platform: 'node',
  },
  {
    // The CLI: ESM only, with its shebang kept by tsup.
    entry: ['src/bin.ts'],
    format: ['esm'],
    target: 'node22',
    platform: 'node',
  },
]);
