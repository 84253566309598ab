import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'bench/results/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', URL: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a const object instead of a TS enum.' },
      ],
    },
  },
  {
    // Machines are pure: no clock reads, no randomness.
    files: ['agents/**/*.machine.ts', 'agents/**/machine.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Machines take time from events, never from a clock.' },
        { object: 'Math', property: 'random', message: 'Machines are deterministic.' },
        { object: 'performance', property: 'now', message: 'Machines take time from events.' },
      ],
      'no-restricted-imports': ['error', { patterns: ['node:*', '**/bus/nats-bus*', '**/store/*'] }],
    },
  },
);
