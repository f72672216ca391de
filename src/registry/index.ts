/** The Docker registry token protocol: scopes, access entries, token claims and the error format. */
export { registryErrorBody, type RegistryErrorBody, type RegistryErrorCode } from './errors.js';
export {
  MAX_REPOSITORY_NAME_LENGTH,
  MAX_SCOPES_PER_REQUEST,
  MAX_SCOPE_LENGTH,
  REPOSITORY_PATH_RE,
  ScopeError,
  formatScope,
  isPathComponent,
  isRepositoryName,
  parseScope,
  parseScopes,
  type ResourceScope,
} from './scope.js';
export { ACTIONS_OF, ALL, grantActions, mergeScopes, missingActions, type AccessEntry } from './access.js';
export { MIN_EXPIRES_IN, buildClaims, tokenResponse, type ClaimsInput, type RegistryClaims, type TokenResponse } from './token.js';
