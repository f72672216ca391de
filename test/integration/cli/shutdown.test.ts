/**
 * SIGTERM under load, on a real `portcullis serve` child process: readiness turns false first,
 * the listener closes after the drain delay, every request the broker accepted is answered
 * (the load generator counts connection resets), keep-alive clients are told to close, and the
 * process exits within the configured bound. Once as one process with the memory store, once
 * with --workers 2 on a real redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer, githubActionsClaims } from '../../helpers/issuer.js';
import { basic } from '../../helpers/broker.js';
import { cliArgs } from '../../helpers/cli.js';
import { freePort } from '../../helpers/ports.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { startBurst, type BurstRequest } from '../../helpers/burst.js';

const SERVICE = 'test-registry';
const AUD = 'portcullis-shutdown-test';
const DRAIN_DELAY_SEC = 1;
const TIMEOUT_SEC = 6;

let dir: string;
let issuer: TestIssuer;
let redis: RedisServer;
let requests: BurstRequest[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'portcullis-shutdown-'));
  issuer = await TestIssuer.start({ algs: ['RS256'] });
  redis = await startRedis();
  const tokens = await Promise.all(
    Array.from({ length: 8 }, () => issuer.mint(githubActionsClaims(), { audience: AUD, lifetimeSeconds: 3600 })),
  );
  requests = tokens.map((t) => ({
    path: `/token?service=${SERVICE}&scope=${encodeURIComponent('repository:octo-org/app:pull,push')}`,
    headers: { authorization: basic('ci', t) },
  }));
});

afterAll(async () => {
  await issuer?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Child {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<{ code: number | null; at: number }>;
}

async function serve(name: string, store: object, workers: number): Promise<Child> {
  const port = await freePort();
  const policyFile = path.join(dir, `${name}-policy.yaml`);
  await writeFile(
    policyFile,
    stringify({
      version: 1,
      rules: [{ id: 'ci', effect: 'allow', issuer: issuer.issuer, when: { repository_owner: 'octo-org' }, grants: [{ repository: 'octo-org/**', actions: ['pull', 'push'] }] }],
    }),
  );
  const configFile = path.join(dir, `${name}.yaml`);
  await writeFile(
    configFile,
    stringify({
      server: { host: '127.0.0.1', port, shutdown: { drainDelay: DRAIN_DELAY_SEC, timeout: TIMEOUT_SEC } },
      token: { issuer: 'portcullis-test', services: [SERVICE] },
      dataDir: path.join(dir, `${name}-data`),
      issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD], algorithms: ['RS256'] }],
      policy: { file: policyFile, watch: false },
      store,
      sessions: { rateLimits: { enabled: false } },
      log: { level: 'info' },
    }),
  );
  const args = [...cliArgs(), 'serve', '-c', configFile, ...(workers > 1 ? ['--workers', String(workers)] : [])];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 45_000;
  // Ready when as many processes as expected logged "ready" (each worker warms its own caches).
  while ((out.match(/"msg":"ready"/g) ?? []).length < workers) {
    if (child.exitCode !== null) throw new Error(`serve exited during start-up:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve not ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, output: () => out, exited };
}

/** A POST whose body trickles in over `ms`: accepted before SIGTERM, finished after the listener closed. */
function slowRequest(url: string, ms: number): Promise<{ status?: number; error?: string }> {
  const { hostname, port } = new URL(url);
  const body = new URLSearchParams({ grant_type: 'password', service: SERVICE, username: 'ci', password: 'not-a-token' }).toString();
  return new Promise((resolve) => {
    const req = request({ hostname, port, method: 'POST', path: '/token', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.once('error', (e) => resolve({ error: e.message }));
    });
    req.once('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), ms);
  });
}

async function sigtermUnderLoad(name: string, store: object, workers: number): Promise<void> {
  const broker = await serve(name, store, workers);
  try {
    let i = 0;
    const burst = startBurst(broker.url, () => requests[i++ % requests.length] as BurstRequest, {
      rate: 200,
      keepAliveShare: 0.7,
      connections: 16,
      // A load balancer that notices /readyz within 100 ms and needs 200 ms more to stop routing.
      followReadiness: { pollMs: 100, reactionMs: 200 },
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const slow = slowRequest(broker.url, DRAIN_DELAY_SEC * 1000 + 800);
    await new Promise((r) => setTimeout(r, 100));
    const before = { ...burst.result, byStatus: { ...burst.result.byStatus } };
    const sentAt = Date.now();
    broker.child.kill('SIGTERM');
    const { code, at } = await broker.exited;
    const result = await burst.stop();
    const slowResult = await slow;
    const summary = JSON.stringify({ ...result, latencies: result.latencies.length });

    // Load ran before the signal and answered 200s.
    expect(before.byStatus['200'] ?? 0, summary).toBeGreaterThan(100);
    // Every request that was accepted got an answer: no resets, nothing lost.
    expect(result.reset, summary).toBe(0);
    expect(result.otherErrors, summary).toEqual({});
    expect(result.answered + result.refused + result.rerouted, summary).toBe(result.sent);
    // Only successes: a drain that answered 503 would be a lost request by another name.
    expect(Object.keys(result.byStatus), summary).toEqual(['200']);
    // Readiness turned false while the broker still answered.
    expect(result.notReadyAt, summary).toBeDefined();
    // Keep-alive clients were told to close during the drain.
    expect(result.connectionClose, summary).toBeGreaterThan(0);
    // The request that straddled the listener's close was answered (a 401: its password is no token).
    expect(slowResult).toEqual({ status: 401 });
    // Drain delay respected, exit well within the bound, and a clean exit.
    expect(at - sentAt).toBeGreaterThanOrEqual(DRAIN_DELAY_SEC * 1000 - 100);
    expect(at - sentAt).toBeLessThan(TIMEOUT_SEC * 1000);
    expect(code, broker.output().slice(-2000)).toBe(0);
    expect((broker.output().match(/stopped: every accepted request answered/g) ?? []).length).toBe(workers);
  } finally {
    broker.child.kill('SIGKILL');
  }
}

describe('serve: SIGTERM during a burst', () => {
  it('one process, memory store: drains, answers every accepted request, exits within the bound', async () => {
    await sigtermUnderLoad('single', { type: 'memory' }, 1);
  }, 60_000);

  it('--workers 2, redis store: the same in every worker, and the primary exits within the bound', async () => {
    await sigtermUnderLoad('workers', { type: 'redis', url: redis.url }, 2);
  }, 90_000);
});
