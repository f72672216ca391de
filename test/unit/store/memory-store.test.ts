import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, StoreError, StoreFullError, createStore } from '../../../src/store/index.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('MemoryStore', async ({ keyPrefix }) => new MemoryStore({ keyPrefix }));

/** A store on a hand-driven clock, so expiry is exact and instant. */
function clocked(options: { maxEntries?: number; sweepIntervalMs?: number } = {}): {
  store: MemoryStore;
  advance: (ms: number) => void;
} {
  let now = 1_000_000;
  const store = new MemoryStore({ sweepIntervalMs: 0, ...options, now: () => now });
  return { store, advance: (ms) => (now += ms) };
}

describe('MemoryStore expiry on an injected clock', () => {
  it('expires exactly at the TTL, for values and index members', async () => {
    const { store, advance } = clocked();
    await store.put('k', 'v', 1_000);
    await store.addToIndex('i', 'm', 1_000);
    advance(999);
    expect(await store.get('k')).toBe('v');
    expect(await store.indexMembers('i')).toEqual(['m']);
    advance(1);
    expect(await store.get('k')).toBeNull();
    expect(await store.indexMembers('i')).toEqual([]);
    expect(store.size).toBe(0);
  });

  it('putIfAbsent treats an expired entry as absent', async () => {
    const { store, advance } = clocked();
    expect(await store.putIfAbsent('jti', 'a', 500)).toBe(true);
    advance(500);
    expect(await store.putIfAbsent('jti', 'b', 500)).toBe(true);
    expect(await store.get('jti')).toBe('b');
  });
});

describe('MemoryStore bound on entries', () => {
  it('refuses new entries beyond maxEntries with StoreFullError but still allows overwrites and deletes', async () => {
    const { store } = clocked({ maxEntries: 3 });
    await store.put('a', '1', 10_000);
    await store.put('b', '2', 10_000);
    await store.addToIndex('idx', 'a', 10_000);
    expect(store.size).toBe(3);
    const err = await store.put('c', '3', 10_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreFullError);
    expect((err as StoreError).code).toBe('full');
    await expect(store.putIfAbsent('c', '3', 10_000)).rejects.toBeInstanceOf(StoreFullError);
    await expect(store.addToIndex('idx', 'b', 10_000)).rejects.toBeInstanceOf(StoreFullError);
    // Replacing an existing entry does not grow the store.
    await store.put('a', 'updated', 10_000);
    await store.addToIndex('idx', 'a', 20_000);
    expect(await store.get('a')).toBe('updated');
    // putIfAbsent on an existing key is a plain "no", not an error.
    expect(await store.putIfAbsent('b', 'x', 10_000)).toBe(false);
    expect(await store.take('b')).toBe('2');
    await store.put('c', '3', 10_000);
    expect(await store.get('c')).toBe('3');
    expect(store.size).toBe(3);
  });

  it('reclaims expired entries before refusing', async () => {
    const { store, advance } = clocked({ maxEntries: 2 });
    await store.put('a', '1', 100);
    await store.addToIndex('i', 'm', 100);
    advance(100);
    await store.put('b', '2', 10_000);
    await store.put('c', '3', 10_000);
    expect(store.size).toBe(2);
  });

  it('putWithIndexes is all-or-nothing when the bound would be crossed', async () => {
    const { store } = clocked({ maxEntries: 3 });
    await store.put('x', '0', 10_000);
    await expect(store.putWithIndexes('k', 'v', 10_000, ['i1', 'i2', 'i3'])).rejects.toBeInstanceOf(StoreFullError);
    expect(await store.get('k')).toBeNull();
    expect(await store.indexMembers('i1')).toEqual([]);
    expect(store.size).toBe(1);
    await store.putWithIndexes('k', 'v', 10_000, ['i1', 'i1']);
    expect(store.size).toBe(3);
  });

  it('rejects a non-positive maxEntries and a bad prefix', () => {
    expect(() => new MemoryStore({ maxEntries: 0 })).toThrow(StoreError);
    expect(() => new MemoryStore({ keyPrefix: 'has{brace}' })).toThrow(StoreError);
    expect(() => new MemoryStore({ keyPrefix: '' })).toThrow(StoreError);
  });
});

describe('MemoryStore sweep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops expired entries on the timer without any read', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = 0;
    const store = new MemoryStore({ sweepIntervalMs: 1_000, now: () => now });
    await store.put('short', 'v', 500);
    await store.put('long', 'v', 5_000);
    await store.addToIndex('i', 'short', 500);
    await store.addToIndex('i', 'long', 5_000);
    expect(store.size).toBe(4);
    now = 600;
    expect(store.size).toBe(4);
    vi.advanceTimersByTime(1_000);
    expect(store.size).toBe(2);
    now = 6_000;
    vi.advanceTimersByTime(1_000);
    expect(store.size).toBe(0);
    await store.close();
    // Closing stops the timer.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not keep the process alive', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 1_000 });
    const timer = (store as unknown as { sweepTimer: NodeJS.Timeout }).sweepTimer;
    expect(timer.hasRef()).toBe(false);
    await store.close();
  });
});

