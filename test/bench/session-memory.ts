/**
 * `npm run bench:sessions`: what sessions and single-use markers cost, in store entries and in
 * memory, on Redis (growth of `used_memory` on a real redis-server) and in the memory store
 * (growth of this process's V8 heap after a full GC). Opens N sessions with GitHub-Actions-shaped
 * claims and records N single-use markers through the real SessionService, and scales the
 * figures to 100,000 of each (the numbers docs/operations.md sizes `maxEntries` with).
 *   npx tsx test/bench/session-memory.ts [N, default 20000]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { SessionService, DEFAULT_ID_TOKENS, DEFAULT_RATE_LIMITS, DEFAULT_REFRESH } from '../../src/sessions/index.js';
import { MemoryStore, type Store } from '../../src/store/index.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Identity } from '../../src/identity/index.js';
import { githubActionsClaims } from '../helpers/issuer.js';
import { startRedis } from '../helpers/redis.js';

const N = Number(process.argv[2] ?? 20_000);
const PER = 100_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function identity(i: number, salt: string): Identity {
  const claims = githubActionsClaims({ repository_id: String(100_000 + i), run_id: String(9_000_000 + i), iss: 'https://token.actions.githubusercontent.com' });
  return {
    issuer: 'https://token.actions.githubusercontent.com',
    subject: `repo:octo-org/app-${i}:ref:refs/heads/main`,
    claims,
    issuerId: 'github',
    tokenHash: `${salt}-hash-${i}`.padEnd(43, 'x'),
    expiresAt: Math.floor(Date.now() / 1000) + 300,
    tokenId: `${salt}-${crypto.randomUUID()}`,
  };
}

function service(store: Store): SessionService {
  return new SessionService({
    store,
    refresh: { ...DEFAULT_REFRESH, enabled: true },
    idTokens: DEFAULT_ID_TOKENS,
    rateLimits: { ...DEFAULT_RATE_LIMITS, enabled: false },
  });
}

async function fill(sessions: SessionService, what: 'sessions' | 'markers', salt: string): Promise<void> {
  for (let i = 0; i < N; i += 1) {
    if (what === 'sessions') await sessions.start({ identity: identity(i, salt), service: 'registry.example.com', origin: 'login', rules: ['octo-org-ci'], clientId: 'docker' });
    else await sessions.consumeIdToken(identity(i, salt), 'direct');
  }
}

const scale = (bytes: number): string => `${((bytes / N) * PER / 2 ** 20).toFixed(1)} MiB per 100,000 (${(bytes / N).toFixed(0)} bytes each)`;

async function usedMemory(client: Redis): Promise<number> {
  const m = /used_memory:(\d+)/.exec(await client.info('memory'));
  if (!m) throw new Error('no used_memory in INFO');
  return Number(m[1]);
}

const out: string[] = [`N = ${N}; figures scaled to ${PER.toLocaleString('en')}`];

// Memory store: entries counted against maxEntries, and heap growth.
for (const what of ['sessions', 'markers'] as const) {
  const store = new MemoryStore({ maxEntries: 10_000_000, sweepIntervalMs: 0 });
  const sessions = service(store);
  gc();
  const before = process.memoryUsage().heapUsed;
  await fill(sessions, what, `mem-${what}`);
  gc();
  const after = process.memoryUsage().heapUsed;
  out.push(`memory store, ${what}: ${(store.size / N).toFixed(2)} entries each; heap ${scale(after - before)}`);
  await store.close();
}

// Redis: keys and used_memory.
const redis = await startRedis();
const raw = new Redis(redis.url);
try {
  for (const what of ['sessions', 'markers'] as const) {
    const store = new RedisStore({ url: redis.url, keyPrefix: `bench-${what}:` });
    await store.waitUntilReady(5_000);
    const sessions = service(store);
    const keysBefore = await raw.dbsize();
    const before = await usedMemory(raw);
    const started = performance.now();
    await fill(sessions, what, `redis-${what}`);
    const seconds = (performance.now() - started) / 1000;
    const after = await usedMemory(raw);
    const keys = (await raw.dbsize()) - keysBefore;
    out.push(`redis, ${what}: ${(keys / N).toFixed(2)} keys each (${(N / seconds).toFixed(0)}/s, sequential); used_memory ${scale(after - before)}`);
    await store.close();
  }
} finally {
  raw.disconnect();
  await redis.stop();
}
process.stdout.write(`${out.join('\n')}\n`);
