/**
 * Verification keys per concrete issuer.
 *
 * - Static key sets (air-gapped issuers) are imported once and never touch the network.
 * - Remote key sets are fetched (after discovery, unless jwksUri is configured), kept for a TTL,
 *   and served stale when a refresh fails.
 * - An unknown kid triggers at most one refetch per issuer per `refetchIntervalMs`; concurrent
 *   refetches share one request.
 */
import type { VerificationKey } from './algorithms.js';
import { discoverJwksUri } from './discovery.js';
import { DEFAULT_FETCH_LIMITS, fetchJsonObject, type FetchLike, type FetchLimits } from './fetch-bounded.js';
import type { TrustedIssuer } from './issuer-registry.js';
import { importKeySet, keysFor, type KeySet } from './key-set.js';
import { IdentityError } from './types.js';

export interface IdentityLogger {
  warn(obj: object, msg: string): void;
}

export interface KeyCacheOptions {
  readonly fetch?: FetchLike;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  readonly logger?: IdentityLogger;
  /** How long fetched keys are fresh; default 10 minutes. */
  readonly ttlMs?: number;
  /** Minimum time between two fetches for one issuer (unknown kid, failed refresh); default 30 s. */
  readonly refetchIntervalMs?: number;
  readonly limits?: FetchLimits;
  /** Concrete issuers remembered per wildcard entry; bounds what random `iss` values can cost. */
  readonly maxIssuersPerPattern?: number;
  /** New concrete issuers a wildcard entry may start fetching per `refetchIntervalMs`; default 20. */
  readonly maxNewIssuersPerInterval?: number;
}

export interface KeySource {
  /** Keys the token's kid may refer to; throws IdentityError('unknown_key' | 'jwks_unavailable'). */
  keysFor(kid: string | undefined): Promise<readonly VerificationKey[]>;
  /** Fetch now unless fresh keys are cached; resolves to an error message on failure (never rejects). */
  warm(): Promise<string | undefined>;
}

const noopLogger: IdentityLogger = { warn: () => undefined };

export class StaticKeySource implements KeySource {
  private readonly keys: KeySet;

  constructor(entry: TrustedIssuer, logger: IdentityLogger) {
    const { keys, skipped } = importKeySet(entry.jwks);
    for (const skip of skipped) logger.warn({ issuerId: entry.id, kid: skip.kid }, `skipped static JWKS key: ${skip.reason}`);
    if (keys.size === 0) throw new Error(`issuer ${JSON.stringify(entry.id)}: static jwks has no usable verification key`);
    this.keys = keys;
  }

  async keysFor(kid: string | undefined): Promise<readonly VerificationKey[]> {
    const found = keysFor(this.keys, kid);
    if (found.length === 0) throw new IdentityError('unknown_key', `no key with kid ${JSON.stringify(kid)} in the static JWKS`);
    return found;
  }

  async warm(): Promise<string | undefined> {
    return undefined;
  }
}

export class RemoteKeySource implements KeySource {
  private keys: KeySet | undefined;
  private fetchedAt = -Infinity;
  private lastAttemptAt = -Infinity;
  private jwksUri: string | undefined;
  private jwksUriAt = -Infinity;
  private inflight: Promise<string | undefined> | undefined;
  private lastError = '';

  constructor(
    private readonly entry: TrustedIssuer,
    /** The token's `iss` (differs from entry.issuer for wildcard entries). */
    private readonly issuer: string,
    private readonly fetchImpl: FetchLike,
    private readonly now: () => number,
    private readonly logger: IdentityLogger,
    private readonly ttlMs: number,
    private readonly refetchIntervalMs: number,
    private readonly limits: FetchLimits,
  ) {}

  async keysFor(kid: string | undefined): Promise<readonly VerificationKey[]> {
    if (this.inflight) await this.inflight;
    if (this.keys === undefined || this.now() - this.fetchedAt >= this.ttlMs) {
      if (this.mayFetch()) await this.refresh();
      if (this.keys === undefined) {
        throw new IdentityError('jwks_unavailable', `keys of issuer ${this.issuer} are unavailable: ${this.lastError}`);
      }
    }
    const found = keysFor(this.keys, kid);
    if (found.length > 0) return found;
    // The issuer may have rotated: look again (joining a fetch already under way), at most once per interval.
    if (this.inflight) await this.inflight;
    else if (this.mayFetch()) await this.refresh();
    else throw this.unknownKey(kid);
    const again = keysFor(this.keys, kid);
    if (again.length > 0) return again;
    throw this.unknownKey(kid);
  }

  async warm(): Promise<string | undefined> {
    if (this.keys !== undefined && this.now() - this.fetchedAt < this.ttlMs) return undefined;
    return this.refresh();
  }

  private mayFetch(): boolean {
    return this.now() - this.lastAttemptAt >= this.refetchIntervalMs;
  }

  private unknownKey(kid: string | undefined): IdentityError {
    return new IdentityError(
      'unknown_key',
      kid === undefined
        ? `token has no kid and issuer ${this.issuer} publishes no key without one`
        : `issuer ${this.issuer} publishes no key with kid ${JSON.stringify(kid)}`,
    );
  }

