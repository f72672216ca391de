import { RateLimiterMemory } from 'rate-limiter-flexible';
import { StoreError, StoreFullError, StoreUnavailableError } from './errors.js';
import { ExpiryHeap, type HeapItem } from './expiry-heap.js';
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
  checkSwapInput,
  checkTtl,
  checkValue,
} from './validate.js';

/** A stored value; also its own item in the expiry heap. */
interface Entry extends HeapItem {
  readonly kind: 'value';
  readonly key: string;
  value: string;
}

/** An index member; also its own item in the expiry heap. */
interface Member extends HeapItem {
  readonly kind: 'member';
  readonly index: string;
  readonly member: string;
}

const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_SWEEP_INTERVAL_MS = 30_000;
/** Expired entries the background sweep removes per event-loop turn, so it never stalls requests. */
const SWEEP_SLICE = 2_000;

/**
 * The store for a single process without Redis. The number of live values plus index members
 * is bounded, so a flood of requests cannot grow the heap without limit: it gets StoreFullError.
 *
 * Every value and index member sits in one min-heap ordered by expiry. Expired entries leave
 * from the top of that heap (on the background timer, in slices, and when a write needs room),
 * so no operation ever scans the whole store: a write to a full store with nothing expired is
 * refused after one comparison, and reclaiming room costs O(log n) per entry reclaimed. Reads
 * still treat an entry past its TTL as gone whether or not it was removed yet.
 * All operations are synchronous underneath, hence trivially atomic.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly keyPrefix: string;
  readonly maxEntries: number;
  private readonly now: () => number;
  private readonly values = new Map<string, Entry>();
  /** index -> member -> its heap item */
  private readonly indexes = new Map<string, Map<string, Member>>();
  private readonly expiry = new ExpiryHeap<Entry | Member>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private sweepPending: NodeJS.Immediate | undefined;
  private examined = 0;
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
      this.sweepTimer = setInterval(() => this.sweepInSlices(), interval);
      // The sweep must never keep the process alive on its own.
      this.sweepTimer.unref();
    }
  }

  /** Live values plus index members (expired ones not yet removed included). */
  get size(): number {
    return this.expiry.size;
  }

  /**
   * How many entries' expiry times the store has looked at to reclaim room or sweep, since it
   * was created. For tests and diagnostics: refusing a write when full must not make it grow
   * with the number of entries.
   */
  get expiryChecks(): number {
    return this.examined;
  }

  async putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    if (this.liveValue(key) !== undefined) return false;
    this.reserve(1);
    this.setValue(key, value, this.now() + ttlMs);
    return true;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    this.reserve(this.liveValue(key) === undefined ? 1 : 0);
    this.setValue(key, value, this.now() + ttlMs);
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
    this.dropValue(entry);
    return entry.value;
  }

  async delete(key: string): Promise<boolean> {
    this.open();
    checkKey(key);
    const entry = this.liveValue(key);
    if (entry === undefined) return false;
    this.dropValue(entry);
    return true;
  }

  async putWithIndexes(key: string, value: string, ttlMs: number, indexes: readonly string[]): Promise<void> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    checkIndexes(indexes);
    // Reserve everything up front so a full store leaves nothing half-written.
    const distinct = [...new Set(indexes)];
    const added = (this.liveValue(key) === undefined ? 1 : 0) + distinct.filter((i) => this.liveMember(i, key) === undefined).length;
    this.reserve(added);
    const expiresAt = this.now() + ttlMs;
    this.setValue(key, value, expiresAt);
    for (const index of distinct) this.setMember(index, key, expiresAt);
  }

  async addToIndex(index: string, member: string, ttlMs: number): Promise<void> {
    this.open();
    checkKey(index, 'index');
    checkKey(member, 'member');
    checkTtl(ttlMs);
    this.reserve(this.liveMember(index, member) === undefined ? 1 : 0);
    this.setMember(index, member, this.now() + ttlMs);
  }

  async indexMembers(index: string, limit?: number): Promise<string[]> {
    this.open();
    checkKey(index, 'index');
    const max = checkLimit(limit);
    const members = this.indexes.get(index);
    if (members === undefined) return [];
    const now = this.now();
    const live: Member[] = [];
    // Reading the index already visits every member: drop the expired ones on the way.
    for (const m of [...members.values()]) {
      if (m.expiresAt > now) live.push(m);
      else this.dropMember(m);
    }
    return live
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
      .slice(0, max)
      .map((m) => m.member);
  }

  async removeFromIndex(index: string, member: string): Promise<boolean> {
    this.open();
    checkKey(index, 'index');
    checkKey(member, 'member');
    const item = this.liveMember(index, member);
    if (item === undefined) return false;
    this.dropMember(item);
    return true;
  }

  async swap(input: SwapInput): Promise<SwapResult> {
    this.open();
    checkSwapInput(input);
    // No await below this line: the whole step happens in one turn of the event loop.
    if (this.liveValue(input.guard) !== undefined) return { outcome: 'guarded' };
    if (this.liveValue(input.from) === undefined) return { outcome: 'missing', tombstone: this.liveValue(input.tombstone)?.value ?? null };
    const distinct = [...new Set(input.indexes)];
    // `from` and its members are freed; reserve the rest up front so a full store changes nothing.
    const from = this.liveValue(input.from) as NonNullable<ReturnType<MemoryStore['liveValue']>>;
    const fromMembers = input.fromIndexes.map((i) => this.liveMember(i, input.from)).filter((m) => m !== undefined);
    const added =
      (this.liveValue(input.tombstone) === undefined ? 1 : 0) +
      (this.liveValue(input.to) === undefined ? 1 : 0) +
      distinct.filter((i) => this.liveMember(i, input.to) === undefined).length;
    this.reserve(Math.max(0, added - 1 - fromMembers.length));
    this.dropValue(from);
    for (const member of fromMembers) this.dropMember(member);
    const expiresAt = this.now() + input.ttlMs;
    this.setValue(input.tombstone, input.tombstoneValue, expiresAt);
    this.setValue(input.to, input.value, expiresAt);
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
    if (this.sweepPending !== undefined) clearImmediate(this.sweepPending);
    this.values.clear();
    this.indexes.clear();
    this.expiry.clear();
  }

  /** Remove every expired value and index member now; returns how many left. */
  sweep(): number {
    return this.evictExpired(this.now(), Infinity);
  }

  /** The timer's sweep: a slice per event-loop turn, so a mass expiry never blocks requests for long. */
  private sweepInSlices(): void {
    if (this.closed || this.sweepPending !== undefined) return;
    const removed = this.evictExpired(this.now(), SWEEP_SLICE);
    if (removed < SWEEP_SLICE) return;
    this.sweepPending = setImmediate(() => {
      this.sweepPending = undefined;
      this.sweepInSlices();
    });
  }

  /** Pops expired entries off the top of the heap, at most `limit`; returns how many. */
  private evictExpired(now: number, limit: number): number {
    let removed = 0;
    while (removed < limit) {
      const top = this.expiry.peek();
      if (top === undefined) break;
      this.examined += 1;
      if (top.expiresAt > now) break;
      if (top.kind === 'value') this.dropValue(top);
      else this.dropMember(top);
      removed += 1;
    }
    return removed;
  }

  private open(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): StoreUnavailableError {
    return new StoreUnavailableError('store is closed');
  }

  /**
   * Make room for `count` new entries or throw StoreFullError. Only entries that have expired
   * leave, soonest first, and only as many as needed (each in O(log n)): when the store is full of
   * live entries the refusal costs one look at the top of the heap.
   */
  private reserve(count: number): void {
    if (count === 0) return;
    const over = this.size + count - this.maxEntries;
    if (over <= 0) return;
    if (this.evictExpired(this.now(), over) < over) throw new StoreFullError(this.maxEntries);
  }

  private liveValue(key: string): Entry | undefined {
    const entry = this.values.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.dropValue(entry);
      return undefined;
    }
    return entry;
  }

  private setValue(key: string, value: string, expiresAt: number): void {
    const entry = this.values.get(key);
    if (entry === undefined) {
      const created: Entry = { kind: 'value', key, value, expiresAt, heapIndex: -1 };
      this.values.set(key, created);
      this.expiry.push(created);
      return;
    }
    entry.value = value;
    this.expiry.retime(entry, expiresAt);
  }

  private dropValue(entry: Entry): void {
    this.values.delete(entry.key);
    this.expiry.remove(entry);
  }

  private liveMember(index: string, member: string): Member | undefined {
    const item = this.indexes.get(index)?.get(member);
    if (item === undefined) return undefined;
    if (item.expiresAt <= this.now()) {
      this.dropMember(item);
      return undefined;
    }
    return item;
  }

  private setMember(index: string, member: string, expiresAt: number): void {
    let members = this.indexes.get(index);
    if (members === undefined) {
      members = new Map();
      this.indexes.set(index, members);
    }
    const item = members.get(member);
    if (item === undefined) {
      const created: Member = { kind: 'member', index, member, expiresAt, heapIndex: -1 };
      members.set(member, created);
      this.expiry.push(created);
      return;
    }
    this.expiry.retime(item, expiresAt);
  }

  private dropMember(item: Member): void {
    const members = this.indexes.get(item.index);
    if (members !== undefined && members.get(item.member) === item) {
      members.delete(item.member);
      if (members.size === 0) this.indexes.delete(item.index);
    }
    this.expiry.remove(item);
  }
}
