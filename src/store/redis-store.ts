import { Deadlines } from './deadlines.js';
import { performance } from 'node:perf_hooks';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { StoreError, StoreUnavailableError } from './errors.js';
import { keyLayout } from './keys.js';
import type { KeyLayout } from './keys.js';
import { adaptRateLimiter, checkRateLimiterOptions } from './rate-limiter.js';
import { Redis } from 'ioredis';
import { createRedisClient } from './redis-client.js';
import { WriteCoalescer } from './write-coalescer.js';
import type { RedisClient, RedisMode } from './redis-client.js';
import { INDEX_ADD, INDEX_MEMBERS, PUT_WITH_INDEXES, SWAP, TAKE } from './redis-scripts.js';
import type {
  RateLimiter,
  RateLimiterOptions,
  RedisStoreConfig,
  Store,
  StoreHealth,
  StoreState,
  SwapInput,
  SwapResult,
} from './types.js';
import {
  DEFAULT_KEY_PREFIX,
  checkIndexes,
  checkKey,
  checkLimit,
  checkPrefix,
  checkSwapInput,
  checkTtl,
  checkValue,
  hashedPart,
} from './validate.js';

/** The Lua commands registered with defineCommand (ioredis adds them at run time). */
interface ScriptCommands {
  portcullisTake(key: string): Promise<unknown>;
  portcullisIndexAdd(index: string, member: string, ttlMs: number): Promise<unknown>;
  portcullisIndexMembers(index: string, limit: number): Promise<unknown>;
  /** Variable key count: numKeys first, then keys, then ARGV. */
  portcullisPutWithIndexes(numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  portcullisSwap(numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Extra time over the command timeout before the store gives up on an operation itself. */
const DEADLINE_SLACK_MS = 400;

// Redis replies that mean "not now" rather than "you asked wrongly".
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS|READONLY|BUSY|NOREPLICAS|MOVED|ASK)\b/;

/**
 * The store shared by broker replicas: standalone Redis, Sentinel or Cluster via
 * ioredis. Every operation is bounded by a deadline (commandTimeoutMs + 400 ms) on
 * top of ioredis' own fail-fast settings, so a dead or hung Redis costs callers at
 * most about a second and never a queue of waiting requests.
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly keyPrefix: string;
  readonly mode: RedisMode;
  private readonly client: RedisClient;
  private readonly scripts: ScriptCommands;
  private readonly keys: KeyLayout;
  private readonly deadlineMs: number;
  /** One connection (standalone, Sentinel): concurrent commands share a socket write. */
  private readonly coalescer: WriteCoalescer | undefined;
  private readonly onStateChange: RedisStoreConfig['onStateChange'];
  private closed = false;
  private lastError: Error | undefined;
  private notified: { state: StoreState; error?: string } | undefined;

  constructor(config: RedisStoreConfig) {
    this.keyPrefix = checkPrefix(config.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.keys = keyLayout(this.keyPrefix);
    const { client, mode } = createRedisClient(config);
    this.client = client;
    this.mode = mode;
    this.coalescer = client instanceof Redis ? new WriteCoalescer(() => (client.status === 'ready' ? client.stream : undefined)) : undefined;
    this.deadlineMs = (config.commandTimeoutMs ?? 500) + DEADLINE_SLACK_MS;
    this.onStateChange = config.onStateChange;

    client.defineCommand('portcullisTake', { numberOfKeys: 1, lua: TAKE });
    client.defineCommand('portcullisIndexAdd', { numberOfKeys: 1, lua: INDEX_ADD });
    client.defineCommand('portcullisIndexMembers', { numberOfKeys: 1, lua: INDEX_MEMBERS });
    client.defineCommand('portcullisPutWithIndexes', { lua: PUT_WITH_INDEXES });
    client.defineCommand('portcullisSwap', { lua: SWAP });
    this.scripts = client as unknown as ScriptCommands;

    // Without an 'error' listener ioredis reports every failed reconnect as unhandled.
    client.on('error', (err: unknown) => {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.notify();
    });
    client.on('ready', () => {
      this.lastError = undefined;
    });
    for (const event of ['connect', 'ready', 'close', 'reconnecting', 'end']) {
      client.on(event, () => this.notify());
    }
  }

  state(): StoreState {
    if (this.closed) return 'closed';
    switch (this.client.status) {
      case 'ready':
        return 'ready';
      case 'wait':
      case 'connecting':
      case 'connect':
        return this.lastError === undefined ? 'connecting' : 'unavailable';
      default:
        return 'unavailable';
    }
  }

  async putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    const reply = await this.run('putIfAbsent', () => this.client.set(this.keys.value(key), value, 'PX', ttlMs, 'NX'));
    return reply === 'OK';
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    await this.run('put', () => this.client.set(this.keys.value(key), value, 'PX', ttlMs));
  }

  async get(key: string): Promise<string | null> {
    checkKey(key);
    return this.run('get', () => this.client.get(this.keys.value(key)));
  }

  async take(key: string): Promise<string | null> {
    checkKey(key);
    const reply = await this.run('take', () => this.scripts.portcullisTake(this.keys.value(key)));
    return stringOrNull(reply);
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    const removed = await this.run('delete', () => this.client.del(this.keys.value(key)));
    return removed > 0;
  }

  async putWithIndexes(key: string, value: string, ttlMs: number, indexes: readonly string[]): Promise<void> {
    checkKey(key);
    checkValue(value);
    checkTtl(ttlMs);
    checkIndexes(indexes);
    const valueKey = this.keys.value(key);
    const indexKeys = [...new Set(indexes)].map((i) => this.keys.index(i));
    const all = [valueKey, ...indexKeys];
    const slot = hashedPart(valueKey);
    if (this.mode !== 'cluster' || all.every((k) => hashedPart(k) === slot)) {
      await this.run('putWithIndexes', () =>
        this.scripts.portcullisPutWithIndexes(all.length, ...all, value, ttlMs, key),
      );
      return;
    }
    // Keys in different Cluster slots cannot change in one step: indexes first, so the
    // value is never stored without being findable (and revocable) through them.
    await this.run('putWithIndexes', async () => {
      await Promise.all(indexKeys.map((k) => this.scripts.portcullisIndexAdd(k, key, ttlMs)));
      await this.client.set(valueKey, value, 'PX', ttlMs);
    });
  }

  async addToIndex(index: string, member: string, ttlMs: number): Promise<void> {
    checkKey(index, 'index');
    checkKey(member, 'member');
    checkTtl(ttlMs);
    await this.run('addToIndex', () => this.scripts.portcullisIndexAdd(this.keys.index(index), member, ttlMs));
  }

  async indexMembers(index: string, limit?: number): Promise<string[]> {
    checkKey(index, 'index');
    const max = checkLimit(limit);
    const reply = await this.run('indexMembers', () => this.scripts.portcullisIndexMembers(this.keys.index(index), max));
    if (!Array.isArray(reply) || !reply.every((m): m is string => typeof m === 'string')) {
      throw new StoreError('command_failed', 'redis returned an unexpected reply to indexMembers');
    }
    return reply;
  }

  async removeFromIndex(index: string, member: string): Promise<boolean> {
    checkKey(index, 'index');
    checkKey(member, 'member');
    const removed = await this.run('removeFromIndex', () => this.client.zrem(this.keys.index(index), member));
    return removed > 0;
  }

  async swap(input: SwapInput): Promise<SwapResult> {
    checkSwapInput(input);
    const fromIndexes = [...new Set(input.fromIndexes)].map((i) => this.keys.index(i));
    const toIndexes = [...new Set(input.indexes)].map((i) => this.keys.index(i));
    const fixed = [input.guard, input.from, input.tombstone, input.to].map((k) => this.keys.value(k));
    const all = [...fixed, ...fromIndexes, ...toIndexes];
    const slot = hashedPart(all[0] as string);
    if (this.mode !== 'cluster' || all.every((k) => hashedPart(k) === slot)) {
      const reply = await this.run('swap', () =>
        this.scripts.portcullisSwap(all.length, ...all, fromIndexes.length, input.tombstoneValue, input.value, input.ttlMs, input.from, input.to),
      );
      return swapResult(reply);
    }
    return this.run('swap', () => this.swapAcrossSlots(input, fixed as [string, string, string, string], fromIndexes, toIndexes));
  }

  /**
   * Cluster keys in different slots: the same outcome in steps. The new value (indexes
   * first) is written before the guard is read again; a revocation writes the guard
   * before listing the indexes, so it either finds the new value or this step sees the
   * guard and deletes the value itself.
   */
  private async swapAcrossSlots(input: SwapInput, keys: [string, string, string, string], fromIndexes: string[], toIndexes: string[]): Promise<SwapResult> {
    const [guard, from, tombstone, to] = keys;
    if ((await this.client.exists(guard)) === 1) return { outcome: 'guarded' };
    if ((await this.client.exists(from)) === 0) return { outcome: 'missing', tombstone: stringOrNull(await this.client.get(tombstone)) };
    // The tombstone before the take: a concurrent use of the same `from` that loses the
    // take must find it, as it would after the one-step script.
    await this.client.set(tombstone, input.tombstoneValue, 'PX', input.ttlMs);
    const taken = await this.scripts.portcullisTake(from);
    if (taken === null) return { outcome: 'missing', tombstone: stringOrNull(await this.client.get(tombstone)) };
    await Promise.all(fromIndexes.map((k) => this.client.zrem(k, input.from)));
    await Promise.all(toIndexes.map((k) => this.scripts.portcullisIndexAdd(k, input.to, input.ttlMs)));
    await this.client.set(to, input.value, 'PX', input.ttlMs);
    if ((await this.client.exists(guard)) === 1) {
      await this.client.del(to);
      return { outcome: 'guarded' };
    }
    return { outcome: 'swapped' };
  }

  rateLimiter(options: RateLimiterOptions): RateLimiter {
    checkRateLimiterOptions(options);
    const limiter = new RateLimiterRedis({
      storeClient: this.client,
      keyPrefix: this.keys.rateLimit(options.name),
      points: options.points,
      duration: options.durationSec,
      blockDuration: options.blockDurationSec ?? 0,
      // Refuse at once while disconnected instead of sending into a dead socket.
      rejectIfRedisNotReady: true,
    });
    const adapted = adaptRateLimiter(limiter, (err) => this.mapError(err, 'rateLimit'));
    return {
      consume: (key, points) => this.run('rateLimit', () => adapted.consume(key, points)),
      reset: (key) => this.run('rateLimitReset', () => adapted.reset(key)),
    };
  }

  isReady(): boolean {
    return !this.closed && this.client.status === 'ready';
  }

  async waitUntilReady(timeoutMs: number): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('store is closed');
    if (this.isReady()) return;
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        const why = this.lastError === undefined ? '' : `: ${this.lastError.message}`;
        reject(new StoreUnavailableError(`redis not ready after ${timeoutMs} ms${why}`, { cause: this.lastError }));
      }, timeoutMs);
      this.client.once('ready', onReady);
    });
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.run('ping', () => this.client.ping());
    return Math.round((performance.now() - started) * 100) / 100;
  }

  async health(): Promise<StoreHealth> {
    try {
      const latencyMs = await this.ping();
      return { kind: 'redis', state: this.state(), ok: true, latencyMs };
    } catch (err) {
      return { kind: 'redis', state: this.state(), ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === 'ready') {
      try {
        await withDeadline(this.client.quit(), this.deadlineMs, 'quit');
      } catch {
        // Closing anyway: disconnect below drops the socket and stops reconnecting.
      }
    }
    this.client.disconnect();
    this.notify();
  }

  /** Run one backend operation under the deadline, translating every failure into a StoreError. */
  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('store is closed');
    this.coalescer?.hold();
    try {
      return await withDeadline(fn(), this.deadlineMs, op);
    } catch (err) {
      throw this.mapError(err, op);
    }
  }

  private mapError(err: unknown, op: string): StoreError {
    if (err instanceof StoreError) return err;
    if (err instanceof Error && err.name === 'ReplyError' && !UNAVAILABLE_REPLY.test(err.message)) {
      return new StoreError('command_failed', `redis ${op} failed: ${err.message}`, { cause: err });
    }
    const message = err instanceof Error ? err.message : String(err);
    return new StoreUnavailableError(`redis ${op} failed: ${message}`, { cause: err });
  }

  private notify(): void {
    if (this.onStateChange === undefined) return;
    const state = this.state();
    const error = state === 'ready' || state === 'closed' ? undefined : this.lastError;
    // One report per change, not one per reconnect attempt.
    if (this.notified?.state === state && this.notified.error === error?.message) return;
    this.notified = { state, error: error?.message };
    try {
      this.onStateChange(state, error);
    } catch {
      // A faulty listener must not break the client's event loop.
    }
  }
}

function swapResult(reply: unknown): SwapResult {
  if (Array.isArray(reply)) {
    if (reply[0] === 'swapped') return { outcome: 'swapped' };
    if (reply[0] === 'guarded') return { outcome: 'guarded' };
    if (reply[0] === 'missing') return { outcome: 'missing', tombstone: stringOrNull(reply[1] ?? null) };
  }
  throw new StoreError('command_failed', 'redis returned an unexpected reply to swap');
}

function stringOrNull(reply: unknown): string | null {
  if (reply === null || typeof reply === 'string') return reply;
  throw new StoreError('command_failed', 'redis returned an unexpected reply');
}

const deadlines = new Deadlines();

/** Reject with StoreUnavailableError if `promise` has not settled within `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number, op: string): Promise<T> {
  return deadlines.race(promise, ms, () => new StoreUnavailableError(`redis did not answer ${op} within ${ms} ms`));
}