describe('createStore', () => {
  it('gives a memory store without redis config, honouring the prefix', async () => {
    const store = await createStore({ keyPrefix: 'app:', memory: { maxEntries: 10 } });
    expect(store.kind).toBe('memory');
    expect(store.keyPrefix).toBe('app:');
    expect((store as MemoryStore).maxEntries).toBe(10);
    await store.close();
    const plain = await createStore();
    expect(plain.keyPrefix).toBe('portcullis:');
    await plain.close();
  });

  it('refuses an unusable redis config before connecting', async () => {
    const codeOf = async (fn: () => Promise<unknown>): Promise<string | undefined> => {
      try {
        await fn();
      } catch (e) {
        return e instanceof StoreError ? e.code : 'not-a-store-error';
      }
      return undefined;
    };
    expect(await codeOf(() => createStore({ redis: {} }))).toBe('invalid_config');
    expect(await codeOf(() => createStore({ redis: { url: 'redis://h', cluster: [{ host: 'h', port: 1 }] } }))).toBe(
      'invalid_config',
    );
    expect(await codeOf(() => createStore({ redis: { url: 'http://h:6379' } }))).toBe('invalid_config');
    expect(await codeOf(() => createStore({ redis: { url: 'redis://h:6379/not-a-db' } }))).toBe('invalid_config');
    expect(await codeOf(() => createStore({ redis: { sentinels: [{ host: 'h', port: 26379 }] } }))).toBe('invalid_config');
    expect(await codeOf(() => createStore({ redis: { cluster: [] } }))).toBe('invalid_config');
    expect(await codeOf(() => createStore({ redis: { url: 'redis://h', commandTimeoutMs: 0 } }))).toBe('invalid_config');
    expect(await codeOf(() => createStore({ redis: { url: 'redis://h', keyPrefix: '{tag}' } }))).toBe('invalid_config');
  });

  it('does not echo a password from a malformed url', async () => {
    let caught: unknown;
    try {
      await createStore({ redis: { url: 'redis://user:hunter2@[bad' } });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(StoreError);
    expect((caught as StoreError).code).toBe('invalid_config');
    expect((caught as StoreError).message).not.toContain('hunter2');
  });
});

describe('MemoryStore at saturation', () => {
  /** A full store of `n` live single-use-style markers; returns how many expiry checks 100 refused writes cost. */
  async function refusalCost(n: number): Promise<number> {
    const { store } = clocked({ maxEntries: n });
    // Varied TTLs so the heap is not trivially ordered.
    for (let i = 0; i < n; i += 1) await store.putIfAbsent(`jti-${i}`, 'u', 60_000 + ((i * 7919) % 3_600_000));
    expect(store.size).toBe(n);
    const before = store.expiryChecks;
    for (let i = 0; i < 100; i += 1) {
      await expect(store.putIfAbsent(`new-${i}`, 'u', 60_000)).rejects.toBeInstanceOf(StoreFullError);
    }
    await store.close();
    return store.expiryChecks - before;
  }

  it('refuses a write to a full store after one expiry check, however many entries it holds', async () => {
    const small = await refusalCost(1_000);
    const large = await refusalCost(100_000);
    expect(small).toBe(100);
    expect(large).toBe(small);
  });

  it('reclaims only as many expired entries as the write needs, soonest first', async () => {
    const { store, advance } = clocked({ maxEntries: 10_000 });
    for (let i = 0; i < 10_000; i += 1) await store.put(`k${i}`, 'v', 1_000 + i);
    advance(1_000 + 5_000); // k0..k5000 have expired
    const before = store.expiryChecks;
    await store.put('fresh', 'v', 60_000);
    // One expired entry left to make room for one; the other 5,000 stay for the sweep.
    expect(store.expiryChecks - before).toBe(1);
    expect(store.size).toBe(10_000);
    expect(await store.get('k5001')).toBe('v');
    expect(store.sweep()).toBe(5_000);
    expect(store.size).toBe(5_000);
  });

  it('the timer sweeps a mass expiry in slices, one per event-loop turn', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'] });
    try {
      let now = 0;
      const store = new MemoryStore({ sweepIntervalMs: 1_000, now: () => now, maxEntries: 20_000 });
      for (let i = 0; i < 5_000; i += 1) await store.put(`k${i}`, 'v', 100);
      now = 200;
      vi.advanceTimersToNextTimer(); // the interval: first slice of 2,000
      expect(store.size).toBe(3_000);
      vi.advanceTimersToNextTimer(); // next turn: the second slice
      expect(store.size).toBe(1_000);
      vi.advanceTimersToNextTimer(); // the rest; nothing left to schedule
      expect(store.size).toBe(0);
      await store.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
