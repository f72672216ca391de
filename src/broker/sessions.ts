import type { Config } from '../config/index.js';
import { SessionService, DEFAULT_ID_TOKENS } from '../sessions/index.js';
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
      // P15: refresh tokens in process memory vanish on restart and lock docker users out until they log in again.
      enabled: s.refreshTokens.enabled ?? store.kind === 'redis',
      workloadLifetimeSec: s.refreshTokens.workloadLifetime,
      personLifetimeSec: s.refreshTokens.personLifetime,
      // People's sign-in providers are people by definition.
      personIssuers: [...s.refreshTokens.personIssuers, ...config.login.providers.map((p) => p.id)],
      rotate: s.refreshTokens.rotate,
    },
    idTokens: { ...s.idTokens, clockSkewSec },
    rateLimits: s.rateLimits,
    ...(options.now ? { now: options.now } : {}),
    ...(options.onRateLimitFailOpen ? { onRateLimitFailOpen: options.onRateLimitFailOpen } : {}),
  });
}
