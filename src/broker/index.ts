/** The composition root: everything the CLI needs to run or inspect a broker. */
export { buildBroker, publicUrlOf, DEV_ISSUER_PATH, type Broker, type BuildOptions } from './build.js';
export { loadKeyRing, GENERATED_KEY_FILE } from './keys.js';
export { openSharedSessions } from './sessions.js';
