/**
 * Refusals from sessions/, with stable codes the issuance layer maps to HTTP.
 * Store failures are not wrapped: they stay StoreErrors (→ 503).
 */
export type SessionErrorCode =
  /** Unknown, expired, revoked or malformed refresh token. */
  | 'invalid_grant'
  /** The refresh token belongs to another service (audience). */
  | 'wrong_service'
  /** A rotated-away refresh token came back: the session was revoked. */
  | 'reused'
  /** A single-use ID token was presented again. */
  | 'replayed'
  /** The identity's claims are too large to keep in a session. */
  | 'too_large'
  /** A rate limit is exhausted; see retryAfterSec. */
  | 'rate_limited';

export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    /** rate_limited only: seconds until a retry can succeed. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}
