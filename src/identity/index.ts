/** Public API of identity/: verify OIDC ID tokens from configured issuers. */
export type { Identity, IdentityErrorCode, IdentityVerifier, Presentation, VerifyOptions } from './types.js';
export { IdentityError } from './types.js';
export {
  IssuerRegistry,
  IssuerConfigError,
  compileIssuerPattern,
  SUPPORTED_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  DEFAULT_CLOCK_SKEW_SECONDS,
  MAX_CLOCK_SKEW_SECONDS,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  DEFAULT_JWKS_MAX_STALE_SECONDS,
} from './issuer-registry.js';
export type { IssuerConfig, JwksDocument, SupportedAlgorithm, TrustedIssuer } from './issuer-registry.js';
export type { IdentityLogger, WarmResult } from './jwks-cache.js';
export { VerificationCache, DEFAULT_CACHE_ENTRIES, type CacheAdmission } from './verification-cache.js';
export { OidcVerifier, hashToken, withVerifiedEmailOnly } from './verifier.js';
export { MAX_TOKEN_BYTES } from './jws.js';
export { isLoopbackHost } from './fetch-bounded.js';
export { createVerifier, type CreateVerifierOptions } from './create-verifier.js';
