import { IssuerRegistry, type IssuerConfig } from './issuer-registry.js';
import { KeyStore, type IdentityLogger } from './jwks-cache.js';
import type { FetchLike } from './fetch-bounded.js';
import { DEFAULT_CACHE_ENTRIES, VerificationCache, type CacheAdmission } from './verification-cache.js';
import { OidcVerifier } from './verifier.js';

export interface CreateVerifierOptions {
  /** Used for discovery and JWKS requests; default global fetch. */
  fetch?: FetchLike;
  /** Verification cache: default on with 10,000 entries; `false` turns it off; `admit` picks what it keeps. */
  cache?: boolean | VerificationCache | { maxEntries?: number; admit?: CacheAdmission };
  /** Milliseconds since the epoch (Date.now-compatible). */
  now?: () => number;
  logger?: IdentityLogger;
  /** Freshness of fetched keys; default 10 min. */
  jwksTtlMs?: number;
  /** Minimum time between fetches for one issuer; default 30 s. */
  refetchIntervalMs?: number;
  /** New concrete issuers one wildcard entry may discover per refetch interval; default 20. */
  maxNewIssuersPerInterval?: number;
  /** Of those, how many one client (VerifyOptions.client) may cause; default 4. */
  maxNewIssuersPerClient?: number;
  /** Per-request timeout for discovery and JWKS; default 5 s. */
  fetchTimeoutMs?: number;
  /** Response size cap for discovery and JWKS; default 256 KiB. */
  maxResponseBytes?: number;
}

/**
 * Build a verifier. Throws IssuerConfigError (or Error for an unusable static JWKS) on bad
 * configuration, so a broken trust setup fails at start rather than per request.
 */
export function createVerifier(issuers: readonly IssuerConfig[], options: CreateVerifierOptions = {}): OidcVerifier {
  const registry = new IssuerRegistry(issuers);
  const keys = new KeyStore(registry.entries, {
    fetch: options.fetch,
    now: options.now,
    logger: options.logger,
    ttlMs: options.jwksTtlMs,
    refetchIntervalMs: options.refetchIntervalMs,
    maxNewIssuersPerInterval: options.maxNewIssuersPerInterval,
    maxNewIssuersPerClient: options.maxNewIssuersPerClient,
    limits: { timeoutMs: options.fetchTimeoutMs ?? 5_000, maxBytes: options.maxResponseBytes ?? 256 * 1024 },
  });
  const cacheOption = options.cache ?? true;
  const cache =
    cacheOption === false
      ? undefined
      : cacheOption === true
        ? new VerificationCache(DEFAULT_CACHE_ENTRIES)
        : cacheOption instanceof VerificationCache
          ? cacheOption
          : new VerificationCache(cacheOption.maxEntries ?? DEFAULT_CACHE_ENTRIES, cacheOption.admit);
  return new OidcVerifier(registry, keys, cache, options.now);
}
