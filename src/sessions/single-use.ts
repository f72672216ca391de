import type { Identity } from '../identity/types.js';
import type { Store } from '../store/index.js';
import { sessionKeys } from './keys.js';

/**
 * Single use of ID tokens: the first use records the token's jti (or its hash
 * when it has none) until the token expires; any later use, at any replica, finds
 * the marker. putIfAbsent makes "check and record" one atomic step.
 */
export class IdTokenLedger {
  constructor(
    private readonly store: Store,
    private readonly options: { clockSkewSec: number; now: () => number },
  ) {}

  /** True on the first use of this ID token, false on every later one. */
  async consume(identity: Identity, use: string): Promise<boolean> {
    const key = sessionKeys.idToken(identity.issuer, identity.tokenId, identity.tokenHash);
    // Keep the marker as long as the verifier could still accept the token.
    const ttl = Math.max(1000, (identity.expiresAt + this.options.clockSkewSec) * 1000 - this.options.now());
    return this.store.putIfAbsent(key, use, Math.ceil(ttl));
  }
}
