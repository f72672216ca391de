/**
 * A small key-value store with mandatory expiry, shared by every broker replica
 * (Redis) or private to one process (memory). Everything sessions/ needs —
 * refresh tokens, single-use markers, one-time codes, listing for revocation,
 * rate limits — is built from these operations.
 *
 * Contract shared by all implementations:
 * - Keys, index names and members are caller strings of 1..1024 characters; the
 *   store namespaces them under its key prefix. Values are strings up to 64 KiB.
 * - Every write carries a TTL: an integer number of milliseconds, 1 ms .. 400 days.
 *   Anything else rejects with StoreError('invalid_argument'), so nothing can live forever.
 * - An entry whose TTL has elapsed is gone for every read, whether or not it was swept yet.
 * - Failures reject with StoreError; an unreachable or slow backend with
 *   StoreUnavailableError, promptly (about a second at most), never a hang.
 * - Redis Cluster: an operation on several keys is atomic only when they share a
 *   hash tag (see `slotTag`); otherwise putWithIndexes writes the indexes first, so
 *   a stored value is never missing from an index (a member whose value is gone is
 *   harmless: readers look the value up and find nothing).
 */
export interface Store {
  readonly kind: 'memory' | 'redis';
  /** Namespace of every key this store touches, e.g. `portcullis:`. */
  readonly keyPrefix: string;

  /** Set `key` only if it does not exist (SET NX PX). True when this call created it. */
  putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Set `key`, replacing any value and TTL. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | null>;
  /** Atomically read and delete: of concurrent callers, at most one gets the value. */
  take(key: string): Promise<string | null>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;

  /**
   * Set `key` and add `key` itself as a member of each index (with the same TTL),
   * so it can later be found by `indexMembers(index)`. Atomic where the backend allows.
   */
  putWithIndexes(key: string, value: string, ttlMs: number, indexes: readonly string[]): Promise<void>;
  /** Add or refresh `member` in `index`; the member expires after ttlMs, the index with its last member. */
  addToIndex(index: string, member: string, ttlMs: number): Promise<void>;
  /**
   * Live members, soonest-expiring first, at most `limit` (default 10 000, max 100 000).
   * To process more, remove what was handled and ask again.
   */
  indexMembers(index: string, limit?: number): Promise<string[]>;
  /** True when the member was present. */
  removeFromIndex(index: string, member: string): Promise<boolean>;

  /**
   * One atomic step for rotating a refresh token (see SwapInput): unless `guard` exists,
   * take `from`, leave `tombstone` in its place, drop `from` from its indexes and write
   * `to` with its indexes. Redis runs it as one Lua script; on a Cluster, where the keys
   * sit in different slots, the new value is written first and then the guard re-read,
   * and removed again when the guard appeared: either way a guard written before the
   * guard writer lists the indexes is never outlived by a `to` value.
   */
  swap(input: SwapInput): Promise<SwapResult>;

  /** A fixed-window limiter kept in this store (shared across replicas for Redis). */
  rateLimiter(options: RateLimiterOptions): RateLimiter;

  /** Synchronous readiness for probes: connected and accepting commands. */
  isReady(): boolean;
  /** Resolves once ready, or rejects with StoreUnavailableError after timeoutMs. */
  waitUntilReady(timeoutMs: number): Promise<void>;
  /** One round trip; resolves with its latency in ms or rejects with StoreUnavailableError. */
  ping(): Promise<number>;
  /** Never rejects: a snapshot for health endpoints. */
  health(): Promise<StoreHealth>;
  /** Stop timers and connections. Later operations reject with StoreUnavailableError. */
  close(): Promise<void>;
}

export interface SwapInput {
  /** The key being used up; must exist. */
  readonly from: string;
  /** Indexes `from` is a member of. */
  readonly fromIndexes: readonly string[];
  /** Written in place of `from` (for reuse detection), with `ttlMs`. */
  readonly tombstone: string;
  readonly tombstoneValue: string;
  /** When this key exists, nothing changes and the outcome is 'guarded'. */
  readonly guard: string;
  readonly to: string;
  readonly value: string;
  readonly indexes: readonly string[];
  readonly ttlMs: number;
}

