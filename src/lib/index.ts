/** Foundations every layer may import; no domain meaning of their own. */
export { PortcullisError, isPortcullisError } from './errors.js';
export { randomId } from './random-id.js';
export { parseIpAddress, parseIpRange, inIpRange, type IpAddress, type IpRange } from './ip-address.js';
export { deepFreeze } from './deep-freeze.js';
export { sha256Base64url } from './sha256.js';
export { AdmittedLru } from './admitted-lru.js';
