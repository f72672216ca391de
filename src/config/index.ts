export * from './schema.js';
export * from './load.js';
export { configJsonSchema } from './json-schema.js';
