import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';
import { AGENT_PORTS, layerElements, layerPolicies } from './scripts/lint/layers.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'bench/results/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        URL: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      // Prettier formats to 120 columns; what it cannot break (strings, messages, test names) may run longer
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a const object instead of a TS enum.' },
      ],
    },
  },
  {
    // The layers (ARCHITECTURE.md): every import runs downward; scripts/lint/layers.js says which.
    files: ['src/**/*.ts', 'bus/**/*.ts', 'agents/**/*.ts', 'interfaces/**/*.ts', 'config/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': layerElements,
      // dynamic imports too: a module loaded on demand is checked like any other
      'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import'],
      'import/resolver': { typescript: { alwaysTryTypes: true } },
    },
    rules: {
      'boundaries/dependencies': ['error', { default: 'disallow', policies: layerPolicies, checkAllOrigins: false }],
      'boundaries/no-unknown-files': 'error',
    },
  },
  {
    // Agent domain code is pure (machines, checks, indicators, books, parsers): no clock reads, no
    // randomness, no timers, no I/O. Time and ids come from events and injected ports, so a replay
    // decides the same. The files listed in AGENT_PORTS are the agents' doors to the outside world.
    // Strategy files a user keeps here (`sextant strategy new` writes strategies/<name>.ts) follow the
    // same rules; their tests may do as they like. At run time the SDK's guard holds them too.
    files: ['agents/**/*.ts', 'strategies/**/*.ts', 'strategies/**/*.js'],
    ignores: [...AGENT_PORTS, 'strategies/**/*.test.ts', 'strategies/**/*.test.js'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Agent domain code takes time from events, never from a clock.' },
        {
          object: 'Math',
          property: 'random',
          message: 'Agent domain code is deterministic (use a seeded source passed in).',
        },
        { object: 'performance', property: 'now', message: 'Agent domain code takes time from events.' },
      ],
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'fetch', 'performance'].map((name) => ({
          name,
          message: `${name}: agent domain code does no I/O and keeps no timers (a port does).`,
        })),
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a const object instead of a TS enum.' },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'new Date() reads the clock: agent domain code takes time from events.',
        },
        {
          selector: "CallExpression[callee.name='Date']",
          message: 'Date() reads the clock: agent domain code takes time from events.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'fs/*', 'net', 'http', 'https', 'child_process'],
              message: 'Agent domain code does no I/O: a port listed in AGENT_PORTS (eslint.config.js) does.',
            },
            {
              group: ['**/bus/nats-bus*', '**/infra/**'],
              message: 'Agents reach the outside through the bus and their ports.',
            },
          ],
        },
      ],
    },
  },
);
