import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { StoreError } from './errors.js';
import type { RedisNode, RedisStoreConfig, RedisTlsOptions } from './types.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 2_000;

export type RedisClient = Redis | Cluster;
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

function invalidConfig(message: string): StoreError {
  return new StoreError('invalid_config', message);
}

function checkMs(value: number | undefined, fallback: number, what: string): number {
  const ms = value ?? fallback;
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) throw invalidConfig(`${what} must be an integer from 1 to 60000`);
  return ms;
}

function checkNodes(nodes: readonly RedisNode[], what: string): RedisNode[] {
  if (nodes.length === 0) throw invalidConfig(`${what} needs at least one node`);
  return nodes.map((n) => {
    if (typeof n.host !== 'string' || n.host.length === 0 || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535) {
      throw invalidConfig(`${what}: every node needs a host and a port from 1 to 65535`);
    }
    return { host: n.host, port: n.port };
  });
}

function tlsOptions(tls: RedisTlsOptions | undefined, host: string | undefined): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: tls?.rejectUnauthorized ?? true };
  if (tls?.ca !== undefined) out.ca = typeof tls.ca === 'string' ? tls.ca : [...tls.ca];
  if (tls?.cert !== undefined) out.cert = tls.cert;
  if (tls?.key !== undefined) out.key = tls.key;
  // SNI may not carry an IP address (RFC 6066); Node still checks the certificate against the host.
  const servername = tls?.servername ?? (host !== undefined && isIP(host) === 0 ? host : undefined);
  if (servername !== undefined) out.servername = servername;
  return out;
}

interface ParsedUrl {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  db?: number;
}

function parseRedisUrl(raw: string): ParsedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Never echo the url: it may hold a password.
    throw invalidConfig('redis url is not a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw invalidConfig('redis url must start with redis:// or rediss://');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host.length === 0) throw invalidConfig('redis url has no host');
  const parsed: ParsedUrl = { host, port: url.port === '' ? 6379 : Number(url.port), tls: url.protocol === 'rediss:' };
  if (url.username !== '') parsed.username = decodeURIComponent(url.username);
  if (url.password !== '') parsed.password = decodeURIComponent(url.password);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') {
    if (!/^[0-9]{1,2}$/.test(path)) throw invalidConfig('redis url path must be a database number');
    parsed.db = Number(path);
  }
  return parsed;
}

export function redisMode(config: RedisStoreConfig): RedisMode {
  const modes = [config.url !== undefined, config.sentinels !== undefined, config.cluster !== undefined].filter(Boolean).length;
  if (modes !== 1) throw invalidConfig('redis config needs exactly one of url, sentinels or cluster');
  if (config.cluster !== undefined) return 'cluster';
  if (config.sentinels !== undefined) return 'sentinel';
  return 'standalone';
}

/**
 * Build an ioredis client that fails fast and heals by itself:
 * - no offline queue: while disconnected, commands reject at once instead of piling up;
 * - a per-command timeout for a server that accepts the connection but does not answer;
 * - no automatic resend of commands that were in flight when the connection dropped —
 *   their caller has already been told "unavailable", a late replay could resurrect stale writes;
 * - reconnection forever in the background with capped back-off, so the broker recovers
 *   when Redis returns, without being restarted.
 * The client connects immediately (not lazily); watch readiness via the store.
 */
export function createRedisClient(config: RedisStoreConfig): { client: RedisClient; mode: RedisMode } {
  const mode = redisMode(config);
  const commandTimeout = checkMs(config.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS, 'commandTimeoutMs');
  const connectTimeout = checkMs(config.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs');
  const maxDelay = checkMs(config.maxReconnectDelayMs, DEFAULT_MAX_RECONNECT_DELAY_MS, 'maxReconnectDelayMs');
  const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), maxDelay);

  const common: RedisOptions = {
    enableOfflineQueue: false,
    enableReadyCheck: true,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
    connectTimeout,
    retryStrategy,
    lazyConnect: false,
    // Off for one connection (standalone, Sentinel): RedisStore corks the socket instead
    // (write-coalescer.ts says why). A cluster keeps it: its commands go to many connections.
    enableAutoPipelining: false,
  };

  if (mode === 'cluster') {
    const nodes = checkNodes(config.cluster ?? [], 'cluster');
    const redisOptions: RedisOptions = { ...common };
    if (config.username !== undefined) redisOptions.username = config.username;
    if (config.password !== undefined) redisOptions.password = config.password;
    if (config.tls !== undefined) redisOptions.tls = tlsOptions(config.tls, undefined);
    const options: ClusterOptions = {
      redisOptions,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      enableAutoPipelining: true,
      clusterRetryStrategy: retryStrategy,
      // Redirections and failover retries are bounded by the store's own deadline anyway.
      maxRedirections: 4,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: Math.max(commandTimeout, 1_000),
    };
    return { client: new Cluster(nodes, options), mode };
  }

  const options: RedisOptions = { ...common };
  let host: string | undefined;
  let useTls = config.tls !== undefined;
  if (mode === 'sentinel') {
    if (config.sentinelName === undefined || config.sentinelName.length === 0) {
      throw invalidConfig('sentinels need sentinelName (the master group name)');
    }
    options.sentinels = checkNodes(config.sentinels ?? [], 'sentinels');
    options.name = config.sentinelName;
    options.sentinelRetryStrategy = retryStrategy;
    // Follow +switch-master at once. Without it the client keeps writing to the old master after a
    // planned failover until Sentinel demotes it (up to ~10 s), and every write there is lost.
    options.failoverDetector = true;
    if (config.sentinelUsername !== undefined) options.sentinelUsername = config.sentinelUsername;
    if (config.sentinelPassword !== undefined) options.sentinelPassword = config.sentinelPassword;
  } else {
    const parsed = parseRedisUrl(config.url ?? '');
    host = parsed.host;
    options.host = parsed.host;
    options.port = parsed.port;
    useTls = useTls || parsed.tls;
    if (parsed.username !== undefined) options.username = parsed.username;
    if (parsed.password !== undefined) options.password = parsed.password;
    if (parsed.db !== undefined) options.db = parsed.db;
  }
  if (config.username !== undefined) options.username = config.username;
  if (config.password !== undefined) options.password = config.password;
  if (useTls) {
    options.tls = tlsOptions(config.tls, host);
    if (mode === 'sentinel') {
      options.enableTLSForSentinelMode = true;
      options.sentinelTLS = tlsOptions(config.tls, undefined);
    }
  }
  return { client: new Redis(options), mode };
}
