export * from './errors.js';
export * from './scope.js';
export * from './access.js';
export * from './token.js';
