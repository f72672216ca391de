/**
 * A bounded LRU of verified identities by token hash. docker and skopeo send the same ID token
 * for every scope of a push, so repeat verifications are common. An entry is never served at or
 * after its expiry, whatever the clock skew allowed at verification time.
 *
 * A token is admitted the second time it is verified; the first time only a fingerprint of its
 * hash is noted (AdmittedLru: 32 bits in a fixed table, no string kept).
 * A CI fleet presents most tokens once, and an identity kept with all its claims outlives the
 * young generation: caching those only grows the heap and the garbage collector's work. A token
 * that does come back costs one more verification, then none.
 */
import { AdmittedLru } from '../lib/index.js';
import type { Identity } from './types.js';

export const DEFAULT_CACHE_ENTRIES = 10_000;

interface Entry {
  readonly identity: Identity;
  /** Seconds since the epoch; served only while now < validUntil. */
  readonly validUntil: number;
}

/** Which verified identities are worth keeping; the default keeps all. */
export type CacheAdmission = (identity: Identity) => boolean;

export class VerificationCache {
  private readonly entries: AdmittedLru<Entry>;

  /**
   * `admit` leaves out identities that cannot come back usefully, such as single-use ID tokens
   * (a second presentation is refused as a replay): each entry holds the token's whole claims,
   * and at a steady rate of fresh tokens keeping them only churns the old generation.
   */
  constructor(
    readonly maxEntries: number = DEFAULT_CACHE_ENTRIES,
    private readonly admit: CacheAdmission = () => true,
  ) {
    this.entries = new AdmittedLru(maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  get(tokenHash: string, nowSeconds: number): Identity | undefined {
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (nowSeconds < entry.validUntil) return entry.identity;
    this.entries.delete(tokenHash);
    return undefined;
  }

  set(tokenHash: string, identity: Identity, validUntil: number): void {
    if (this.admit(identity)) this.entries.set(tokenHash, { identity, validUntil });
  }

  clear(): void {
    this.entries.clear();
  }
}
