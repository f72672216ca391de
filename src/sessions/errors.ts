import { PortcullisError } from '../lib/index.js';
import { StoreError } from '../store/index.js';

/** Refusals from sessions/, with stable codes; callers never see a store error. */
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
  | 'rate_limited'
  /** The store is unreachable, too slow or full: nothing happened, retry shortly. */
  | 'unavailable';

export class SessionError extends PortcullisError<SessionErrorCode> {
  override readonly name = 'SessionError';
  constructor(
    code: SessionErrorCode,
    message: string,
    /** rate_limited and unavailable: seconds until a retry can succeed. */
    readonly retryAfterSec?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Seconds a client should wait when the store is down; reconnects back off up to about 2 s. */
export const STORE_RETRY_AFTER_SEC = 2;

/**
 * Store failures leave sessions/ as SessionError('unavailable'), so callers above
 * know one error model. Only availability is translated: a bad argument or an odd
 * reply is a bug and stays what it is.
 */
export function asSessionError(err: unknown): unknown {
  if (err instanceof StoreError && (err.code === 'unavailable' || err.code === 'full')) {
    return new SessionError('unavailable', 'session store unavailable; retry shortly', STORE_RETRY_AFTER_SEC, { cause: err });
  }
  return err;
}

/** Runs a store-backed operation, translating store failures (see asSessionError). */
export async function storeFailures<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw asSessionError(err);
  }
}
