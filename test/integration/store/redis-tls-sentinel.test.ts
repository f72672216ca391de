import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../../src/store/index.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { makeTestCertificates, startRedis, startRedisSentinel } from '../../helpers/redis.js';
import type { RedisServer, RedisSentinelHandle, TestCertificates } from '../../helpers/redis.js';

describe('RedisStore over TLS (rediss://)', () => {
  let certs: TestCertificates;
  let server: RedisServer;

  beforeAll(async () => {
    certs = await makeTestCertificates();
    server = await startRedis({ tls: certs });
  });
  afterAll(async () => {
    await server?.stop();
    if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
  });

  it('connects when the CA is configured, checking the certificate against the host', async () => {
    const store = new RedisStore({ url: server.url, tls: { ca: certs.caPem } });
    try {
      await store.waitUntilReady(5_000);
      await store.put('k', 'over-tls', 10_000);
      expect(await store.take('k')).toBe('over-tls');
    } finally {
      await store.close();
    }
    const byName = new RedisStore({ url: `rediss://localhost:${server.port}`, tls: { ca: certs.caPem } });
    try {
      await byName.waitUntilReady(5_000);
      expect(await byName.ping()).toBeGreaterThanOrEqual(0);
    } finally {
      await byName.close();
    }
  });

  it('refuses a server whose certificate it cannot verify or whose name does not match', async () => {
    const untrusted = new RedisStore({ url: server.url });
    const wrongName = new RedisStore({ url: server.url, tls: { ca: certs.caPem, servername: 'redis.example' } });
    const plain = new RedisStore({ url: `redis://127.0.0.1:${server.port}` });
    try {
      for (const store of [untrusted, wrongName, plain]) {
        await expect(store.waitUntilReady(1_500)).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      }
    } finally {
      await Promise.all([untrusted.close(), wrongName.close(), plain.close()]);
    }
  });
});

describe('RedisStore through Sentinel', () => {
  let master: RedisServer;
  let sentinel: RedisSentinelHandle;

  beforeAll(async () => {
    master = await startRedis();
    sentinel = await startRedisSentinel(master.port);
  });
  afterAll(async () => {
    await sentinel?.stop();
    await master?.stop();
  });

  it('finds the master through the sentinel and uses it', async () => {
    const store = new RedisStore({
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      sentinelName: sentinel.name,
      keyPrefix: 'sentinel:',
    });
    try {
      await store.waitUntilReady(5_000);
      expect(store.mode).toBe('sentinel');
      expect(await store.putIfAbsent('k', 'via-sentinel', 10_000)).toBe(true);
      const direct = new RedisStore({ url: master.url, keyPrefix: 'sentinel:' });
      try {
        await direct.waitUntilReady(5_000);
        expect(await direct.get('k')).toBe('via-sentinel');
      } finally {
        await direct.close();
      }
    } finally {
      await store.close();
    }
  });

  it('fails fast for an unknown master group', async () => {
    const store = new RedisStore({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], sentinelName: 'nope' });
    try {
      await expect(store.waitUntilReady(1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
  });
});
