export * from './errors.js';
export * from './scope.js';
export * from './access.js';
export * from './token.js';
export { randomId } from './random-id.js';
