import { RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { StoreError } from './errors.js';
import type { RateLimitDecision, RateLimiter, RateLimiterOptions } from './types.js';
import { checkKey, checkPositiveInteger } from './validate.js';

/**
 * Adapter from rate-limiter-flexible to the store's RateLimiter: over-limit is a
 * decision (not an exception), and a backend failure becomes a StoreError through
 * `mapError`, so callers see one error type whatever the backend.
 */
export function checkRateLimiterOptions(options: RateLimiterOptions): RateLimiterOptions {
  checkKey(options.name, 'rate limiter name');
  checkPositiveInteger(options.points, 'points');
  // Duration 0 would mean "never expires" to rate-limiter-flexible.
  checkPositiveInteger(options.durationSec, 'durationSec');
  if (options.blockDurationSec !== undefined) checkPositiveInteger(options.blockDurationSec, 'blockDurationSec');
  return options;
}

export function adaptRateLimiter(limiter: RateLimiterAbstract, mapError: (err: unknown) => StoreError): RateLimiter {
  return {
    async consume(key: string, points = 1): Promise<RateLimitDecision> {
      checkKey(key, 'rate limit key');
      checkPositiveInteger(points, 'points');
      try {
        const res = await limiter.consume(key, points);
        return { allowed: true, remaining: res.remainingPoints, retryAfterMs: res.msBeforeNext };
      } catch (err) {
        // rate-limiter-flexible rejects with a RateLimiterRes when over the limit, with an Error when the store fails.
        if (err instanceof RateLimiterRes) {
          return { allowed: false, remaining: err.remainingPoints, retryAfterMs: err.msBeforeNext };
        }
        throw mapError(err);
      }
    },
    async reset(key: string): Promise<void> {
      checkKey(key, 'rate limit key');
      try {
        await limiter.delete(key);
      } catch (err) {
        throw mapError(err);
      }
    },
  };
}
