/**
 * A bounded LRU of verified identities by token hash. docker and skopeo send the same ID token
 * for every scope of a push, so repeat verifications are common. An entry is never served at or
 * after its expiry, whatever the clock skew allowed at verification time.
 *
 * A token is admitted the second time it is verified; the first time only its hash is noted.
 * A CI fleet presents most tokens once, and an identity kept with all its claims outlives the
 * young generation: caching those only grows the heap and the garbage collector's work. A token
 * that does come back costs one more verification, then none.
 */
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
  private readonly entries = new Map<string, Entry>();
  /** Hashes verified once and not (yet) admitted; bounded like the entries, emptied when full. */
  private readonly seen = new Set<string>();

  /**
   * `admit` leaves out identities that cannot come back usefully, such as single-use ID tokens
   * (a second presentation is refused as a replay): each entry holds the token's whole claims,
   * and at a steady rate of fresh tokens keeping them only churns the old generation.
   */
  constructor(
    readonly maxEntries: number = DEFAULT_CACHE_ENTRIES,
    private readonly admit: CacheAdmission = () => true,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  get(tokenHash: string, nowSeconds: number): Identity | undefined {
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    this.entries.delete(tokenHash);
    if (nowSeconds >= entry.validUntil) return undefined;
    // Re-insert to mark as most recently used.
    this.entries.set(tokenHash, entry);
    return entry.identity;
  }

  set(tokenHash: string, identity: Identity, validUntil: number): void {
    if (!this.admit(identity)) return;
    if (!this.entries.has(tokenHash) && !this.seen.delete(tokenHash)) {
      if (this.seen.size >= this.maxEntries) this.seen.clear();
      this.seen.add(tokenHash);
      return;
    }
    this.entries.delete(tokenHash);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(tokenHash, { identity, validUntil });
  }

  clear(): void {
    this.entries.clear();
    this.seen.clear();
  }
}
