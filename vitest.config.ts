import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the `@wsgate/source` export
// condition of each package), so tests never run against a stale build. No `module` condition:
// Vitest hands these conditions to Node too (`--conditions`), and Node would then load the
// `module` builds of @opentelemetry/* (extensionless ESM imports) from their CommonJS requires.
const conditions = ['@wsgate/source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'] },
  },
});
