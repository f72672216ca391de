/**
 * Refusals of the login API and pages. `code` is the OAuth 2.0 error code
 * (RFC 6749 §5.2, RFC 8628 §3.5); `message` says what went wrong in words.
 */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 400,
    /** Seconds, for 429 answers. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}
