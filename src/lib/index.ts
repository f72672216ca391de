/** Foundations every layer may import; no domain meaning of their own. */
export { PortcullisError, isPortcullisError } from './errors.js';
export { randomId } from './random-id.js';
