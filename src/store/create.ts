import { MemoryStore } from './memory-store.js';
import type { Store, StoreConfig } from './types.js';

/**
 * Redis when `config.redis` is given (shared by every replica), otherwise an
 * in-process memory store (one replica only). A Redis store starts connecting at
 * once; use `waitUntilReady` or `isReady` to gate traffic on it.
 * `config.keyPrefix` applies unless the backend's own section sets one.
 */
export async function createStore(config: StoreConfig = {}): Promise<Store> {
  if (config.redis !== undefined) {
    const { RedisStore } = await import('./redis-store.js');
    return new RedisStore({ keyPrefix: config.keyPrefix, ...config.redis });
  }
  return new MemoryStore({ keyPrefix: config.keyPrefix, ...config.memory });
}
