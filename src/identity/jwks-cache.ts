/**
 * Verification keys per concrete issuer.
 *
 * - Static key sets (air-gapped issuers) are imported once and never touch the network.
 * - Remote key sets are fetched (after discovery, unless jwksUri is configured) and fresh for a
 *   TTL. After it, requests keep using them while one refetch runs in the background
 *   (stale-while-revalidate): a slow, hung or failing JWKS endpoint never delays a request whose
 *   key is cached. Keys are used at most `jwksMaxStale` past the TTL without a successful
 *   refetch, so a key the issuer withdrew stops working even while its endpoint is down.
 * - An unknown kid waits for a refetch, at most one per issuer per `refetchIntervalMs`; every
 *   waiter shares the one request, which has its own deadline.
 *
 * Fetching stays here rather than in jose's createRemoteJWKSet: discovery, the loopback-only
 * http rule, the response size cap, serving stale keys within a bound and the per-client budget
 * for wildcard issuers are this broker's rules, not jose's.
 */
import type { VerificationKey } from './algorithms.js';
import { DiscoveryBudget } from './discovery-budget.js';
import { discoverJwksUri } from './discovery.js';
import { DEFAULT_FETCH_LIMITS, fetchJsonObject, type FetchLike, type FetchLimits } from './fetch-bounded.js';
import type { TrustedIssuer } from './issuer-registry.js';
import { countScreenedKeys, importKeySet, keysFor, type KeySet } from './key-set.js';
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
  /** Per request; `timeoutMs` is also the deadline of one whole refresh (discovery, JWKS, import). */
  readonly limits?: FetchLimits;
  /** Concrete issuers remembered per wildcard entry; bounds what random `iss` values can cost. */
  readonly maxIssuersPerPattern?: number;
  /** New concrete issuers a wildcard entry may start fetching per `refetchIntervalMs`; default 20. */
  readonly maxNewIssuersPerInterval?: number;
  /** Of those, how many one client (VerifyOptions.client) may start; default 4. */
  readonly maxNewIssuersPerClient?: number;
}

export interface KeySource {
  /** Keys the token's kid may refer to; throws IdentityError('unknown_key' | 'jwks_unavailable'). */
  keysFor(kid: string | undefined): Promise<readonly VerificationKey[]>;
  /** Fetch now unless fresh keys are cached; resolves to an error message on failure (never rejects). */
  warm(): Promise<string | undefined>;
}

const noopLogger: IdentityLogger = { warn: () => undefined };
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class StaticKeySource implements KeySource {
  /** jose imports asynchronously; the configuration was screened synchronously in the constructor. */
  readonly ready: Promise<KeySet>;

  constructor(entry: TrustedIssuer, logger: IdentityLogger) {
    const unusable = `issuer ${JSON.stringify(entry.id)}: static jwks has no usable verification key`;
    // Fail at start for a set that cannot work whatever the import finds.
    if (countScreenedKeys(entry.jwks) === 0) throw new Error(unusable);
    this.ready = importKeySet(entry.jwks).then(({ keys, skipped, usable }) => {
      for (const skip of skipped) logger.warn({ issuerId: entry.id, kid: skip.kid }, `skipped static JWKS key: ${skip.reason}`);
      if (usable === 0) throw new Error(unusable);
      return keys;
    });
    // Reported through ready(), warm() and every keysFor(); never an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  async keysFor(kid: string | undefined): Promise<readonly VerificationKey[]> {
    let keys: KeySet;
    try {
      keys = await this.ready;
    } catch (error) {
      throw new IdentityError('jwks_unavailable', messageOf(error));
    }
    const found = keysFor(keys, kid);
    if (found.length === 0) throw new IdentityError('unknown_key', `no key with kid ${JSON.stringify(kid)} in the static JWKS`);
    return found;
  }

  async warm(): Promise<string | undefined> {
    try {
      await this.ready;
      return undefined;
    } catch (error) {
      return messageOf(error);
    }
  }
}

