import { Cluster } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError, slotTag } from '../../../src/store/index.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { startRedisCluster } from '../../helpers/redis.js';
import type { RedisClusterHandle } from '../../helpers/redis.js';
import { describeStoreContract } from '../../unit/store/store-contract.js';

let cluster: RedisClusterHandle;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
});

afterAll(async () => {
  await cluster?.stop();
});

async function readyStore(keyPrefix: string): Promise<RedisStore> {
  const store = new RedisStore({ cluster: cluster.nodes, keyPrefix });
  await store.waitUntilReady(10_000);
  return store;
}

describeStoreContract('RedisStore (3-master Redis Cluster)', ({ keyPrefix }) => readyStore(keyPrefix));

describe('RedisStore in Cluster mode', () => {
  let raw: Cluster;
  let store: RedisStore;

  beforeAll(async () => {
    raw = new Cluster([...cluster.nodes]);
    store = await readyStore('cl:');
  });
  afterAll(async () => {
    await store.close();
    await raw.quit();
  });

  it('spreads keys over the masters, each with a TTL', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `spread-${i}`);
    await Promise.all(keys.map((k) => store.put(k, 'v', 60_000)));
    await store.putWithIndexes('rt', 'v', 60_000, ['sub:a', 'iss:b', 'rule:c']);
    await store.rateLimiter({ name: 'ip', points: 5, durationSec: 60 }).consume('10.0.0.1');
    const perNode = await Promise.all(raw.nodes('master').map((node) => node.keys('cl:*')));
    expect(perNode.filter((k) => k.length > 0).length).toBe(3);
    const all = perNode.flat();
    expect(all).toHaveLength(30 + 1 + 3 + 1);
    for (const key of all) expect(await raw.pttl(key), key).toBeGreaterThan(0);
  });

  it('keeps keys sharing a slot tag on one node', async () => {
    const tag = slotTag('subject-42');
    await store.putWithIndexes(`${tag}rt:1`, 'v', 60_000, [`${tag}all`, `${tag}rule:x`]);
    const holders = await Promise.all(
      raw.nodes('master').map(async (node) => (await node.keys('cl:*{subject-42}*')).length),
    );
    expect(holders.sort()).toEqual([0, 0, 3]);
  });

  // Last: it breaks the cluster for good.
  it('fails fast for keys on a crashed master while the others keep working', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `crash-${i}`);
    await Promise.all(keys.map((k) => store.put(k, 'v', 60_000)));
    await cluster.killNode(0);
    const outcomes = await Promise.all(
      keys.map(async (k) => {
        const started = performance.now();
        try {
          await store.get(k);
          return { ok: true, ms: performance.now() - started, error: undefined as unknown };
        } catch (error) {
          return { ok: false, ms: performance.now() - started, error };
        }
      }),
    );
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(outcomes.some((o) => o.ok)).toBe(true);
    for (const o of failed) expect(o.error).toBeInstanceOf(StoreUnavailableError);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(1_000);
  });
});
