import { RegistryError, badRequest, unauthorized } from '../registry/index.js';
import { SessionError } from '../sessions/index.js';
import { StoreError } from '../store/index.js';

/** Seconds a client should wait when the store is down; reconnects back off up to about 2 s. */
export const STORE_RETRY_AFTER_SEC = 2;

/**
 * Sessions and store failures in registry format: refusals are 401 (docker and
 * c/image show the message), limits 429 with Retry-After, an unreachable store
 * 503 with Retry-After: never a token issued without its check.
 */
export function toRegistryError(err: unknown): unknown {
  if (err instanceof SessionError) {
    switch (err.code) {
      case 'rate_limited':
        return new RegistryError(429, 'TOO_MANY_REQUESTS', err.message, undefined, err.retryAfterSec ?? 1);
      case 'too_large':
        return badRequest(err.message);
      default:
        return unauthorized(err.message, { reason: err.code });
    }
  }
  // Unreachable or full: retryable. Anything else (a bad argument, an odd reply) is a bug → 500.
  if (err instanceof StoreError && (err.code === 'unavailable' || err.code === 'full')) {
    return new RegistryError(503, 'UNAVAILABLE', 'session store unavailable; retry shortly', undefined, STORE_RETRY_AFTER_SEC);
  }
  return err;
}