export class RemoteKeySource implements KeySource {
  private keys: KeySet | undefined;
  /** When the keys in `keys` were last fetched successfully. */
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
    const now = this.now();
    let keys = this.usableKeys(now);
    if (keys === undefined) {
      // Nothing we may use: this request has to wait for a fetch (joining one under way).
      if (this.inflight) await this.inflight;
      else if (this.mayFetch(now)) await this.refresh();
      keys = this.usableKeys(this.now());
      if (keys === undefined) {
        throw new IdentityError('jwks_unavailable', `keys of issuer ${this.issuer} are unavailable: ${this.lastError || 'not fetched yet'}`);
      }
    } else if (now - this.fetchedAt >= this.ttlMs && this.inflight === undefined && this.mayFetch(now)) {
      // Stale: answer from what we have, refresh behind it.
      void this.refresh();
    }
    const found = keysFor(keys, kid);
    if (found.length > 0) return found;
    // The issuer may have rotated: look again (joining a fetch already under way), at most once per interval.
    if (this.inflight) await this.inflight;
    else if (this.mayFetch(this.now())) await this.refresh();
    else throw this.unknownKey(kid);
    const latest = this.usableKeys(this.now());
    const again = latest === undefined ? [] : keysFor(latest, kid);
    if (again.length > 0) return again;
    throw this.unknownKey(kid);
  }

  async warm(): Promise<string | undefined> {
    if (this.keys !== undefined && this.now() - this.fetchedAt < this.ttlMs) return undefined;
    return this.refresh();
  }

  /** The cached keys while they are fresh or within the stale bound; a withdrawn key ages out with them. */
  private usableKeys(now: number): KeySet | undefined {
    if (this.keys === undefined) return undefined;
    if (now - this.fetchedAt >= this.ttlMs + this.entry.jwksMaxStaleMs) return undefined;
    return this.keys;
  }

  private mayFetch(now: number): boolean {
    return now - this.lastAttemptAt >= this.refetchIntervalMs;
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
    // One deadline for the whole refresh, whatever the steps: a hung endpoint ends it.
    const deadline = AbortSignal.timeout(this.limits.timeoutMs);
    try {
      const keys = await Promise.race([this.fetchKeys(startedAt, deadline), abortion(deadline, this.limits.timeoutMs)]);
      this.keys = keys;
      this.fetchedAt = startedAt;
      return undefined;
    } catch (error) {
      this.lastError = messageOf(error);
      // Next time, discover again: the jwks_uri itself may have moved.
      this.jwksUri = undefined;
      this.logger.warn(
        { issuerId: this.entry.id, issuer: this.issuer, stale: this.usableKeys(this.now()) !== undefined, err: this.lastError },
        'refreshing issuer keys failed',
      );
      return this.lastError;
    }
  }

  private async fetchKeys(startedAt: number, signal: AbortSignal): Promise<KeySet> {
    let jwksUri = this.entry.jwksUri;
    if (jwksUri === undefined) {
      if (this.jwksUri === undefined || startedAt - this.jwksUriAt >= this.ttlMs) {
        this.jwksUri = await discoverJwksUri(this.issuer, this.fetchImpl, this.limits, signal);
        this.jwksUriAt = startedAt;
      }
      jwksUri = this.jwksUri;
    }
    const { keys, skipped, usable } = await importKeySet(await fetchJsonObject(this.fetchImpl, jwksUri, this.limits, signal));
    for (const skip of skipped) {
      this.logger.warn({ issuerId: this.entry.id, issuer: this.issuer, kid: skip.kid }, `skipped JWKS key: ${skip.reason}`);
    }
    if (usable === 0) throw new Error(`JWKS at ${jwksUri} has no usable verification key`);
    return keys;
  }
}

/** Rejects when `signal` aborts: bounds a step even if something under it ignores the signal. */
function abortion(signal: AbortSignal, timeoutMs: number): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(new Error(`refreshing keys took longer than ${timeoutMs} ms`));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
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
  private readonly discoveryBudget: DiscoveryBudget;
  private readonly staticSources: StaticKeySource[] = [];

  constructor(entries: readonly TrustedIssuer[], options: KeyCacheOptions = {}) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? noopLogger;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.refetchIntervalMs = options.refetchIntervalMs ?? 30_000;
    this.limits = options.limits ?? DEFAULT_FETCH_LIMITS;
    this.maxIssuersPerPattern = options.maxIssuersPerPattern ?? 1_000;
    const perEntry = options.maxNewIssuersPerInterval ?? 20;
    this.discoveryBudget = new DiscoveryBudget({
      windowMs: this.refetchIntervalMs,
      perEntry,
      perClient: Math.min(perEntry, options.maxNewIssuersPerClient ?? 4),
    });
    for (const entry of entries) {
      const perIssuer = new Map<string, KeySource>();
      // Static keys are screened now, so a broken configuration fails at start.
      if (entry.jwks !== undefined) {
        const source = new StaticKeySource(entry, this.logger);
        this.staticSources.push(source);
        perIssuer.set('', source);
      }
      this.sources.set(entry.id, perIssuer);
    }
  }

  /** Resolves once every static key set is imported; rejects with the first that has no usable key. */
  async ready(): Promise<void> {
    await Promise.all(this.staticSources.map((source) => source.ready));
  }

  /**
   * The key source for `issuer` (the token's iss) under `entry`. `client` identifies the caller
   * for the per-client share of a wildcard entry's discovery budget.
   */
  sourceFor(entry: TrustedIssuer, issuer: string, client?: string): KeySource {
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
    // Unauthenticated requests choose `iss`: cap how many new issuers a pattern may discover per interval.
    if (entry.wildcard && !this.discoveryBudget.take(entry.id, client, this.now())) {
      throw new IdentityError(
        'jwks_unavailable',
        `too many new issuers matching ${entry.issuer} recently; try again in ${Math.ceil(this.refetchIntervalMs / 1000)} s`,
      );
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
    if (perIssuer.size >= this.maxIssuersPerPattern) {
      const oldest = perIssuer.keys().next().value;
      if (oldest !== undefined) perIssuer.delete(oldest);
    }
    perIssuer.set(sourceKey, source);
    return source;
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
