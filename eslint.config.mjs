// ESLint has one job in this repository: flag regular expressions whose matching time can grow
// super-linearly with the input (ReDoS), using eslint-plugin-regexp's analysis. Biome is the
// linter and formatter for everything else; it has no such rule.
import tsParser from '@typescript-eslint/parser';
import regexp from 'eslint-plugin-regexp';

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.tsbuild/**'] },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.mjs', '**/*.js'],
    languageOptions: { parser: tsParser },
    plugins: { regexp },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Backtracking that grows with the input inside one match attempt (`(a+)+`, `\s*\s*$`).
      'regexp/no-super-linear-backtracking': 'error',
      // Re-scanning from every start position (`/[ \t]+$/` on a long run of spaces).
      'regexp/no-super-linear-move': 'error',
    },
  },
];
