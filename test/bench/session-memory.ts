/**
 * Redis memory used per stored session (issue: sessions). Starts a real
 * redis-server, opens N sessions with GitHub-Actions-shaped claims through the
 * real SessionService on a RedisStore, and prints the growth of `used_memory`
 * per session. Run: npx tsx test/bench/session-memory.ts [N]
 */
import { Redis } from 'ioredis';
import { SessionService, DEFAULT_ID_TOKENS, DEFAULT_RATE_LIMITS, DEFAULT_REFRESH } from '../../src/sessions/index.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Identity } from '../../src/identity/types.js';
import { githubActionsClaims } from '../helpers/issuer.js';
import { startRedis } from '../helpers/redis.js';

const N = Number(process.argv[2] ?? 10_000);

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  const m = /used_memory:(\d+)/.exec(info);
  if (!m) throw new Error('no used_memory in INFO');
  return Number(m[1]);
}

const redis = await startRedis();
const store = new RedisStore({ url: redis.url, keyPrefix: 'bench:' });
const raw = new Redis(redis.url);
try {
  await store.waitUntilReady(5_000);
  const sessions = new SessionService({
    store,
    refresh: { ...DEFAULT_REFRESH, enabled: true },
    idTokens: DEFAULT_ID_TOKENS,
    rateLimits: { ...DEFAULT_RATE_LIMITS, enabled: false },
  });
  const before = await usedMemory(raw);
  const started = performance.now();
  for (let i = 0; i < N; i += 1) {
    const claims = githubActionsClaims({ repository_id: String(100_000 + i), run_id: String(9_000_000 + i), iss: 'https://token.actions.githubusercontent.com' });
    const identity: Identity = {
      issuer: 'https://token.actions.githubusercontent.com',
      subject: `repo:octo-org/app-${i}:ref:refs/heads/main`,
      claims,
      issuerId: 'github',
      tokenHash: `hash-${i}`.padEnd(43, 'x'),
      expiresAt: Math.floor(Date.now() / 1000) + 300,
      tokenId: `jti-${i}`,
    };
    await sessions.start({ identity, service: 'registry.example.com', origin: 'login', rules: ['octo-org-ci'], clientId: 'docker' });
  }
  const seconds = (performance.now() - started) / 1000;
  const after = await usedMemory(raw);
  const keys = await raw.dbsize();
  process.stdout.write(
    `sessions: ${N} opened in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)}/s, sequential)\n` +
      `redis used_memory: ${((after - before) / 2 ** 20).toFixed(1)} MiB more, ${((after - before) / N).toFixed(0)} bytes per session ` +
      `(${keys} keys: the session record with GitHub-Actions-shaped claims plus its index entries)\n`,
  );
} finally {
  raw.disconnect();
  await store.close();
  await redis.stop();
}
