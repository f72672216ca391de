/** Development mode: a local issuer anyone with the data dir can mint for, and the example policy. */
export {
  DevIssuer,
  devIssuerConfig,
  DEV_ISSUER_KEY_FILE,
  DEV_ISSUER_DEFAULT_AUDIENCE,
  DEV_ISSUER_DEFAULT_SUBJECT,
  type DevMintOptions,
} from './dev-issuer.js';
export { EXAMPLE_POLICY } from './example-policy.js';
