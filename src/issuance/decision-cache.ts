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
 * A key is admitted the second time it is seen (the first time only a 32-bit fingerprint of it
 * is noted, in a fixed table): a fleet of CI jobs presenting each token once would otherwise fill
 * the cache with decisions nobody asks for again, and every one of them outlives the young
 * generation (GC work, memory).
 */
import type { Decision, Policy } from '../policy/index.js';
import { AdmittedLru, deepFreeze } from '../lib/index.js';

export const DEFAULT_DECISION_CACHE_ENTRIES = 4096;

export interface CachedDecision {
  readonly decision: Decision;
  /** Granted and denied scopes as the audit record writes them. */
  readonly granted: readonly string[];
  readonly denied: readonly string[];
}

export class DecisionCache {
  private readonly entries: AdmittedLru<CachedDecision>;
  private policy: Policy | undefined;

  constructor(readonly maxEntries: number = DEFAULT_DECISION_CACHE_ENTRIES) {
    this.entries = new AdmittedLru(maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  static key(tokenHash: string, service: string, scopes: readonly string[], clientIp: string | undefined): string {
    // "\n" cannot occur in a token hash, a service name the broker accepts, a scope or an address.
    return `${tokenHash}\n${service}\n${clientIp ?? ''}\n${scopes.join('\n')}`;
  }

  get(policy: Policy, key: string): CachedDecision | undefined {
    return policy === this.policy ? this.entries.get(key) : undefined;
  }

  set(policy: Policy, key: string, value: CachedDecision): void {
    if (policy !== this.policy) {
      this.entries.clear();
      this.policy = policy;
    }
    this.entries.set(key, deepFreeze(value));
  }

  clear(): void {
    this.entries.clear();
    this.policy = undefined;
  }
}