export type SwapResult =
  | { readonly outcome: 'swapped' }
  | { readonly outcome: 'guarded' }
  /** `from` did not exist; `tombstone` holds the value of its tombstone key, if any. */
  | { readonly outcome: 'missing'; readonly tombstone: string | null };

export type StoreState = 'connecting' | 'ready' | 'unavailable' | 'closed';

export interface StoreHealth {
  readonly kind: 'memory' | 'redis';
  readonly state: StoreState;
  readonly ok: boolean;
  /** Round-trip time of the health ping, when it succeeded. */
  readonly latencyMs?: number;
  /** Why it is not ok; safe to show (no credentials). */
  readonly error?: string;
  /** Memory store only: live entries counted against maxEntries. */
  readonly entries?: number;
}

export interface RateLimiterOptions {
  /** Distinguishes limiters (e.g. `issuer`, `ip`); becomes part of the key namespace. */
  readonly name: string;
  /** Points allowed per window. */
  readonly points: number;
  /** Window length in whole seconds (≥ 1: a limiter entry always expires). */
  readonly durationSec: number;
  /** When the window is exceeded, refuse for this many seconds instead of until the window ends. */
  readonly blockDurationSec?: number;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Points left in the current window. */
  readonly remaining: number;
  /** Milliseconds until the window (or block) ends; use for Retry-After. */
  readonly retryAfterMs: number;
}

export interface RateLimiter {
  /** Count `points` (default 1) for `key`. Rejects with StoreError only when the store fails. */
  consume(key: string, points?: number): Promise<RateLimitDecision>;
  /** Forget the count for `key`. */
  reset(key: string): Promise<void>;
}

export interface MemoryStoreOptions {
  readonly keyPrefix?: string;
  /** Bound on live values plus index members (default 100 000). Beyond it writes of new entries reject with StoreFullError. */
  readonly maxEntries?: number;
  /** How often expired entries are swept (default 30 000 ms; 0 disables the timer, reads still expire lazily). */
  readonly sweepIntervalMs?: number;
  /** Clock in ms since the epoch; for tests. */
  readonly now?: () => number;
}

export interface RedisTlsOptions {
  /** PEM contents (the config layer reads files). */
  readonly ca?: string | readonly string[];
  readonly cert?: string;
  readonly key?: string;
  /** SNI and certificate name to check; defaults to the host. */
  readonly servername?: string;
  /** Default true. Only for tests against self-signed servers. */
  readonly rejectUnauthorized?: boolean;
}

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** Exactly one of url, sentinels or cluster selects the mode. */
export interface RedisStoreConfig {
  /** `redis://[user:pass@]host[:port][/db]` or `rediss://` for TLS. */
  readonly url?: string;
  readonly sentinels?: readonly RedisNode[];
  /** Master group name; required with sentinels. */
  readonly sentinelName?: string;
  /** Credentials for the Sentinels themselves, when they differ from the master's. */
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  /** Seed nodes of a Redis Cluster. */
  readonly cluster?: readonly RedisNode[];
  /** Enables TLS (also implied by `rediss://`). */
  readonly tls?: RedisTlsOptions;
  /** ACL user; overrides the one in the url. */
  readonly username?: string;
  readonly password?: string;
  readonly keyPrefix?: string;
  /** Per-command timeout (default 500 ms). Operations reject within about this plus 400 ms. */
  readonly commandTimeoutMs?: number;
  /** TCP + handshake timeout per connection attempt (default 2 000 ms). */
  readonly connectTimeoutMs?: number;
  /** Upper bound of the background reconnect back-off (default 2 000 ms). */
  readonly maxReconnectDelayMs?: number;
  /** Told about state changes and connection errors (which carry no credentials); for logs and metrics. */
  readonly onStateChange?: (state: StoreState, error?: Error) => void;
}

/** What createStore accepts: Redis when `redis` is present, otherwise memory. */
export interface StoreConfig {
  readonly keyPrefix?: string;
  readonly redis?: RedisStoreConfig;
  readonly memory?: MemoryStoreOptions;
}
