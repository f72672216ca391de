import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { ConfigError, readSecret } from '../config/index.js';
import { checkPrivateKeyFileMode } from './key-file-mode.js';
import { createStore, type RedisStoreConfig, type Store, type StoreState } from '../store/index.js';

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function readKey(file: string, config: Config): string {
  checkPrivateKeyFileMode(file, 'store.tls.keyFile', config.keys.privateKeyFiles);
  return readPem(file, 'store.tls.keyFile');
}

/** The `store:` section as createStore options: secrets and PEM files read here, once. */
export function storeOptionsOf(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  onStateChange?: (state: StoreState, error?: Error) => void,
): Parameters<typeof createStore>[0] {
  const s = config.store;
  if (s.type === 'memory') return { memory: { maxEntries: s.maxEntries } };
  const modes = [s.url, s.sentinels, s.cluster].filter((m) => m !== undefined).length;
  if (modes !== 1) throw new ConfigError('store: give exactly one of url, sentinels or cluster for a redis store');
  const tls = s.tls
    ? {
        ...(s.tls.caFile ? { ca: readPem(s.tls.caFile, 'store.tls.caFile') } : {}),
        ...(s.tls.certFile ? { cert: readPem(s.tls.certFile, 'store.tls.certFile') } : {}),
        ...(s.tls.keyFile ? { key: readKey(s.tls.keyFile, config) } : {}),
        ...(s.tls.servername ? { servername: s.tls.servername } : {}),
        rejectUnauthorized: s.tls.rejectUnauthorized,
      }
    : undefined;
  const redis: RedisStoreConfig = {
    ...(s.url ? { url: s.url } : {}),
    ...(s.sentinels ? { sentinels: s.sentinels, sentinelName: s.sentinelName } : {}),
    ...(s.cluster ? { cluster: s.cluster } : {}),
    ...(s.username ? { username: s.username } : {}),
    ...(s.password ? { password: readSecret(s.password, 'store.password', env).trim() } : {}),
    ...(tls ? { tls } : {}),
    keyPrefix: s.keyPrefix,
    commandTimeoutMs: s.commandTimeoutMs,
    ...(onStateChange ? { onStateChange } : {}),
  };
  return { redis };
}

/** Opens the configured store (a Redis store starts connecting in the background). */
export function openStore(config: Config, env?: NodeJS.ProcessEnv, onStateChange?: (state: StoreState, error?: Error) => void): Promise<Store> {
  return createStore(storeOptionsOf(config, env, onStateChange));
}
