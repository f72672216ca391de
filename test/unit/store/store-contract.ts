import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError, StoreUnavailableError, MAX_TTL_MS, slotTag } from '../../../src/store/index.js';
import type { Store } from '../../../src/store/index.js';

/**
 * The behaviour every Store must have, run against MemoryStore, RedisStore on a
 * real redis-server and RedisStore on a real Redis Cluster. `makeStore` must give
 * a ready store; each test gets fresh prefixes so runs on a shared server never collide.
 */
export type MakeStore = (options: { keyPrefix: string }) => Promise<Store>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let prefixCounter = 0;
function freshPrefix(): string {
  prefixCounter += 1;
  return `t${process.pid}-${Date.now().toString(36)}-${prefixCounter}:`;
}

async function expectStoreError(promise: Promise<unknown>, code: StoreError['code']): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
}

export function describeStoreContract(name: string, makeStore: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    const extra: Store[] = [];

    beforeEach(async () => {
      store = await makeStore({ keyPrefix: freshPrefix() });
    });

    afterEach(async () => {
      await store.close();
      await Promise.all(extra.splice(0).map((s) => s.close()));
    });

    it('is ready and answers ping and health', async () => {
      expect(store.isReady()).toBe(true);
      await store.waitUntilReady(1_000);
      expect(await store.ping()).toBeGreaterThanOrEqual(0);
      const health = await store.health();
      expect(health.ok).toBe(true);
      expect(health.state).toBe('ready');
      expect(health.kind).toBe(store.kind);
    });

    it('puts, gets, overwrites and deletes', async () => {
      expect(await store.get('k')).toBeNull();
      await store.put('k', 'v1', 10_000);
      expect(await store.get('k')).toBe('v1');
      await store.put('k', 'v2', 10_000);
      expect(await store.get('k')).toBe('v2');
      expect(await store.delete('k')).toBe(true);
      expect(await store.delete('k')).toBe(false);
      expect(await store.get('k')).toBeNull();
      await store.put('empty', '', 10_000);
      expect(await store.get('empty')).toBe('');
    });

    it('putIfAbsent: only the first writer wins and the value is kept', async () => {
      expect(await store.putIfAbsent('jti', 'first', 10_000)).toBe(true);
      expect(await store.putIfAbsent('jti', 'second', 10_000)).toBe(false);
      expect(await store.get('jti')).toBe('first');
    });

    it('putIfAbsent: of 50 concurrent attempts exactly one wins', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.putIfAbsent('race', `writer-${i}`, 10_000)),
      );
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(await store.get('race')).toBe(`writer-${winners[0]}`);
    });

    it('expires values after their TTL, and putIfAbsent succeeds again afterwards', async () => {
      expect(await store.putIfAbsent('short', 'x', 150)).toBe(true);
      await store.put('long', 'y', 10_000);
      expect(await store.get('short')).toBe('x');
      await sleep(400);
      expect(await store.get('short')).toBeNull();
      expect(await store.take('short')).toBeNull();
      expect(await store.delete('short')).toBe(false);
      expect(await store.get('long')).toBe('y');
      expect(await store.putIfAbsent('short', 'again', 10_000)).toBe(true);
    });

    it('put replaces the TTL too', async () => {
      await store.put('k', 'v', 10_000);
      await store.put('k', 'v', 150);
      await sleep(400);
      expect(await store.get('k')).toBeNull();
    });

    it('take returns the value once', async () => {
      await store.put('code', 'secret', 10_000);
      expect(await store.take('code')).toBe('secret');
      expect(await store.take('code')).toBeNull();
      expect(await store.get('code')).toBeNull();
    });

    it('take is single-use under concurrency: of 50 takers exactly one gets the value', async () => {
      await store.put('code', 'secret', 10_000);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.take('code')));
      expect(results.filter((r) => r !== null)).toEqual(['secret']);
    });

    it('requires a positive integer TTL within bounds on every write, and writes nothing otherwise', async () => {
      const bad: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_TTL_MS + 1, '1000', undefined, null];
      for (const ttl of bad) {
        const t = ttl as number;
        await expectStoreError(store.put('k', 'v', t), 'invalid_argument');
        await expectStoreError(store.putIfAbsent('k', 'v', t), 'invalid_argument');
        await expectStoreError(store.addToIndex('i', 'm', t), 'invalid_argument');
        await expectStoreError(store.putWithIndexes('k', 'v', t, ['i']), 'invalid_argument');
      }
      expect(await store.get('k')).toBeNull();
      expect(await store.indexMembers('i')).toEqual([]);
      // The largest allowed TTL is accepted.
      await store.put('max', 'v', MAX_TTL_MS);
      expect(await store.get('max')).toBe('v');
    });

    it('rejects empty or oversized keys and non-string values', async () => {
      await expectStoreError(store.put('', 'v', 1_000), 'invalid_argument');
      await expectStoreError(store.get('x'.repeat(1025)), 'invalid_argument');
      await expectStoreError(store.put('k', 42 as unknown as string, 1_000), 'invalid_argument');
      await expectStoreError(store.put('k', 'x'.repeat(65_537), 1_000), 'invalid_argument');
      await expectStoreError(store.addToIndex('i', '', 1_000), 'invalid_argument');
      await expectStoreError(store.indexMembers('i', 0), 'invalid_argument');
    });

    it('indexes: add, list soonest-expiring first, remove', async () => {
      await store.addToIndex('sub:alice', 'tok-c', 30_000);
      await store.addToIndex('sub:alice', 'tok-a', 10_000);
      await store.addToIndex('sub:alice', 'tok-b', 20_000);
      await store.addToIndex('sub:bob', 'tok-z', 10_000);
      expect(await store.indexMembers('sub:alice')).toEqual(['tok-a', 'tok-b', 'tok-c']);
      expect(await store.indexMembers('sub:alice', 2)).toEqual(['tok-a', 'tok-b']);
      expect(await store.removeFromIndex('sub:alice', 'tok-b')).toBe(true);
      expect(await store.removeFromIndex('sub:alice', 'tok-b')).toBe(false);
      expect(await store.indexMembers('sub:alice')).toEqual(['tok-a', 'tok-c']);
      expect(await store.indexMembers('sub:bob')).toEqual(['tok-z']);
      expect(await store.indexMembers('sub:nobody')).toEqual([]);
    });

    it('indexes: members expire on their own TTL; re-adding refreshes it', async () => {
      await store.addToIndex('iss', 'short', 150);
      await store.addToIndex('iss', 'refreshed', 150);
      await store.addToIndex('iss', 'long', 10_000);
      await store.addToIndex('iss', 'refreshed', 10_000);
      await sleep(400);
      expect(await store.indexMembers('iss')).toEqual(['long', 'refreshed']);
      expect(await store.removeFromIndex('iss', 'short')).toBe(false);
      await store.addToIndex('gone', 'm', 150);
      await sleep(400);
      expect(await store.indexMembers('gone')).toEqual([]);
    });

    it('putWithIndexes stores the value and lists the key in every index, all expiring together', async () => {
      await store.putWithIndexes('rt:1', 'record-1', 10_000, ['sub:alice', 'iss:ci', 'rule:deploy']);
      await store.putWithIndexes('rt:2', 'record-2', 150, ['sub:alice', 'iss:ci']);
      expect(await store.get('rt:1')).toBe('record-1');
      expect(await store.indexMembers('sub:alice')).toEqual(['rt:2', 'rt:1']);
      expect(await store.indexMembers('rule:deploy')).toEqual(['rt:1']);
      await sleep(400);
      expect(await store.get('rt:2')).toBeNull();
      expect(await store.indexMembers('sub:alice')).toEqual(['rt:1']);
      expect(await store.indexMembers('iss:ci')).toEqual(['rt:1']);
      // No indexes is a plain put.
      await store.putWithIndexes('plain', 'p', 10_000, []);
      expect(await store.get('plain')).toBe('p');
    });

    it('swap replaces a value and its index entries in one step, unless the guard exists', async () => {
      await store.putWithIndexes('rt:a', 'gen-0', 10_000, ['sess:1', 'sub:alice']);
      const step = (from: string, to: string, value: string) =>
        store.swap({ from, fromIndexes: ['sess:1', 'sub:alice'], tombstone: `tomb:${from}`, tombstoneValue: `was ${from}`, guard: 'revoked:1', to, value, indexes: ['sess:1', 'sub:alice'], ttlMs: 10_000 });
      expect(await step('rt:a', 'rt:b', 'gen-1')).toEqual({ outcome: 'swapped' });
      expect(await store.get('rt:a')).toBeNull();
      expect(await store.get('rt:b')).toBe('gen-1');
      expect(await store.get('tomb:rt:a')).toBe('was rt:a');
      expect(await store.indexMembers('sess:1')).toEqual(['rt:b']);
      expect(await store.indexMembers('sub:alice')).toEqual(['rt:b']);
      // The old key again: missing, with its tombstone; an unknown key: missing, no tombstone.
      expect(await step('rt:a', 'rt:c', 'gen-2')).toEqual({ outcome: 'missing', tombstone: 'was rt:a' });
      expect(await step('rt:zz', 'rt:c', 'gen-2')).toEqual({ outcome: 'missing', tombstone: null });
      // With the guard in place nothing changes.
      await store.put('revoked:1', '1', 10_000);
      expect(await step('rt:b', 'rt:c', 'gen-2')).toEqual({ outcome: 'guarded' });
      expect(await store.get('rt:b')).toBe('gen-1');
      expect(await store.get('rt:c')).toBeNull();
      expect(await store.indexMembers('sess:1')).toEqual(['rt:b']);
    });

    it('putWithIndexes with a shared slot tag (atomic in Cluster) behaves the same', async () => {
      const tag = slotTag('alice');
      await store.putWithIndexes(`${tag}rt:1`, 'r', 10_000, [`${tag}tokens`, `${tag}rule:x`]);
      expect(await store.get(`${tag}rt:1`)).toBe('r');
      expect(await store.indexMembers(`${tag}tokens`)).toEqual([`${tag}rt:1`]);
      expect(await store.indexMembers(`${tag}rule:x`)).toEqual([`${tag}rt:1`]);
    });

    it('keeps values and indexes of the same name apart', async () => {
      await store.put('same', 'value', 10_000);
      await store.addToIndex('same', 'member', 10_000);
      expect(await store.get('same')).toBe('value');
      expect(await store.indexMembers('same')).toEqual(['member']);
      expect(await store.delete('same')).toBe(true);
      expect(await store.indexMembers('same')).toEqual(['member']);
    });

    it('isolates stores with different key prefixes', async () => {
      const other = await makeStore({ keyPrefix: freshPrefix() });
      extra.push(other);
      await store.put('k', 'mine', 10_000);
      await other.put('k', 'theirs', 10_000);
      expect(await store.get('k')).toBe('mine');
      expect(await other.take('k')).toBe('theirs');
      expect(await store.get('k')).toBe('mine');
      expect(await other.putIfAbsent('k', 'theirs-again', 10_000)).toBe(true);
      await store.addToIndex('idx', 'a', 10_000);
      expect(await other.indexMembers('idx')).toEqual([]);
      const mineLimiter = store.rateLimiter({ name: 'iso', points: 1, durationSec: 10 });
      const theirLimiter = other.rateLimiter({ name: 'iso', points: 1, durationSec: 10 });
      expect((await mineLimiter.consume('ip')).allowed).toBe(true);
      expect((await theirLimiter.consume('ip')).allowed).toBe(true);
      expect((await mineLimiter.consume('ip')).allowed).toBe(false);
    });

    it('rate limiter: allows the points per window, then refuses with a retry time; keys are independent; reset clears', async () => {
      const limiter = store.rateLimiter({ name: 'issuer', points: 3, durationSec: 5 });
      const first = await limiter.consume('https://issuer.example');
      expect(first).toMatchObject({ allowed: true, remaining: 2 });
      expect((await limiter.consume('https://issuer.example')).allowed).toBe(true);
      expect((await limiter.consume('https://issuer.example')).remaining).toBe(0);
      const refused = await limiter.consume('https://issuer.example');
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(5_000);
      expect((await limiter.consume('other-key')).allowed).toBe(true);
      await limiter.reset('https://issuer.example');
      expect((await limiter.consume('https://issuer.example')).allowed).toBe(true);
      expect((await limiter.consume('other-key', 2)).remaining).toBe(0);
    });

    it('rate limiter: a window always expires and the options are checked', async () => {
      expect(() => store.rateLimiter({ name: 'x', points: 1, durationSec: 0 })).toThrow(StoreError);
      expect(() => store.rateLimiter({ name: 'x', points: 0, durationSec: 1 })).toThrow(StoreError);
      const limiter = store.rateLimiter({ name: 'window', points: 1, durationSec: 1 });
      expect((await limiter.consume('k')).allowed).toBe(true);
      expect((await limiter.consume('k')).allowed).toBe(false);
      await sleep(1_200);
      expect((await limiter.consume('k')).allowed).toBe(true);
    });

    it('rejects every operation with StoreUnavailableError once closed', async () => {
      const limiter = store.rateLimiter({ name: 'closed', points: 5, durationSec: 5 });
      await store.close();
      expect(store.isReady()).toBe(false);
      await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.put('k', 'v', 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.take('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.indexMembers('i')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(limiter.consume('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect((await store.health()).ok).toBe(false);
    });
  });
}
