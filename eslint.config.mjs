// @ts-check
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import tseslint from 'typescript-eslint';

const tsExtensions = ['.ts', '.cts', '.mts'];

/** Node built-ins a workflow must not touch: workflow code runs in Temporal's deterministic sandbox. */
const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'domain', 'events', 'fs', 'fs/promises',
  'http', 'http2', 'https', 'inspector', 'module', 'net', 'os', 'path', 'perf_hooks', 'process', 'punycode',
  'querystring', 'readline', 'repl', 'stream', 'string_decoder', 'timers', 'tls', 'trace_events', 'tty', 'url',
  'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

/**
 * The layers (docs/architecture.md), lowest first: domain and steps, db, core, then activities,
 * workflows and platform, then apps. A layer imports its own and those below, never one above;
 * scripts/import-graph.ts (`npm run graph`) checks the same order on the whole graph.
 */
const LAYERS = [['domain', 'steps'], ['db'], ['core'], ['activities', 'workflows', 'platform'], ['apps']];
const LAYER_ZONES = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return layer.map((target) => ({
    target: `./${target}`,
    from: above.map((dir) => `./${dir}`),
    message: `${target}/ is below ${above.join(', ')} (docs/architecture.md): it imports none of them, types included.`,
  }));
}).filter((zone) => zone.from.length > 0);

export default tseslint.config(
  { ignores: ['dist/**', 'apps/cli/dist/**', '.data/**', 'node_modules/**', 'coverage/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The CLI's launchers and the CLI package's build scripts: plain CommonJS run by node.
    files: ['bin/**/*.js', 'apps/cli/bin/**/*.js', 'apps/cli/scripts/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', __dirname: 'readonly', console: 'readonly', module: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { import: importPlugin },
    settings: {
      'import/extensions': [...tsExtensions, '.js'],
      'import/parsers': { '@typescript-eslint/parser': tsExtensions },
      'import/resolver': { node: { extensions: [...tsExtensions, '.js', '.json'] } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Runtime circles only: the rule skips type-only imports, so `npm run graph` (in `npm run lint`) checks those too.
      'import/no-cycle': 'error',
      'import/no-restricted-paths': ['error', { zones: LAYER_ZONES }],
    },
  },
  {
    // Step types are bundled into the workflow too: what they need from Node arrives in their context.
    files: ['workflows/**/*.ts', 'steps/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins under workflows/ or steps/.' })),
          patterns: [
            { group: ['node:*'], message: 'Workflow code is deterministic: no Node built-ins under workflows/ or steps/.' },
            { group: ['**/activities', '**/activities/*', '**/db/*', '**/apps/*'], message: 'Steps and workflows import no activity, database or app code (type imports aside).', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    // API responses in tests are untyped JSON; asserting on them is clearer than declaring their types.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
);
