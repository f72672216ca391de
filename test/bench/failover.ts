/**
 * `npm run bench:failover`: a Redis master switch under load. A master, one replica and a
 * Sentinel (all real redis-server processes on 127.0.0.1); the broker (dist/, a child process)
 * finds the master through the Sentinel. Token exchanges open new sessions at a fixed rate and
 * refresh loops keep using theirs; then the master is killed (or, FAILOVER_MODE=command,
 * `SENTINEL FAILOVER` switches it over gracefully). Prints the window during which the broker
 * answered 503 (and any other error), and then checks every session the broker acknowledged
 * (an exchange answered 200 with a refresh token) against the new master: a 401 there is a
 * session lost to asynchronous replication.
 *
 *   FAILOVER_MODE (kill)            kill: SIGKILL the master; command: SENTINEL FAILOVER
 *   FAILOVER_EXCHANGE_RATE (50)     new sessions per second
 *   FAILOVER_REFRESH_LOOPS (16)     clients refreshing back to back
 *   FAILOVER_BEFORE_SECONDS (5)     load before the switch
 *   FAILOVER_AFTER_SECONDS (20)     load after it
 *   FAILOVER_DOWN_AFTER_MS (1000)   Sentinel's down-after-milliseconds
 *   FAILOVER_MIN_REPLICAS (0)       master's min-replicas-to-write (with min-replicas-max-lag 1)
 */
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TestIssuer } from '../helpers/issuer.js';
import { startRedis, startRedisSentinel, type RedisServer, type RedisSentinelHandle } from '../helpers/redis.js';
import { SERVICE, brokerConfig, mintPool, writeConfig, writePolicy, type BenchRequest } from './fixtures.js';
import { machine } from './report.js';
import { EXCHANGE_GRANT, FORM, ID_TOKEN_TYPE } from './scenarios.js';
import { prepareServers, startBroker, type ServerProcess } from './servers.js';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
};
const MODE = process.env.FAILOVER_MODE ?? 'kill';
if (MODE !== 'kill' && MODE !== 'command') throw new Error('FAILOVER_MODE must be kill or command');
const EXCHANGE_RATE = num('FAILOVER_EXCHANGE_RATE', 50);
const REFRESH_LOOPS = num('FAILOVER_REFRESH_LOOPS', 16);
const BEFORE = num('FAILOVER_BEFORE_SECONDS', 5);
const AFTER = num('FAILOVER_AFTER_SECONDS', 20);
const DOWN_AFTER_MS = num('FAILOVER_DOWN_AFTER_MS', 1000);
const MIN_REPLICAS = num('FAILOVER_MIN_REPLICAS', 0);

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  at: number;
  kind: 'exchange' | 'refresh';
  status: number;
}

async function post(url: string, form: Record<string, string>): Promise<{ status: number; refreshToken?: string }> {
  try {
    const res = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': FORM }, body: new URLSearchParams(form).toString(), signal: AbortSignal.timeout(10_000) });
    const body = (await res.json().catch(() => ({}))) as { refresh_token?: string };
    return { status: res.status, ...(body.refresh_token ? { refreshToken: body.refresh_token } : {}) };
  } catch {
    return { status: 0 }; // transport error
  }
}

const exchangeForm = (r: BenchRequest): Record<string, string> => ({
  grant_type: EXCHANGE_GRANT,
  subject_token: r.idToken,
  subject_token_type: ID_TOKEN_TYPE,
  service: SERVICE,
  scope: r.scope,
});
const refreshForm = (token: string, scope: string): Record<string, string> => ({ grant_type: 'refresh_token', refresh_token: token, service: SERVICE, client_id: 'bench', scope });