  /** One fetch at a time; resolves to an error message or undefined, never rejects (stale keys stay). */
  private refresh(): Promise<string | undefined> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<string | undefined> {
    const startedAt = this.now();
    this.lastAttemptAt = startedAt;
    try {
      let jwksUri = this.entry.jwksUri;
      if (jwksUri === undefined) {
        if (this.jwksUri === undefined || startedAt - this.jwksUriAt >= this.ttlMs) {
          this.jwksUri = await discoverJwksUri(this.issuer, this.fetchImpl, this.limits);
          this.jwksUriAt = startedAt;
        }
        jwksUri = this.jwksUri;
      }
      const { keys, skipped } = importKeySet(await fetchJsonObject(this.fetchImpl, jwksUri, this.limits));
      for (const skip of skipped) {
        this.logger.warn({ issuerId: this.entry.id, issuer: this.issuer, kid: skip.kid }, `skipped JWKS key: ${skip.reason}`);
      }
      if (keys.size === 0) throw new Error(`JWKS at ${jwksUri} has no usable verification key`);
      this.keys = keys;
      this.fetchedAt = startedAt;
      return undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      // Next time, discover again: the jwks_uri itself may have moved.
      this.jwksUri = undefined;
      this.logger.warn(
        { issuerId: this.entry.id, issuer: this.issuer, stale: this.keys !== undefined, err: this.lastError },
        'refreshing issuer keys failed',
      );
      return this.lastError;
    }
  }
}

/** Key sources by issuer entry and concrete issuer. */
export class KeyStore {
  private readonly sources = new Map<string, Map<string, KeySource>>();
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;
  private readonly logger: IdentityLogger;
  private readonly ttlMs: number;
  private readonly refetchIntervalMs: number;
  private readonly limits: FetchLimits;
  private readonly maxIssuersPerPattern: number;
  private readonly maxNewIssuersPerInterval: number;
  private readonly discoveryBudget = new Map<string, { windowStart: number; used: number }>();

  constructor(entries: readonly TrustedIssuer[], options: KeyCacheOptions = {}) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? noopLogger;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.refetchIntervalMs = options.refetchIntervalMs ?? 30_000;
    this.limits = options.limits ?? DEFAULT_FETCH_LIMITS;
    this.maxIssuersPerPattern = options.maxIssuersPerPattern ?? 1_000;
    this.maxNewIssuersPerInterval = options.maxNewIssuersPerInterval ?? 20;
    for (const entry of entries) {
      const perIssuer = new Map<string, KeySource>();
      // Static keys are imported now, so a broken configuration fails at start.
      if (entry.jwks !== undefined) perIssuer.set('', new StaticKeySource(entry, this.logger));
      this.sources.set(entry.id, perIssuer);
    }
  }

  /** The key source for `issuer` (the token's iss) under `entry`. */
  sourceFor(entry: TrustedIssuer, issuer: string): KeySource {
    const perIssuer = this.sources.get(entry.id);
    if (perIssuer === undefined) throw new Error(`issuer entry ${entry.id} is not known to this key store`);
    const shared = perIssuer.get('');
    if (shared) return shared;
    // One configured jwksUri serves every issuer the entry matches.
    const sourceKey = entry.jwksUri !== undefined ? entry.jwksUri : issuer;
    let source = perIssuer.get(sourceKey);
    if (source) {
      // Keep recently used issuers at the end (LRU order).
      perIssuer.delete(sourceKey);
      perIssuer.set(sourceKey, source);
      return source;
    }
    source = new RemoteKeySource(
      entry,
      issuer,
      this.fetchImpl,
      this.now,
      this.logger,
      this.ttlMs,
      this.refetchIntervalMs,
      this.limits,
    );
    // Unauthenticated requests choose `iss`: cap how many new issuers a pattern may discover per interval.
    if (entry.wildcard && !this.takeDiscoveryBudget(entry.id)) {
      throw new IdentityError(
        'jwks_unavailable',
        `too many new issuers matching ${entry.issuer} recently; try again in ${Math.ceil(this.refetchIntervalMs / 1000)} s`,
      );
    }
    if (perIssuer.size >= this.maxIssuersPerPattern) {
      const oldest = perIssuer.keys().next().value;
      if (oldest !== undefined) perIssuer.delete(oldest);
    }
    perIssuer.set(sourceKey, source);
    return source;
  }

  private takeDiscoveryBudget(entryId: string): boolean {
    const now = this.now();
    const budget = this.discoveryBudget.get(entryId);
    if (budget === undefined || now - budget.windowStart >= this.refetchIntervalMs) {
      this.discoveryBudget.set(entryId, { windowStart: now, used: 1 });
      return true;
    }
    if (budget.used >= this.maxNewIssuersPerInterval) return false;
    budget.used += 1;
    return true;
  }

  /** Prefetch keys of every exact issuer; failures are reported, not thrown. */
  async warm(entries: readonly TrustedIssuer[]): Promise<WarmResult[]> {
    return Promise.all(
      entries
        .filter((entry) => !entry.wildcard)
        .map(async (entry): Promise<WarmResult> => {
          const error = await this.sourceFor(entry, entry.issuer).warm();
          return error === undefined ? { issuerId: entry.id, ok: true } : { issuerId: entry.id, ok: false, error };
        }),
    );
  }
}

export interface WarmResult {
  readonly issuerId: string;
  readonly ok: boolean;
  readonly error?: string;
}
