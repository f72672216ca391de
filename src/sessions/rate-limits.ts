import type { RateLimiter, Store } from '../store/index.js';
import { StoreError } from '../store/index.js';
import { SessionError, asSessionError } from './errors.js';
import { rateLimitKeys } from './keys.js';
import type { RateLimitSettings } from './types.js';

const DONE: Promise<void> = Promise.resolve();

export type LimitScope = 'ip' | 'identity' | 'issuer';

/**
 * Request limits per client IP (before any verification work), per identity
 * (issuer + subject) and per issuer, counted in the shared store. When the store
 * fails, `onStoreFailure` decides: 'open' lets the request through (the identity
 * is still verified cryptographically), 'closed' refuses it.
 */
export class RequestLimits {
  private readonly ip: RateLimiter;
  private readonly identity: RateLimiter;
  private readonly issuer: RateLimiter;

  constructor(
    private readonly store: Store,
    private readonly settings: RateLimitSettings,
    private readonly onFailOpen: (err: unknown) => void = () => {},
  ) {
    this.ip = store.rateLimiter({ name: 'ip', ...settings.perIp });
    this.identity = store.rateLimiter({ name: 'identity', ...settings.perIdentity });
    this.issuer = store.rateLimiter({ name: 'issuer', ...settings.perIssuer });
  }

  /**
   * `storeRequired`: the request cannot succeed without the store anyway, so a
   * store failure here is reported at once (503) instead of failing open and then
   * waiting out a second timeout on the next store call.
   */
  checkIp(ip: string, storeRequired = false): Promise<void> {
    if (!this.settings.enabled || ip === '') return DONE;
    return this.check(this.ip, ip, 'ip', storeRequired);
  }

  checkIdentity(issuer: string, subject: string, storeRequired = false): Promise<void> {
    // Disabled limits cost nothing per request: not even the hashed key.
    if (!this.settings.enabled) return DONE;
    return this.check(this.identity, rateLimitKeys.identity(issuer, subject), 'identity', storeRequired);
  }

  /**
   * The issuer-wide bucket is shared by every tenant of a shared issuer (all of GitHub),
   * so it is charged only for identities some allow rule applies to: a stranger the
   * issuer signs for cannot spend it and get everyone else a 429.
   */
  checkIssuer(issuer: string, storeRequired = false): Promise<void> {
    if (!this.settings.enabled) return DONE;
    return this.check(this.issuer, rateLimitKeys.issuer(issuer), 'issuer', storeRequired);
  }

  private async check(limiter: RateLimiter, key: string, scope: LimitScope, storeRequired: boolean): Promise<void> {
    const failOpen = this.settings.onStoreFailure === 'open' && !storeRequired;
    // Failing open must not cost a timeout per request: skip at once while the store is known to be down.
    if (failOpen && !this.store.isReady()) {
      this.onFailOpen(new Error('store not ready'));
      return;
    }
    let decision;
    try {
      decision = await limiter.consume(key);
    } catch (err) {
      if (err instanceof StoreError && failOpen) {
        this.onFailOpen(err);
        return;
      }
      throw asSessionError(err);
    }
    if (!decision.allowed) {
      const retryAfterSec = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw new SessionError('rate_limited', `too many requests (${scope}); retry in ${retryAfterSec} s`, retryAfterSec);
    }
  }
}
