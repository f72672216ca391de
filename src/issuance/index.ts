export { TokenService, type AuditRecord, type IssuedBody, type TokenOutcome, type TokenServiceOptions } from './token-service.js';
export { DecisionCache, DEFAULT_DECISION_CACHE_ENTRIES, type CachedDecision } from './decision-cache.js';
export { IssuanceError, type IssuanceErrorCode } from './errors.js';
export {
  ACCESS_TOKEN_TYPE,
  REQUESTED_TOKEN_TYPES,
  SUBJECT_TOKEN_TYPES,
  TOKEN_EXCHANGE,
  type Credential,
  type ExchangeGrantRequest,
  type GetTokenRequest,
  type GrantType,
  type PasswordCredential,
  type PasswordGrantRequest,
  type RefreshGrantRequest,
  type RequestedTokenType,
  type SubjectTokenType,
  type TokenRequest,
} from './request.js';
