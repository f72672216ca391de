export type { Jwks, KeyEntry, KidMode, PublicJwk, SigningAlgorithm, TokenSigner } from './types.js';
export { KID_MODES, SIGNING_ALGORITHMS } from './types.js';
export { KeyError } from './errors.js';
export type { KeyErrorCode } from './errors.js';
export {
  MIN_RSA_BITS,
  assertKeyMatchesAlg,
  exportPrivateKeyPem,
  generateSigningKey,
  inferAlgorithm,
  loadPrivateKey,
  parsePrivateKeyPem,
  toPublicKey,
} from './material.js';
export { distributionThumbprint, jwkThumbprint, libtrustKeyId } from './kid.js';
export {
  DEFAULT_CERT_DAYS,
  DEFAULT_CERT_SUBJECT,
  assertCertificateMatchesKey,
  chainToPem,
  chainToX5c,
  createSelfSignedCertificate,
  leafPublicKey,
  loadCertificateForKey,
  parseCertificateChain,
} from './certificate.js';
export type { CertificateChain, CertificateOptions } from './certificate.js';
export { publicJwk } from './jwk.js';
export { createTokenSigner } from './signer.js';
export type { SignerOptions } from './signer.js';
export { KeyRing } from './keyring.js';
export type { KeyInfo, KeyRingOptions } from './keyring.js';
export { certificatePathFor, loadOrCreateKeyFile } from './persist.js';
export type { PersistedKey } from './persist.js';
export { exists, writeFileAtomic, writeFileExclusive } from './files.js';
