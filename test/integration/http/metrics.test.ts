/**
 * /metrics as operators alert on it: refusals by bounded reason and issuer id,
 * build_info, issuer discovery/JWKS fetches, store latency and errors,
 * rate-limited requests, Node's default metrics under their usual names, and
 * counters summed over the processes of `serve --workers`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { basic, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TestIssuer } from '../../helpers/issuer.js';
import { freePort } from '../../helpers/ports.js';
import { spawnDaemon, type Daemon } from '../../helpers/processes.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { ROOT, cliArgs } from '../../helpers/cli.js';
import { REFUSAL_REASONS } from '../../../src/observability/metrics.js';

const SERVICE = 'metrics-registry';
const AUD = 'metrics-aud';

/** Sum of the samples of `name` whose labels include `labels` (Prometheus text format). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

const policy = (iss: string) => ({
  version: 1,
  rules: [{ id: 'all', effect: 'allow', issuer: iss, grants: [{ repository: 'app/**', actions: ['pull'] }] }],
});

describe('/metrics of one broker', () => {
  let issuer: TestIssuer;
  let broker: TestBroker;
  const token = (audience = AUD) => issuer.mint({}, { audience, subject: 'ci:job' });
  const get = async (password: string, service = SERVICE) =>
    (await fetch(`${broker.url}/token?service=${service}&scope=repository:app/x:pull`, { headers: { authorization: basic('oidc', password) } })).status;
  const metrics = async () => (await fetch(`${broker.url}/metrics`)).text();

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    broker = await startBroker({
      issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD] }],
      policy: policy(issuer.issuer),
      services: [SERVICE],
      extra: { sessions: { rateLimits: { perIdentity: { points: 3, durationSec: 60 } } } },
    });
  });
  afterAll(async () => {
    await broker?.stop();
    await issuer?.close();
  });

  it('labels issued requests with the issuer id and refusals with a bounded reason', async () => {
    expect(await get(await token())).toBe(200);
    expect(await get('not-a-jwt')).toBe(401);
    expect(await get(await token('someone-else'))).toBe(401);
    expect(await get(await token(), 'other-service')).toBe(400);
    const text = await metrics();
    expect(sample(text, 'portcullis_token_requests_total', { outcome: 'issued', issuer: 'ci', status: '200' })).toBe(1);
    expect(sample(text, 'portcullis_token_refusals_total', { reason: 'malformed', issuer: 'none' })).toBe(1);
    expect(sample(text, 'portcullis_token_refusals_total', { reason: 'wrong_audience', issuer: 'none' })).toBe(1);
    expect(sample(text, 'portcullis_token_refusals_total', { reason: 'unknown_service' })).toBe(1);
    // Every reason label comes from the documented set.
    const reasons = [...text.matchAll(/^portcullis_token_refusals_total\{[^}]*reason="([^"]+)"/gm)].map((m) => m[1]);
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(REFUSAL_REASONS).toContain(r);
    // The audit log line carries the same code, for searching logs by reason.
    const refusedLines = broker.logs.map((l) => JSON.parse(l) as { msg?: string; refusal?: string }).filter((l) => l.msg === 'token refused');
    expect(refusedLines.map((l) => l.refusal)).toEqual(expect.arrayContaining(['malformed', 'wrong_audience', 'unknown_service']));
  });

  it('counts rate-limited requests', async () => {
    const t = await token();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push(await get(t));
    expect(statuses).toContain(429);
    const text = await metrics();
    expect(sample(text, 'portcullis_rate_limited_requests_total')).toBe(statuses.filter((s) => s === 429).length);
    expect(sample(text, 'portcullis_token_refusals_total', { reason: 'rate_limited', issuer: 'ci' })).toBeGreaterThanOrEqual(1);
  });

  it('reports build_info, issuer fetches, store latency and Node default metrics under their usual names', async () => {
    const text = await metrics();
    expect(text).toMatch(/^portcullis_build_info\{version="0\.1\.0",nodejs="\d+\.\d+\.\d+"\} 1$/m);
    expect(sample(text, 'portcullis_issuer_fetches_total', { kind: 'discovery', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'portcullis_issuer_fetches_total', { kind: 'jwks', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'portcullis_issuer_fetch_duration_seconds_count', { kind: 'jwks' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'portcullis_store_operation_duration_seconds_count', { operation: 'rateLimit.consume' })).toBeGreaterThanOrEqual(1);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(sample(text, name), name).toBeDefined();
    }
    expect(text).not.toMatch(/^portcullis_process_/m);
  });

  it('counts failed issuer fetches by outcome', async () => {
    // A second broker starts while the issuer's JWKS answers 503: its warm-up fetch fails.
    issuer.jwksFailureStatus = 503;
    const cold = await startBroker({ issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD] }], policy: policy(issuer.issuer), services: [SERVICE] });
    try {
      const text = await (await fetch(`${cold.url}/metrics`)).text();
      expect(sample(text, 'portcullis_issuer_fetches_total', { kind: 'jwks', outcome: 'http_5xx' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'portcullis_issuer_fetches_total', { kind: 'jwks', outcome: 'ok' })).toBeUndefined();
    } finally {
      issuer.jwksFailureStatus = undefined;
      await cold.stop();
    }
  });
});

describe('/metrics with an unreachable Redis', () => {
  let issuer: TestIssuer;
  let broker: TestBroker;

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    broker = await startBroker({
      issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD] }],
      policy: policy(issuer.issuer),
      services: [SERVICE],
      extra: { store: { type: 'redis', url: `redis://127.0.0.1:${await freePort()}/0`, commandTimeoutMs: 200 } },
    });
  });
  afterAll(async () => {
    await broker?.stop();
    await issuer?.close();
  });

  it('GET /token keeps working and the skipped rate-limit checks are counted', async () => {
    const res = await fetch(`${broker.url}/token?service=${SERVICE}&scope=repository:app/x:pull`, {
      headers: { authorization: basic('oidc', await issuer.mint({}, { audience: AUD, subject: 'ci:job' })) },
    });
    expect(res.status).toBe(200);
    const text = await (await fetch(`${broker.url}/metrics`)).text();
    expect(sample(text, 'portcullis_rate_limits_skipped_total')).toBeGreaterThanOrEqual(1);
  });

  it('counts store errors by operation and code, and the refusal as unavailable', async () => {
    const res = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: `pcr_${'a'.repeat(43)}`, service: SERVICE, client_id: 'test' }),
    });
    expect(res.status).toBe(503);
    const text = await (await fetch(`${broker.url}/metrics`)).text();
    expect(sample(text, 'portcullis_store_errors_total', { code: 'unavailable' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'portcullis_token_refusals_total', { reason: 'unavailable' })).toBe(1);
  });
});

/** A request on a fresh connection, so the cluster hands it to the next worker. */
function freshGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { ...headers, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics under serve --workers', () => {
  let issuer: TestIssuer;
  // Several workers need a shared store: serve refuses --workers with the memory store.
  let redis: RedisServer;
  let dir: string;
  let server: Daemon;
  let url: string;

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    redis = await startRedis();
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-workers-metrics-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await writeFile(path.join(dir, 'policy.yaml'), stringify(policy(issuer.issuer)));
    await writeFile(
      path.join(dir, 'portcullis.yaml'),
      stringify({
        server: { host: '127.0.0.1', port },
        token: { issuer: 'portcullis-test', services: [SERVICE] },
        dataDir: path.join(dir, 'data'),
        issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD] }],
        policy: { file: path.join(dir, 'policy.yaml'), watch: false },
        store: { type: 'redis', url: redis.url },
        sessions: { rateLimits: { enabled: false } },
        log: { level: 'warn' },
      }),
    );
    server = spawnDaemon(process.execPath, [...cliArgs(), 'serve', '-c', path.join(dir, 'portcullis.yaml'), '--workers', '2'], { cwd: ROOT });
    const started = Date.now();
    for (;;) {
      const up = await freshGet(`${url}/healthz`).then((r) => r.status === 200, () => false);
      if (up) break;
      if (server.hasExited() || Date.now() - started > 30_000) throw new Error(`serve --workers did not start:\n${server.logs()}`);
      await sleep(200);
    }
    // Both workers listen once each answered a request; give the second a moment.
    await sleep(1_500);
  });
  afterAll(async () => {
    await server?.stop(5_000);
    await issuer?.close();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every scrape, whichever worker answers it, reports the sum over all workers', async () => {
    const n = 10;
    const auth = { authorization: basic('oidc', await issuer.mint({}, { audience: AUD, subject: 'ci:job' })) };
    for (let i = 0; i < n; i += 1) expect((await freshGet(`${url}/token?service=${SERVICE}&scope=repository:app/x:pull`, auth)).status).toBe(200);
    const totals: (number | undefined)[] = [];
    const starts = new Set<number | undefined>();
    for (let i = 0; i < 4; i += 1) {
      const scrape = await freshGet(`${url}/metrics`);
      expect(scrape.status).toBe(200);
      totals.push(sample(scrape.body, 'portcullis_token_requests_total', { outcome: 'issued', issuer: 'ci' }));
      starts.add(sample(scrape.body, 'portcullis_build_info'));
    }
    expect(totals).toEqual([n, n, n, n]);
    // Gauges that describe the build are not multiplied by the number of workers.
    expect([...starts]).toEqual([1]);
  });
});
