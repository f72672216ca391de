import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    // The domain never depends on the HTTP framework.
    files: ['src/{registry,keys,identity,dev,policy,store,sessions,login,config,client}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['koa', '@koa/*'] }],
    },
  },
);
