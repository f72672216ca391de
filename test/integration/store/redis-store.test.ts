import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError, createStore } from '../../../src/store/index.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import type { Store, StoreState } from '../../../src/store/index.js';
import { startRedis } from '../../helpers/redis.js';
import type { RedisServer } from '../../helpers/redis.js';
import { describeStoreContract } from '../../unit/store/store-contract.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

async function readyStore(config: ConstructorParameters<typeof RedisStore>[0]): Promise<RedisStore> {
  const store = new RedisStore(config);
  await store.waitUntilReady(5_000);
  return store;
}

describeStoreContract('RedisStore (standalone redis-server)', ({ keyPrefix }) => readyStore({ url: server.url, keyPrefix }));

/** Time how long `op` takes to reject, and return the rejection. */
async function timedRejection(op: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await op().then(
    () => new Error('operation unexpectedly succeeded'),
    (e: unknown) => e,
  );
  return { ms: performance.now() - started, error };
}

describe('RedisStore on a real redis-server', () => {
  const opened: Store[] = [];
  let raw: Redis;

  beforeAll(() => {
    raw = new Redis(server.url, { lazyConnect: false });
  });
  afterAll(async () => {
    await raw.quit();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('namespaces every key under the prefix and gives every key a TTL', async () => {
    const store = await readyStore({ url: server.url, keyPrefix: 'ttlcheck:' });
    opened.push(store);
    await store.put('plain', 'v', 60_000);
    await store.putIfAbsent('nx', 'v', 60_000);
    await store.putWithIndexes('rt', 'v', 60_000, ['sub:a', 'iss:b']);
    await store.addToIndex('extra', 'm', 30_000);
    await store.rateLimiter({ name: 'ip', points: 5, durationSec: 60 }).consume('127.0.0.1');
    const keys = (await raw.keys('*')).filter((k) => k.startsWith('ttlcheck:'));
    expect(keys.sort()).toEqual(
      [
        'ttlcheck:i:extra',
        'ttlcheck:i:iss:b',
        'ttlcheck:i:sub:a',
        'ttlcheck:rl:ip:127.0.0.1',
        'ttlcheck:v:nx',
        'ttlcheck:v:plain',
        'ttlcheck:v:rt',
      ].sort(),
    );
    for (const key of keys) {
      const pttl = await raw.pttl(key);
      expect(pttl, key).toBeGreaterThan(0);
      expect(pttl, key).toBeLessThanOrEqual(60_000);
    }
    // An index lives as long as its longest member, no longer.
    expect(await raw.pttl('ttlcheck:i:extra')).toBeLessThanOrEqual(30_000);
  });

  it('shrinks an index TTL when its longest member is removed by expiry', async () => {
    const store = await readyStore({ url: server.url, keyPrefix: 'shrink:' });
    opened.push(store);
    await store.addToIndex('i', 'long', 200);
    await store.addToIndex('i', 'longer', 60_000);
    expect(await raw.pttl('shrink:i:i')).toBeGreaterThan(50_000);
    expect(await store.removeFromIndex('i', 'longer')).toBe(true);
    await store.addToIndex('i', 'short', 100);
    expect(await raw.pttl('shrink:i:i')).toBeLessThanOrEqual(200);
    await new Promise((r) => setTimeout(r, 400));
    expect(await raw.exists('shrink:i:i')).toBe(0);
  });

  it('authenticates with ACL credentials from the url or the config, and fails fast with wrong ones', async () => {
    const acl = await startRedis({
      users: [{ name: 'portcullis', password: 's3cret:with@chars' }],
      disableDefaultUser: true,
    });
    try {
      const encoded = encodeURIComponent('s3cret:with@chars');
      const viaUrl = await readyStore({ url: `redis://portcullis:${encoded}@127.0.0.1:${acl.port}` });
      opened.push(viaUrl);
      await viaUrl.put('k', 'from-url', 10_000);
      const viaConfig = await readyStore({ url: acl.url, username: 'portcullis', password: 's3cret:with@chars' });
      opened.push(viaConfig);
      expect(await viaConfig.get('k')).toBe('from-url');

      const wrong = new RedisStore({ url: acl.url, username: 'portcullis', password: 'nope' });
      opened.push(wrong);
      await expect(wrong.waitUntilReady(1_500)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(wrong.isReady()).toBe(false);
      const { ms, error } = await timedRejection(() => wrong.get('k'));
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(ms).toBeLessThan(1_000);
      // The passwordless default user is off.
      const anonymous = new RedisStore({ url: acl.url });
      opened.push(anonymous);
      await expect(anonymous.waitUntilReady(1_500)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await acl.stop();
    }
  });

  it('createStore builds a RedisStore from config', async () => {
    const store = await createStore({ keyPrefix: 'factory:', redis: { url: server.url } });
    opened.push(store);
    expect(store.kind).toBe('redis');
    await store.waitUntilReady(5_000);
    await store.put('k', 'v', 10_000);
    expect(await raw.get('factory:v:k')).toBe('v');
  });
});

describe('RedisStore when Redis dies and comes back', () => {
  let own: RedisServer;
  let store: RedisStore;
  const states: StoreState[] = [];

  beforeAll(async () => {
    own = await startRedis();
    store = new RedisStore({
      url: own.url,
      keyPrefix: 'failover:',
      maxReconnectDelayMs: 200,
      onStateChange: (state) => states.push(state),
    });
    await store.waitUntilReady(5_000);
  });
  afterAll(async () => {
    await store.close();
    await own.stop();
  });

  it('rejects every kind of operation with StoreUnavailableError in under a second, then recovers on the same object', async () => {
    await store.put('before', 'v', 60_000);
    const limiter = store.rateLimiter({ name: 'ip', points: 100, durationSec: 60 });
    expect((await limiter.consume('1.2.3.4')).allowed).toBe(true);

    await own.kill();
    const ops: [string, () => Promise<unknown>][] = [
      ['get', () => store.get('before')],
      ['put', () => store.put('k', 'v', 1_000)],
      ['putIfAbsent', () => store.putIfAbsent('k', 'v', 1_000)],
      ['take', () => store.take('before')],
      ['delete', () => store.delete('before')],
      ['putWithIndexes', () => store.putWithIndexes('k', 'v', 1_000, ['i'])],
      ['addToIndex', () => store.addToIndex('i', 'm', 1_000)],
      ['indexMembers', () => store.indexMembers('i')],
      ['removeFromIndex', () => store.removeFromIndex('i', 'm')],
      ['rateLimit', () => limiter.consume('1.2.3.4')],
      ['ping', () => store.ping()],
    ];
    for (const [name, op] of ops) {
      const { ms, error } = await timedRejection(op);
      expect(error, name).toBeInstanceOf(StoreUnavailableError);
      expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(1_000);
    }
    // Many callers at once while down: all fail fast, nothing queues up.
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => store.get(`k${i}`)));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(store.isReady()).toBe(false);
    const health = await store.health();
    expect(health.ok).toBe(false);
    expect(health.state).toBe('unavailable');

    await own.restart();
    await store.waitUntilReady(10_000);
    expect(store.isReady()).toBe(true);
    // The restarted server has no persistence: the old value is gone, and the same object works again.
    expect(await store.get('before')).toBeNull();
    await store.put('after', 'v2', 10_000);
    expect(await store.take('after')).toBe('v2');
    expect((await limiter.consume('1.2.3.4')).allowed).toBe(true);
    expect((await store.health()).ok).toBe(true);
    expect(states).toContain('unavailable');
    expect(states.at(-1)).toBe('ready');
  });

  it('gives up on a hung server (accepting but not answering) within the deadline', async () => {
    await store.put('k', 'v', 10_000);
    own.pause();
    try {
      for (const op of [() => store.get('k'), () => store.take('k'), () => store.indexMembers('i')]) {
        const { ms, error } = await timedRejection(op);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeLessThan(1_000);
      }
    } finally {
      own.resume();
    }
    await store.waitUntilReady(10_000);
    // Replies to the timed-out commands arrive late; they must not be matched to newer commands.
    await store.put('fresh', 'new', 10_000);
    expect(await store.get('fresh')).toBe('new');
    expect(await store.take('fresh')).toBe('new');
    expect(await store.get('fresh')).toBeNull();
  });

  it('fails fast when nothing listens at all', async () => {
    const dead = new RedisStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'dead:' });
    try {
      const { ms, error } = await timedRejection(() => dead.put('k', 'v', 1_000));
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(ms).toBeLessThan(1_000);
      await expect(dead.waitUntilReady(300)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await dead.close();
    }
  });
});
