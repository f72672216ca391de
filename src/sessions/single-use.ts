import type { Identity } from '../identity/types.js';
import type { Store } from '../store/index.js';
import { sessionKeys } from './keys.js';

/**
 * Single use of ID tokens: the first use records the token's jti (or its hash
 * when it has none) until the verifier would refuse the token anyway; any later
 * use, at any replica, finds the marker. putIfAbsent makes "check and record" one
 * atomic step.
 */
export class IdTokenLedger {
  constructor(
    private readonly store: Store,
    private readonly options: { clockSkewSec: number; now: () => number },
  ) {}

  /** True on the first use of this ID token, false on every later one. */
  async consume(identity: Identity, use: string): Promise<boolean> {
    const key = sessionKeys.idToken(identity.issuer, identity.tokenId, identity.tokenHash);
    return this.store.putIfAbsent(key, use, this.markerTtlMs(identity));
  }

  /**
   * How long the marker must live: as long as the verifier could still accept the token, i.e.
   * until `exp` (or `iat` + maxTokenAge when sooner) plus the clock skew, and not a second longer:
   * every marker held past that point only takes room in a bounded store.
   */
  markerTtlMs(identity: Identity): number {
    const until = Math.min(identity.expiresAt, identity.validUntil ?? identity.expiresAt);
    const ttl = (until + this.options.clockSkewSec) * 1000 - this.options.now();
    return Math.max(1000, Math.ceil(ttl));
  }
}
