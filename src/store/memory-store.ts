import { RateLimiterMemory } from 'rate-limiter-flexible';
import { StoreError, StoreFullError, StoreUnavailableError } from './errors.js';
import { keyLayout } from './keys.js';
import { adaptRateLimiter, checkRateLimiterOptions } from './rate-limiter.js';
import type { MemoryStoreOptions, RateLimiter, RateLimiterOptions, Store, StoreHealth, SwapInput, SwapResult } from './types.js';
import {
  DEFAULT_KEY_PREFIX,
  checkIndexes,
  checkKey,
  checkLimit,
  checkPositiveInteger,
  checkPrefix,
  checkTtl,
  checkValue,
} from './validate.js';

interface Entry {
  value: string;
  expiresAt: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_SWEEP_INTERVAL_MS = 30_000;

/**
 * The store for a single process without Redis. Expiry is checked on every read
 * and swept periodically; the number of live values plus index members is bounded,
 * so a flood of requests cannot grow the heap without limit — it gets StoreFullError.
 * All operations are synchronous underneath, hence trivially atomic.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly keyPrefix: string;
  readonly maxEntries: number;
  private readonly now: () => number;
  private readonly values = new Map<string, Entry>();
  /** index -> member -> expiresAt */
  private readonly indexes = new Map<string, Map<string, number>>();
  private indexMemberCount = 0;
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.keyPrefix = checkPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.maxEntries = checkPositiveInteger(options.maxEntries ?? DEFAULT_MAX_ENTRIES, 'maxEntries');
    this.now = options.now ?? Date.now;
    const interval = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (!Number.isInteger(interval) || interval < 0) {
      throw new StoreError('invalid_config', 'sweepIntervalMs must be a non-negative integer');
    }
    if (interval > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), interval);
      // The sweep must never keep the process alive on its own.
      this.sweepTimer.unref();
    }
  }

  /** Live values plus index members (expired ones not yet swept included). */
  get size(): number {
    return this.values.size + this.indexMemberCount;
  }

  async putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    if (this.liveValue(key) !== undefined) return false;
    this.reserve(1);
    this.values.set(key, { value, expiresAt: this.now() + ttlMs });
    return true;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    this.reserve(this.liveValue(key) === undefined ? 1 : 0);
    this.values.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  async get(key: string): Promise<string | null> {
    this.open();
    checkKey(key);
    return this.liveValue(key)?.value ?? null;
  }

  async take(key: string): Promise<string | null> {
    this.open();
    checkKey(key);
    const entry = this.liveValue(key);
    if (entry === undefined) return null;
    this.values.delete(key);
    return entry.value;
  }

  async delete(key: string): Promise<boolean> {
    this.open();
    checkKey(key);
    const existed = this.liveValue(key) !== undefined;
    this.values.delete(key);
    return existed;
  }

  async putWithIndexes(key: string, value: string, ttlMs: number, indexes: readonly string[]): Promise<void> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    checkIndexes(indexes);
    // Reserve everything up front so a full store leaves nothing half-written.
    const distinct = [...new Set(indexes)];
    const added = (this.liveValue(key) === undefined ? 1 : 0) + distinct.filter((i) => !this.hasLiveMember(i, key)).length;
    this.reserve(added);
    const expiresAt = this.now() + ttlMs;
    this.values.set(key, { value, expiresAt });
    for (const index of distinct) this.setMember(index, key, expiresAt);
  }

  async addToIndex(index: string, member: string, ttlMs: number): Promise<void> {
    this.open();
    checkKey(index, 'index');
    checkKey(member, 'member');
    checkTtl(ttlMs);
    this.reserve(this.hasLiveMember(index, member) ? 0 : 1);
    this.setMember(index, member, this.now() + ttlMs);
  }

  async indexMembers(index: string, limit?: number): Promise<string[]> {
    this.open();
    checkKey(index, 'index');
    const max = checkLimit(limit);
    const members = this.pruneIndex(index);
    if (members === undefined) return [];
    return [...members.entries()]
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, max)
      .map(([member]) => member);
  }

  async removeFromIndex(index: string, member: string): Promise<boolean> {
    this.open();
    checkKey(index, 'index');
    checkKey(member, 'member');
    const live = this.hasLiveMember(index, member);
    this.deleteMember(index, member);
    return live;
  }

  async swap(input: SwapInput): Promise<SwapResult> {
    this.open();
    for (const k of [input.from, input.tombstone, input.guard, input.to]) checkKey(k);
    checkValue(input.tombstoneValue);
    checkValue(input.value);
    checkTtl(input.ttlMs);
    checkIndexes(input.fromIndexes);
    checkIndexes(input.indexes);
    // No await below this line: the whole step happens in one turn of the event loop.
    if (this.liveValue(input.guard) !== undefined) return { outcome: 'guarded' };
    if (this.liveValue(input.from) === undefined) return { outcome: 'missing', tombstone: this.liveValue(input.tombstone)?.value ?? null };
    const distinct = [...new Set(input.indexes)];
    // `from` and its members are freed; reserve the rest up front so a full store changes nothing.
    const added =
      (this.liveValue(input.tombstone) === undefined ? 1 : 0) +
      (this.liveValue(input.to) === undefined ? 1 : 0) +
      distinct.filter((i) => !this.hasLiveMember(i, input.to)).length;
    const freed = 1 + input.fromIndexes.filter((i) => this.hasLiveMember(i, input.from)).length;
    this.reserve(Math.max(0, added - freed));
    this.values.delete(input.from);
    for (const index of input.fromIndexes) this.deleteMember(index, input.from);
    const expiresAt = this.now() + input.ttlMs;
    this.values.set(input.tombstone, { value: input.tombstoneValue, expiresAt });
    this.values.set(input.to, { value: input.value, expiresAt });
    for (const index of distinct) this.setMember(index, input.to, expiresAt);
    return { outcome: 'swapped' };
  }

  rateLimiter(options: RateLimiterOptions): RateLimiter {
    checkRateLimiterOptions(options);
    const limiter = new RateLimiterMemory({
      keyPrefix: keyLayout(this.keyPrefix).rateLimit(options.name),
      points: options.points,
      duration: options.durationSec,
      blockDuration: options.blockDurationSec ?? 0,
    });
    const adapted = adaptRateLimiter(limiter, (err) =>
      err instanceof StoreError ? err : new StoreError('command_failed', 'memory rate limiter failed', { cause: err }),
    );
    return {
      consume: (key, points) => (this.closed ? Promise.reject(this.closedError()) : adapted.consume(key, points)),
      reset: (key) => (this.closed ? Promise.reject(this.closedError()) : adapted.reset(key)),
    };
  }

  isReady(): boolean {
    return !this.closed;
  }

  async waitUntilReady(_timeoutMs: number): Promise<void> {
    this.open();
  }

  async ping(): Promise<number> {
    this.open();
    return 0;
  }

  async health(): Promise<StoreHealth> {
    if (this.closed) return { kind: 'memory', state: 'closed', ok: false, error: 'store is closed' };
    return { kind: 'memory', state: 'ready', ok: true, latencyMs: 0, entries: this.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.values.clear();
    this.indexes.clear();
    this.indexMemberCount = 0;
  }

  /** Drop every expired value and index member; runs on the timer and when the bound is hit. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.values) {
      if (entry.expiresAt <= now) this.values.delete(key);
    }
    for (const index of [...this.indexes.keys()]) this.pruneIndex(index, now);
  }

  private open(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): StoreUnavailableError {
    return new StoreUnavailableError('store is closed');
  }

  /** Make room for `count` new entries or throw StoreFullError. */
  private reserve(count: number): void {
    if (count === 0 || this.size + count <= this.maxEntries) return;
    this.sweep();
    if (this.size + count > this.maxEntries) throw new StoreFullError(this.maxEntries);
  }

  private liveValue(key: string): Entry | undefined {
    const entry = this.values.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return entry;
  }

  private hasLiveMember(index: string, member: string): boolean {
    const expiresAt = this.indexes.get(index)?.get(member);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.now()) {
      this.deleteMember(index, member);
      return false;
    }
    return true;
  }

  private setMember(index: string, member: string, expiresAt: number): void {
    let members = this.indexes.get(index);
    if (members === undefined) {
      members = new Map();
      this.indexes.set(index, members);
    }
    if (!members.has(member)) this.indexMemberCount += 1;
    members.set(member, expiresAt);
  }

  private deleteMember(index: string, member: string): void {
    const members = this.indexes.get(index);
    if (members === undefined || !members.delete(member)) return;
    this.indexMemberCount -= 1;
    if (members.size === 0) this.indexes.delete(index);
  }

  /** Remove expired members; returns the live members, or undefined when the index is gone. */
  private pruneIndex(index: string, now = this.now()): Map<string, number> | undefined {
    const members = this.indexes.get(index);
    if (members === undefined) return undefined;
    for (const [member, expiresAt] of members) {
      if (expiresAt <= now) {
        members.delete(member);
        this.indexMemberCount -= 1;
      }
    }
    if (members.size === 0) {
      this.indexes.delete(index);
      return undefined;
    }
    return members;
  }
}
