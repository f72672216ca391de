import { PortcullisError } from '../lib/index.js';

/**
 * Refusals of people's sign-in. Most codes are the OAuth 2.0 ones the login API
 * answers with (RFC 6749 §5.2, RFC 8628 §3.5); the rest are the pages' own.
 * HTTP statuses and wire codes are decided in src/http/login-routes.ts.
 */
export type LoginErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'access_denied'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  /** Too many requests or wrong user codes; see retryAfterSec. */
  | 'rate_limited'
  /** The provider or the store cannot be reached: nothing happened, retry. */
  | 'unavailable'
  /** A page action needs a signed-in person. */
  | 'not_signed_in'
  /** A form without its CSRF token, or with a stale one. */
  | 'csrf'
  /** A form posted from another site. */
  | 'cross_site'
  | 'unsupported_media_type'
  | 'payload_too_large';

export class LoginError extends PortcullisError<LoginErrorCode> {
  override readonly name = 'LoginError';
  constructor(
    code: LoginErrorCode,
    message: string,
    /** rate_limited: seconds until a retry can succeed. */
    readonly retryAfterSec?: number,
  ) {
    super(code, message);
  }
}
