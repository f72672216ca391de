/**
 * Revocation against refresh-token rotation, raced hundreds of times on the memory
 * store, on a real redis-server and on a real Redis Cluster: a client refreshing in a tight loop while an
 * operator revokes its session must never hold a working token once the revocation
 * has returned, and an old token coming back concurrently with the new one must end
 * the session (reuse detection) whichever request wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../../src/identity/types.js';
import { MemoryStore, createStore, type Store } from '../../../src/store/index.js';
import {
  DEFAULT_ID_TOKENS,
  DEFAULT_RATE_LIMITS,
  DEFAULT_REFRESH,
  SessionError,
  SessionService,
  type SessionFilter,
} from '../../../src/sessions/index.js';
import { startRedis, startRedisCluster, type RedisClusterHandle, type RedisServer } from '../../helpers/redis.js';

const SERVICE = 'reg';
const TRIALS = 300;

let redis: RedisServer;
let cluster: RedisClusterHandle;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster(3)]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

function identity(n: number): Identity {
  return {
    issuer: 'https://issuer.test',
    issuerId: 'test',
    subject: `repo:octo/app-${n}`,
    claims: { repository: `octo/app-${n}` },
    tokenHash: 'h'.repeat(43),
    expiresAt: Math.floor(Date.now() / 1000) + 300,
  };
}

function service(store: Store): SessionService {
  return new SessionService({
    store,
    refresh: { ...DEFAULT_REFRESH, rotate: true },
    idTokens: DEFAULT_ID_TOKENS,
    rateLimits: { ...DEFAULT_RATE_LIMITS, enabled: false },
  });
}

const stores: [string, () => Promise<Store>][] = [
  ['memory', async () => new MemoryStore({ sweepIntervalMs: 0, maxEntries: 1_000_000 })],
  ['redis', async () => createStore({ redis: { url: redis.url, keyPrefix: `race${Date.now().toString(36)}:` } })],
  // Keys in different slots: the swap runs as write-then-recheck instead of one script.
  ['redis cluster', async () => createStore({ redis: { cluster: cluster.nodes, keyPrefix: `race${Date.now().toString(36)}:` } })],
];

/** Resolves after `n` microtask hops, so the two sides interleave at different points. */
const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i += 1) await Promise.resolve();
};

async function works(sessions: SessionService, token: string): Promise<boolean> {
  try {
    await sessions.refresh(token, SERVICE);
    return true;
  } catch (err) {
    if (err instanceof SessionError) return false;
    throw err;
  }
}

describe.each(stores)('refresh rotation against revocation (%s store)', (_name, open) => {
  let store: Store;
  let sessions: SessionService;
  beforeAll(async () => {
    store = await open();
    await store.waitUntilReady(10_000);
    sessions = service(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  it(`revocation wins every one of ${TRIALS} races with a client refreshing in a loop`, async () => {
    const filters: ((id: string, n: number) => SessionFilter)[] = [
      (id) => ({ id }),
      (_id, n) => ({ subject: identity(n).subject }),
      (_id, n) => ({ issuer: 'https://issuer.test', subject: identity(n).subject }),
    ];
    let survivors = 0;
    let revokedNothing = 0;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const opened = await sessions.start({ identity: identity(trial), service: SERVICE, origin: 'login', rules: ['r'] });
      let token = opened.token;
      let revoked = false;
      let usedAfterRevoke = false;
      const client = (async () => {
        for (let i = 0; i < 200; i += 1) {
          const startedAfterRevoke = revoked;
          try {
            token = (await sessions.refresh(token, SERVICE)).token;
          } catch (err) {
            if (err instanceof SessionError) return;
            throw err;
          }
          if (startedAfterRevoke) usedAfterRevoke = true;
        }
      })();
      await turns((trial * 7) % 23);
      const filter = (filters[trial % filters.length] as (id: string, n: number) => SessionFilter)(opened.session.id, trial);
      const count = await sessions.revoke(filter);
      revoked = true;
      await client;
      if (count === 0) revokedNothing += 1;
      if (usedAfterRevoke || (await works(sessions, token))) survivors += 1;
      expect(await sessions.list({ id: opened.session.id })).toEqual([]);
    }
    expect({ survivors, revokedNothing }).toEqual({ survivors: 0, revokedNothing: 0 });
  });

  it(`an old token used concurrently with its successor ends the session in all of ${TRIALS} trials`, async () => {
    let survivors = 0;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const opened = await sessions.start({ identity: identity(10_000 + trial), service: SERVICE, origin: 'login', rules: ['r'] });
      const t1 = (await sessions.refresh(opened.token, SERVICE)).token;
      // The thief replays t0 (or t1 itself) while the client uses t1.
      const stolen = trial % 2 === 0 ? opened.token : t1;
      const [client, thief] = await Promise.allSettled([
        (async () => {
          await turns(trial % 3);
          return sessions.refresh(t1, SERVICE);
        })(),
        (async () => {
          await turns(trial % 5);
          return sessions.refresh(stolen, SERVICE);
        })(),
      ]);
      const held = [client, thief].flatMap((r) => (r.status === 'fulfilled' ? [r.value.token] : []));
      for (const t of held) if (await works(sessions, t)) survivors += 1;
      expect(held.length).toBeLessThanOrEqual(1);
      expect(await sessions.list({ id: opened.session.id })).toEqual([]);
    }
    expect(survivors).toBe(0);
  });
});
