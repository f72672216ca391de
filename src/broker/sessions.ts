import { ConfigError, type Config } from '../config/index.js';
import { SessionService, DEFAULT_ID_TOKENS, storeFailures } from '../sessions/index.js';
import { openStore } from './store.js';
import type { Store } from '../store/index.js';

/** The `sessions:` section as a SessionService on `store`. */
export function buildSessions(
  config: Config,
  store: Store,
  options: { now?: () => number; onRateLimitFailOpen?: (err: unknown) => void } = {},
): SessionService {
  const s = config.sessions;
  const clockSkewSec = Math.max(DEFAULT_ID_TOKENS.clockSkewSec, ...config.issuers.map((i) => i.clockSkew));
  return new SessionService({
    store,
    refresh: {
      // Refresh tokens in process memory vanish on restart and lock docker users out until they log in again.
      enabled: s.refreshTokens.enabled ?? store.kind === 'redis',
      workloadLifetimeSec: s.refreshTokens.workloadLifetime,
      personLifetimeSec: s.refreshTokens.personLifetime,
      // People's sign-in providers are people by definition.
      personIssuers: [...s.refreshTokens.personIssuers, ...config.login.providers.map((p) => p.id)],
      rotate: s.refreshTokens.rotate,
      maxPerIdentity: s.refreshTokens.maxPerIdentity,
    },
    idTokens: { ...s.idTokens, clockSkewSec },
    rateLimits: s.rateLimits,
    ...(options.now ? { now: options.now } : {}),
    ...(options.onRateLimitFailOpen ? { onRateLimitFailOpen: options.onRateLimitFailOpen } : {}),
  });
}

/**
 * Sessions on the configured shared store, for operator commands that run outside the
 * server (`portcullis sessions …`). The memory store lives inside the server process,
 * so it is refused here. Store failures surface as SessionError('unavailable').
 */
export async function openSharedSessions(config: Config): Promise<{ sessions: SessionService; close(): Promise<void> }> {
  if (config.store.type === 'memory') {
    throw new ConfigError('the memory store lives inside the server process: use a redis store, or the /admin/sessions endpoint');
  }
  const store = await openStore(config);
  try {
    await storeFailures(store.waitUntilReady(5_000));
  } catch (err) {
    await store.close();
    throw err;
  }
  return { sessions: buildSessions(config, store), close: () => store.close() };
}
