export { StoreError, StoreFullError, StoreUnavailableError, type StoreErrorCode } from './errors.js';
export type {
  MemoryStoreOptions,
  RateLimitDecision,
  RateLimiter,
  RateLimiterOptions,
  RedisNode,
  RedisStoreConfig,
  RedisTlsOptions,
  Store,
  StoreConfig,
  StoreHealth,
  StoreState,
} from './types.js';
export { MemoryStore } from './memory-store.js';
// RedisStore (and ioredis with it) loads only when a Redis store is configured: import it from './redis-store.js'.
export type { RedisStore } from './redis-store.js';
export { slotTag, DEFAULT_KEY_PREFIX, MAX_TTL_MS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH } from './validate.js';
export { createStore } from './create.js';
