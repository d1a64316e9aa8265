// Lint rules for every workspace: ESLint's and typescript-eslint's recommended sets, with the
// type-aware ones (floating promises, unsafe any, unneeded assertions) checked against tsconfig.json.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Tests, benchmarks, test support and scripts: where raw driver documents are read. */
const DEV_SIDE = ['**/test/**', 'test/**', 'bench/**', 'testing/**', 'scripts/**'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'dist/**', 'tools/**', '.cache/**', '.relais/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `_`-prefixed parameters and variables are unused on purpose (a handler's fixed signature).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests and benchmarks assert on documents read back raw from MongoDB (`Document`, whose fields
    // are `any` by the driver's design) and on parsed HTTP bodies: there, the assertion is the type
    // check. Every other rule, floating promises included, holds there too.
    files: DEV_SIDE,
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // The API docs page's script runs in the browser.
  { files: ['gateway/src/docs/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['**/*.js', '**/*.cjs', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: globals.node } },
);
