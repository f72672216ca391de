export type {
  IdTokenSettings,
  LimitSettings,
  RateLimitSettings,
  RefreshSettings,
  SessionFilter,
  SessionKind,
  SessionOrigin,
  SessionRecord,
  SessionSummary,
} from './types.js';
export { SessionError, STORE_RETRY_AFTER_SEC, storeFailures, type SessionErrorCode } from './errors.js';
export {
  SessionService,
  DEFAULT_REFRESH,
  DEFAULT_ID_TOKENS,
  DEFAULT_RATE_LIMITS,
  type SessionServiceOptions,
  type StartSession,
  type RefreshedIdentity,
} from './service.js';
export { OneTimeCodes, MAX_CODE_LIFETIME_SEC } from './one-time-codes.js';
export { RequestLimits, type LimitScope } from './rate-limits.js';
export { REFRESH_TOKEN_PREFIX, ONE_TIME_CODE_PREFIX, isWellFormedSecret } from './secrets.js';
export { parseSessionRecord, summarize } from './record.js';
export { BrowserSessions, BROWSER_SESSION_PREFIX, type BrowserSession, type NewBrowserSession } from './browser-sessions.js';
/** base64url SHA-256 of a secret or identity, the form every store key uses. */
export { sha256 } from './hash.js';