async function main(): Promise<void> {
  prepareServers();
  const work = await mkdtemp(join(tmpdir(), 'portcullis-failover-'));
  const issuer = await TestIssuer.start({ algs: ['RS256'] });
  let master: RedisServer | undefined;
  let replica: RedisServer | undefined;
  let sentinel: RedisSentinelHandle | undefined;
  let broker: ServerProcess | undefined;
  try {
    log(`portcullis failover — ${machine()}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    master = await startRedis({ extraArgs: MIN_REPLICAS > 0 ? ['--min-replicas-to-write', String(MIN_REPLICAS), '--min-replicas-max-lag', '1'] : [] });
    replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    sentinel = await startRedisSentinel(master.port, 'portcullis', [`down-after-milliseconds ${DOWN_AFTER_MS}`, 'failover-timeout 10000', 'parallel-syncs 1']);
    const sentinelClient = new Redis({ host: '127.0.0.1', port: sentinel.port });
    // Wait until the Sentinel knows the replica (it asks the master every 10 s at first).
    for (let i = 0; i < 200; i += 1) {
      const replicas = (await sentinelClient.call('SENTINEL', 'REPLICAS', 'portcullis')) as unknown[];
      if (replicas.length > 0) break;
      await sleep(100);
    }
    const masterAddr = async (): Promise<string> => ((await sentinelClient.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'portcullis')) as string[]).join(':');
    log(`master 127.0.0.1:${master.port}, replica 127.0.0.1:${replica.port}, sentinel ${sentinel.port} (down-after ${DOWN_AFTER_MS} ms); min-replicas-to-write ${MIN_REPLICAS}; mode ${MODE}`);

    const policy = await writePolicy(work, issuer);
    const sentinelPort = sentinel.port;
    broker = await startBroker(async (port) => {
      const base = brokerConfig(issuer, { port, dataDir: join(work, 'data'), policyFile: policy.file, logLevel: 'warn', redisUrl: 'redis://unused' }) as Record<string, unknown>;
      return writeConfig(work, 'broker.json', { ...base, store: { type: 'redis', sentinels: [{ host: '127.0.0.1', port: sentinelPort }], sentinelName: 'portcullis' } });
    });
    const url = broker.url;

    // Spare tokens for the refresh loops, which open a new session after every 503.
    const total = Math.ceil(EXCHANGE_RATE * (BEFORE + AFTER) * 1.2) + REFRESH_LOOPS * 20 + 100;
    const tokens = await mintPool(issuer, total);
    let cursor = 0;
    const nextToken = (): BenchRequest => tokens[cursor++ % tokens.length] as BenchRequest;

    const outcomes: Outcome[] = [];
    const acked: { token: string; scope: string; at: number }[] = [];
    const t0 = Date.now();
    let running = true;

    const exchangeOnce = async (): Promise<void> => {
      const r = nextToken();
      const res = await post(url, exchangeForm(r));
      outcomes.push({ at: Date.now(), kind: 'exchange', status: res.status });
      if (res.status === 200 && res.refreshToken) acked.push({ token: res.refreshToken, scope: r.scope, at: Date.now() });
    };
    // Open-loop exchanges at a fixed rate.
    const exchanges: Promise<void>[] = [];
    const pacer = (async () => {
      let sent = 0;
      while (running) {
        const due = Math.floor(((Date.now() - t0) / 1000) * EXCHANGE_RATE);
        while (sent < due) {
          sent += 1;
          exchanges.push(exchangeOnce());
        }
        await sleep(5);
      }
    })();
    // Refresh loops on sessions opened first.
    const loops = Array.from({ length: REFRESH_LOOPS }, async () => {
      const seed = nextToken();
      let session = await post(url, exchangeForm(seed));
      while (running) {
        if (session.status !== 200 || !session.refreshToken) {
          session = await post(url, exchangeForm(nextToken()));
          outcomes.push({ at: Date.now(), kind: 'exchange', status: session.status });
          if (session.status !== 200) await sleep(20);
          continue;
        }
        const res = await post(url, refreshForm(session.refreshToken, seed.scope));
        outcomes.push({ at: Date.now(), kind: 'refresh', status: res.status });
        if (res.status === 401) session = { status: 0 }; // session gone: open another (counted below)
        else if (res.status !== 200) await sleep(20);
      }
    });

    await sleep(BEFORE * 1000);
    const before = await masterAddr();
    const switchAt = Date.now();
    if (MODE === 'kill') await master.kill();
    else await sentinelClient.call('SENTINEL', 'FAILOVER', 'portcullis');
    let promotedAt: number | undefined;
    const watch = (async () => {
      while (running && promotedAt === undefined) {
        if ((await masterAddr().catch(() => before)) !== before) promotedAt = Date.now();
        else await sleep(50);
      }
    })();
    await sleep(AFTER * 1000);
    running = false;
    await pacer;
    await Promise.all([...exchanges, ...loops, watch]);

    // Every acknowledged session must still refresh on the new master.
    let lost = 0;
    const lostAt: number[] = [];
    let unknown = 0;
    for (const a of acked) {
      let res = await post(url, refreshForm(a.token, a.scope));
      for (let i = 0; i < 20 && res.status === 503; i += 1) {
        await sleep(250);
        res = await post(url, refreshForm(a.token, a.scope));
      }
      if (res.status === 401) {
        lost += 1;
        lostAt.push(a.at - switchAt);
      } else if (res.status !== 200) unknown += 1;
    }

    const rel = (t: number): string => `${((t - switchAt) / 1000).toFixed(2)} s`;
    const failures = outcomes.filter((o) => o.status !== 200 && o.status !== 401);
    const by = (xs: Outcome[]): Record<string, number> => xs.reduce<Record<string, number>>((m, o) => ((m[`${o.kind} ${o.status}`] = (m[`${o.kind} ${o.status}`] ?? 0) + 1), m), {});
    const refreshLost = outcomes.filter((o) => o.kind === 'refresh' && o.status === 401);
    log(`\nrequests: ${outcomes.length} (${JSON.stringify(by(outcomes))})`);
    log(`master switch at t=${((switchAt - t0) / 1000).toFixed(1)} s (${MODE}); Sentinel announced the new master after ${promotedAt ? rel(promotedAt) : 'never'} (${before} → ${await masterAddr()})`);
    if (failures.length === 0) log('no failed request');
    else {
      const first = Math.min(...failures.map((o) => o.at));
      const last = Math.max(...failures.map((o) => o.at));
      log(`failed answers (503, 5xx, transport): ${failures.length}, from ${rel(first)} to ${rel(last)} after the switch: window ${((last - first) / 1000).toFixed(2)} s (${JSON.stringify(by(failures))})`);
    }
    const span = lostAt.length ? `, acknowledged from ${(Math.min(...lostAt) / 1000).toFixed(2)} s to ${(Math.max(...lostAt) / 1000).toFixed(2)} s relative to the switch` : '';
    log(`acknowledged sessions: ${acked.length}; lost (401 on the new master): ${lost}${span}; not verifiable: ${unknown}`);
    log(`refreshes answered 401 during the run (session gone): ${refreshLost.length}`);
    // Where the data ended up: each node's role and key count (the killed master is gone).
    for (const [name, node] of [['first master', master], ['first replica', replica]] as const) {
      const c = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await c.connect();
        const role = ((await c.call('ROLE')) as unknown[])[0];
        const ro = ((await c.call('CONFIG', 'GET', 'replica-read-only')) as string[])[1];
        const link = /master_link_status:(\w+)/.exec(await c.info('replication'))?.[1] ?? '-';
        log(`${name} 127.0.0.1:${node.port}: role ${String(role)}, ${await c.dbsize()} keys, replica-read-only ${ro}, master link ${link}`);
      } catch {
        log(`${name} 127.0.0.1:${node.port}: not reachable`);
      } finally {
        c.disconnect();
      }
    }
    sentinelClient.disconnect();
  } finally {
    await broker?.stop();
    await sentinel?.stop();
    await replica?.stop();
    await master?.stop();
    await issuer.close();
  }
}

await main();
