/**
 * Decisions for re-presented ID tokens. docker and skopeo send the same ID token for every
 * scope of a push and again for the next pull; the verification is cached already, and this
 * keeps the policy's answer too, so a re-presented token costs a lookup and a signature.
 *
 * A decision is a pure function of the policy, the identity (which the token hash fixes: same
 * token, same claims), the service, the requested scopes and the client address, so those are
 * the key; the cache belongs to one policy object and empties when another one takes its place
 * (a reload). Identity verification, single use, rate limits and signing still run on every
 * request: only `policy.evaluate` is skipped. Signed tokens are never reused.
 *
 * A key is admitted the second time it is seen (the first time only its key is remembered): a
 * fleet of CI jobs presenting each token once would otherwise fill the cache with decisions
 * nobody asks for again, and every one of them outlives the young generation (GC work, memory).
 */
import type { Decision, Policy } from '../policy/index.js';
import { deepFreeze } from '../lib/index.js';

export const DEFAULT_DECISION_CACHE_ENTRIES = 4096;

export interface CachedDecision {
  readonly decision: Decision;
  /** Granted and denied scopes as the audit record writes them. */
  readonly granted: readonly string[];
  readonly denied: readonly string[];
}

export class DecisionCache {
  private entries = new Map<string, CachedDecision>();
  /** Keys seen once since the policy was loaded; bounded like the entries, emptied when full. */
  private seen = new Set<string>();
  private policy: Policy | undefined;

  constructor(readonly maxEntries: number = DEFAULT_DECISION_CACHE_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  static key(tokenHash: string, service: string, scopes: readonly string[], clientIp: string | undefined): string {
    // "\n" cannot occur in a token hash, a service name the broker accepts, a scope or an address.
    return `${tokenHash}\n${service}\n${clientIp ?? ''}\n${scopes.join('\n')}`;
  }

  get(policy: Policy, key: string): CachedDecision | undefined {
    if (policy !== this.policy) return undefined;
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    // Most recently used last, so eviction takes the oldest.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(policy: Policy, key: string, value: CachedDecision): void {
    if (policy !== this.policy) {
      this.entries = new Map();
      this.seen = new Set();
      this.policy = policy;
    }
    if (!this.seen.delete(key)) {
      if (this.seen.size >= this.maxEntries) this.seen.clear();
      this.seen.add(key);
      return;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, deepFreeze(value));
  }

  clear(): void {
    this.entries = new Map();
    this.seen = new Set();
    this.policy = undefined;
  }
}

