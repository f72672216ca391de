/**
 * `npm run soak`: sustained load and saturation of the broker (a child process from dist/).
 *
 * 1. For each store (memory, Redis): the peak with fresh single-use ID tokens (closed loop),
 *    then 70 % of that peak, evenly paced, for SOAK_MINUTES. Prints req/s, p99, non-2xx and RSS
 *    per segment, the RSS slope after the warm-up (until the first single-use markers expire the
 *    store only grows), and every warning the broker
 *    logged (log lines at level warn and above, and Node warnings on stderr).
 * 2. Saturation (memory): a store with few entries is driven past full with fresh tokens; prints
 *    the refusal rate (closed loop) and p99 of the 503s, and the p99 of unrelated requests
 *    (/healthz and a re-presented token of an issuer without single use) at the same paced token
 *    rate before and after the store is full.
 * 3. SIGTERM during a burst (SOAK_BURST_RATE req/s, capped at 80 % of the measured peak; keep-alive
 *    and new connections; a client that follows /readyz like a load balancer): resets counted,
 *    time to exit.
 * Each target prints PASS or MISS.
 *
 * Fresh tokens are minted while the load runs (ES256: cheap to sign, so a 10-minute soak needs
 * no pre-minted pool of a million tokens); single use applies to five of the six issuers.
 *
 *   SOAK_MINUTES (10)            length of each steady phase
 *   SOAK_SEGMENT_SECONDS (60)    reporting interval ("per minute")
 *   SOAK_STORES (memory,redis)   which stores get a steady phase
 *   SOAK_PEAK                    skip the peak measurement and use this req/s for every store
 *   SOAK_PEAK_SECONDS (10)       length of the peak measurement
 *   SOAK_FULL_ENTRIES (20000)    maxEntries of the saturation broker
 *   SOAK_FULL_SECONDS (20)       length of each measured saturation phase (closed loop, paced)
 *   SOAK_BURST_RATE (2000)       request rate of the SIGTERM burst
 *   SOAK_CONNECTIONS (48)        closed-loop and paced connections
 */
import { readFile, mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestIssuer } from '../helpers/issuer.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { percentile, startBurst, type BurstResult } from '../helpers/burst.js';
import { brokerConfig, mintPool, writeConfig, writePolicy, ISSUER_COUNT, type BenchRequest } from './fixtures.js';
import { runLoad, type LoadResult } from './load.js';
import { runPaced } from './paced.js';
import { processTree, treeUsage } from './proc-stats.js';
import { formatTargets, machine, type TargetLine } from './report.js';
import { probeGet } from './scenarios.js';
import { prepareServers, startBroker, type ServerProcess } from './servers.js';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
};
const MINUTES = env('SOAK_MINUTES', 10);
const SEGMENT_SECONDS = env('SOAK_SEGMENT_SECONDS', 60);
const STORES = (process.env.SOAK_STORES ?? 'memory,redis').split(',').map((s) => s.trim()).filter(Boolean);
const FIXED_PEAK = process.env.SOAK_PEAK ? env('SOAK_PEAK', 1) : undefined;
const PEAK_SECONDS = env('SOAK_PEAK_SECONDS', 10);
const FULL_ENTRIES = env('SOAK_FULL_ENTRIES', 20_000);
const FULL_SECONDS = env('SOAK_FULL_SECONDS', 20);
const BURST_RATE = env('SOAK_BURST_RATE', 2_000);
const CONNECTIONS = env('SOAK_CONNECTIONS', 48);
/** ID-token lifetime and clock skew: a single-use marker lives about their sum. */
const TOKEN_LIFETIME_SEC = 60;
const CLOCK_SKEW_SEC = 10;
/** Issuers tenant-0 … tenant-4 demand single use; tenant-5 serves the re-presented probe token. */
const SINGLE_USE_TENANTS = ISSUER_COUNT - 1;
const PROBE_RATE = 20;
/** RSS is compared only after every single-use marker of the first tokens has expired once. */
const WARMUP_SEC = Math.max(SEGMENT_SECONDS, TOKEN_LIFETIME_SEC + CLOCK_SKEW_SEC + 10);
const SHUTDOWN_TIMEOUT_SEC = 10;

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');

/** Fresh ES256 ID tokens minted in the background, a few seconds ahead of the load. */
class TokenFeed {
  /** Oldest first, each with the time it was minted. */
  private readonly buffer: { r: BenchRequest; at: number }[] = [];
  /** Tokens dropped unused because they came too close to expiry in the buffer. */
  stale = 0;
  private offset = 0;
  private running = true;
  starved = 0;
  private readonly loop: Promise<void>;

  constructor(
    private readonly issuer: TestIssuer,
    private readonly fallback: BenchRequest,
    /** Tokens to keep ready. */
    public ahead: number,
  ) {
    this.loop = this.run();
  }

  private async mint(count: number): Promise<void> {
    // n ≡ 0..4 (mod 5): single-use issuers only; offsets never repeat, so neither do tokens.
    const batch = await mintPool(this.issuer, count, this.offset, { alg: 'ES256', lifetimeSeconds: TOKEN_LIFETIME_SEC, tenants: SINGLE_USE_TENANTS });
    this.offset += count;
    const at = Date.now();
    for (const r of batch) this.buffer.push({ r, at });
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.buffer.length < this.ahead) await this.mint(250);
      else await sleep(10);
    }
  }

  async fill(count: number): Promise<void> {
    while (this.buffer.length < count) await this.mint(Math.min(2_000, count - this.buffer.length));
  }

  /** The next fresh token; when minting fell behind, the re-presented one (counted). */
  next(): BenchRequest {
    // A token that has spent half its life waiting would expire in flight or soon after.
    const freshAfter = Date.now() - (TOKEN_LIFETIME_SEC * 1000) / 2;
    for (;;) {
      const item = this.buffer.shift();
      if (item === undefined) break;
      if (item.at >= freshAfter) return item.r;
      this.stale += 1;
    }
    this.starved += 1;
    return this.fallback;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

interface Probes {
  stop(): Promise<{ health: BurstResult; repeated: BurstResult }>;
}

/** Unrelated requests alongside the load: /healthz and a re-presented token, each at PROBE_RATE. */
function startProbes(url: string, repeated: BenchRequest): Probes {
  const health = startBurst(url, () => ({ path: '/healthz' }), { rate: PROBE_RATE, keepAliveShare: 1, connections: 4 });
  const again = startBurst(url, () => ({ path: repeated.path, headers: { authorization: repeated.authorization } }), { rate: PROBE_RATE, keepAliveShare: 1, connections: 4 });
  return {
    async stop() {
      return { health: await health.stop(), repeated: await again.stop() };
    },
  };
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  if (points.length < 2) return NaN;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return den === 0 ? NaN : num / den;
}

/** Log lines at warn or above, and Node warnings on stderr, with counts. */
async function brokerWarnings(logFile: string, stderr: string): Promise<string[]> {
  const counts = new Map<string, number>();
  const text = await readFile(logFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.includes('"level":4') && !line.includes('"level":5') && !line.includes('"level":6')) continue;
    try {
      const rec = JSON.parse(line) as { level: number; msg?: string };
      if (rec.level >= 40) {
        const key = `level ${rec.level}: ${rec.msg ?? line.slice(0, 160)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    } catch {
      // a line cut by the end of the run
    }
  }
  for (const line of stderr.split('\n')) {
    if (/warning/i.test(line)) counts.set(`stderr: ${line.trim().slice(0, 200)}`, (counts.get(`stderr: ${line.trim().slice(0, 200)}`) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} × ${k}`);
}

async function main(): Promise<void> {
  prepareServers();
  const work = await mkdtemp(join(tmpdir(), 'portcullis-soak-'));
  const dataDir = join(work, 'data');
  const issuer = await TestIssuer.start({ algs: ['RS256', 'ES256'] });
  let redis: RedisServer | null = null;
  const servers = new Set<ServerProcess>();
  const targets: TargetLine[] = [];
  const feeds: TokenFeed[] = [];
  const cleanup = async (): Promise<void> => {
    for (const f of feeds) await f.stop();
    for (const s of servers) await s.stop();
    await redis?.stop();
    await issuer.close();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    log(`portcullis soak — ${machine()}; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    log(`steady phases ${MINUTES} min at 70 % of peak, reported every ${SEGMENT_SECONDS} s; fresh ES256 ID tokens (lifetime ${TOKEN_LIFETIME_SEC} s, skew ${CLOCK_SKEW_SEC} s), single use on 5 of 6 issuers`);
    const policy = await writePolicy(work, issuer);
    const [repeated] = await mintPool(issuer, 1, SINGLE_USE_TENANTS, { alg: 'ES256', lifetimeSeconds: 3 * 3600 });
    if (!repeated) throw new Error('no token minted');
    const feed = new TokenFeed(issuer, repeated, 3_000);
    feeds.push(feed);

    const broker = async (name: string, store: 'memory' | 'redis', maxEntries: number): Promise<{ s: ServerProcess; logFile: string }> => {
      const logFile = join(work, `${name}.log`);
      const s = await startBroker(
        (port) => {
          const base = brokerConfig(issuer, { port, dataDir, policyFile: policy.file, logLevel: 'info', ...(store === 'redis' && redis ? { redisUrl: redis.url } : {}) }) as Record<string, unknown>;
          const config = {
            ...base,
            server: { host: '127.0.0.1', port, shutdown: { drainDelay: 1, timeout: SHUTDOWN_TIMEOUT_SEC } },
            issuers: (base.issuers as Record<string, unknown>[]).map((i) => ({ ...i, algorithms: ['RS256', 'ES256'], clockSkew: CLOCK_SKEW_SEC })),
            store: store === 'redis' ? base.store : { type: 'memory', maxEntries },
            sessions: {
              ...(base.sessions as Record<string, unknown>),
              // GET with fresh tokens needs no refresh sessions; with memory they would only print a start-up warning.
              refreshTokens: { enabled: store === 'redis' },
              idTokens: { singleUseIssuers: Array.from({ length: SINGLE_USE_TENANTS }, (_, t) => `tenant-${t}`) },
            },
          };
          return writeConfig(work, `${name}.json`, config);
        },
        { logFile },
      );
      servers.add(s);
      await probeGet(s.url, repeated);
      return { s, logFile };
    };
    const stop = async (s: ServerProcess): Promise<void> => {
      await s.stop();
      servers.delete(s);
    };

    /** Closed loop with fresh tokens; the probes run alongside. */
    const peakOf = async (s: ServerProcess, seconds: number, onResponse?: (status: number, ms: number) => void): Promise<{ r: LoadResult; probes: Awaited<ReturnType<Probes['stop']>> }> => {
      const probes = startProbes(s.url, repeated);
      const r = await runLoad(s.url, s.pid, { requests: [{ method: 'GET', setupRequest: (req) => { const t = feed.next(); return { ...req, path: t.path, headers: { authorization: t.authorization } }; } }] }, { connections: CONNECTIONS, seconds, ...(onResponse ? { onResponse } : {}) });
      return { r, probes: await probes.stop() };
    };

    let memoryPeak: { rps: number; healthP99: number; repeatedP99: number } | undefined;
    try {
      redis = await startRedis();
    } catch (err) {
      log(`Redis unavailable: ${(err as Error).message.split('\n')[0]}`);
    }

    // ---- 1. steady phases ----
    for (const store of STORES) {
      if (store !== 'memory' && store !== 'redis') throw new Error(`SOAK_STORES: unknown store ${store}`);
      if (store === 'redis' && !redis) {
        targets.push({ target: 'redis soak', measured: 'Redis unavailable', pass: false });
        continue;
      }
      log(`\n[steady, ${store}]`);
      // A memory store sized for the steady rate (see docs/operations.md): never full here.
      const guess = FIXED_PEAK ?? 5_000;
      const { s, logFile } = await broker(`steady-${store}`, store, Math.max(100_000, Math.ceil(guess * (TOKEN_LIFETIME_SEC + CLOCK_SKEW_SEC) * 1.5)));
      let peak = FIXED_PEAK;
      if (peak === undefined) {
        feed.ahead = 10_000;
        await feed.fill(10_000);
        await peakOf(s, 3); // warm-up
        const starved = feed.starved;
        const { r, probes } = await peakOf(s, PEAK_SECONDS);
        peak = r.rps;
        if (feed.starved > starved) log(`  NOTE: ${feed.starved - starved} requests of the peak went out with a re-presented token (minting fell behind): the peak is overstated`);
        log(`  peak: ${r.rps.toFixed(0)} req/s (closed loop, ${CONNECTIONS} connections), p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, non-2xx ${r.non2xx + r.errors}`);
        log(`  probes alongside: /healthz p99 ${ms(percentile(probes.health.latencies, 99))} ms, re-presented token p99 ${ms(percentile(probes.repeated.latencies, 99))} ms`);
        if (store === 'memory') {
          memoryPeak = { rps: r.rps, healthP99: percentile(probes.health.latencies, 99), repeatedP99: percentile(probes.repeated.latencies, 99) };
        }
      }
      const rate = Math.max(1, Math.round(peak * 0.7));
      feed.ahead = Math.max(500, rate * 5);
      await feed.fill(feed.ahead);
      const starvedBefore = feed.starved;
      log(`  steady: ${rate} req/s (70 % of ${peak.toFixed(0)}) for ${MINUTES} min`);
      log('  segment | req/s | p99 ms | non-2xx | RSS MB');
      const t0 = performance.now();
      const points: { x: number; y: number }[] = [];
      let bad = 0;
      let worstP99 = 0;
      const segments = Math.max(1, Math.round((MINUTES * 60) / SEGMENT_SECONDS));
      for (let i = 0; i < segments; i += 1) {
        const r = await runPaced(s.url, s.pid, () => feed.next(), { rate, seconds: SEGMENT_SECONDS, connections: CONNECTIONS });
        const rss = treeUsage(processTree(s.pid)).rssBytes;
        const minute = (performance.now() - t0) / 60_000;
        // Warm-up: until the first markers expire the store only grows (then it holds rate × marker lifetime).
        if (minute * 60 >= WARMUP_SEC) points.push({ x: minute, y: rss / 2 ** 20 });
        bad += r.non2xx + r.errors;
        worstP99 = Math.max(worstP99, r.p99);
        log(`  ${String(i + 1).padStart(7)} | ${r.rps.toFixed(0).padStart(5)} | ${ms(r.p99).padStart(6)} | ${String(r.non2xx + r.errors).padStart(7)} | ${mb(rss)}`);
      }
      const rssSlope = slope(points);
      const warnings = await brokerWarnings(logFile, s.stderr());
      await stop(s);
      log(`  RSS slope after ${WARMUP_SEC} s of warm-up: ${Number.isFinite(rssSlope) ? rssSlope.toFixed(2) : 'n/a (needs two segments after the warm-up)'} MB/min; tokens not minted in time (a re-presented one went instead): ${feed.starved - starvedBefore}`);
      log(`  warnings logged by the broker: ${warnings.length === 0 ? 'none' : ''}`);
      for (const w of warnings) log(`    ${w}`);
      targets.push(
        { target: `${store}: RSS slope < 1 MB/min after warm-up`, measured: Number.isFinite(rssSlope) ? `${rssSlope.toFixed(2)} MB/min over ${points.length} segments` : 'not enough segments', pass: Number.isFinite(rssSlope) && rssSlope < 1 },
        { target: `${store}: zero warnings`, measured: `${warnings.length} kinds`, pass: warnings.length === 0 },
        { target: `${store}: zero non-2xx at 70 % of peak`, measured: `${bad} (worst segment p99 ${ms(worstP99)} ms)`, pass: bad === 0 },
      );
    }

    // ---- 2. saturation: the memory store past full ----
    // Unrelated requests are compared at the same paced token rate (70 % of peak) before and
    // after the store is full, so the comparison measures what being full costs, not queueing
    // at 100 % load; the refusal rate is measured closed loop.
    log(`\n[saturation, memory store of ${FULL_ENTRIES} entries]`);
    {
      const { s, logFile } = await broker('saturation', 'memory', FULL_ENTRIES);
      const peak = memoryPeak?.rps ?? FIXED_PEAK ?? 1_000;
      const rate = Math.max(1, Math.round(peak * 0.7));
      feed.ahead = Math.max(2_000, Math.round(peak * 5));
      await feed.fill(Math.min(feed.ahead, FULL_ENTRIES));
      const pacedWithProbes = async (seconds: number, onResponse?: (status: number, ms: number) => void) => {
        const probes = startProbes(s.url, repeated);
        const r = await runPaced(s.url, s.pid, () => feed.next(), { rate, seconds, connections: CONNECTIONS, ...(onResponse ? { onResponse } : {}) });
        return { r, probes: await probes.stop() };
      };
      // Normal: well below full (at most a third of the entries).
      const normalSeconds = Math.max(3, Math.min(FULL_SECONDS, Math.floor(FULL_ENTRIES / 3 / rate)));
      const normal = await pacedWithProbes(normalSeconds);
      const normalHealth = percentile(normal.probes.health.latencies, 99);
      const normalRepeated = percentile(normal.probes.repeated.latencies, 99);
      log(`  normal (${normalSeconds} s at ${rate} req/s, store not full): token p99 ${ms(normal.r.p99)} ms, non-2xx ${normal.r.non2xx}; /healthz p99 ${ms(normalHealth)} ms, re-presented token p99 ${ms(normalRepeated)} ms`);

      let refusedDuringFill = 0;
      const fillStarted = performance.now();
      const fillBound = Math.ceil(FULL_ENTRIES / Math.max(50, peak * 0.3)) + 5;
      while (refusedDuringFill === 0 && performance.now() - fillStarted < fillBound * 1000) {
        await peakOf(s, 2, (status) => {
          if (status === 503) refusedDuringFill += 1;
        });
      }
      log(`  full after ${((performance.now() - fillStarted) / 1000).toFixed(0)} s${refusedDuringFill === 0 ? ' — NOT full: no 503 yet' : ''}`);

      const refusals: number[] = [];
      const other: Record<string, number> = {};
      const closed = await peakOf(s, FULL_SECONDS, (status, latency) => {
        if (status === 503) refusals.push(latency);
        else other[String(status)] = (other[String(status)] ?? 0) + 1;
      });
      const refusalRate = refusals.length / closed.r.seconds;
      log(`  closed loop on the full store: ${refusalRate.toFixed(0)} refusals (503)/s, p50 ${ms(percentile(refusals, 50))} ms, p99 ${ms(percentile(refusals, 99))} ms; other answers ${JSON.stringify(other)}; errors ${closed.r.errors}`);

      const pacedRefusals: number[] = [];
      const full = await pacedWithProbes(FULL_SECONDS, (status, latency) => {
        if (status === 503) pacedRefusals.push(latency);
      });
      const fullHealth = percentile(full.probes.health.latencies, 99);
      const fullRepeated = percentile(full.probes.repeated.latencies, 99);
      log(`  full (${FULL_SECONDS} s at ${rate} req/s): ${pacedRefusals.length} of ${pacedRefusals.length + full.r.ok} answered 503, p99 ${ms(percentile(pacedRefusals, 99))} ms; /healthz p99 ${ms(fullHealth)} ms (${JSON.stringify(full.probes.health.byStatus)}), re-presented token p99 ${ms(fullRepeated)} ms (${JSON.stringify(full.probes.repeated.byStatus)})`);
      const warnings = await brokerWarnings(logFile, s.stderr());
      await stop(s);
      log(`  warnings logged by the broker: ${warnings.length === 0 ? 'none' : ''}`);
      for (const w of warnings) log(`    ${w}`);
      targets.push(
        { target: 'store full: refusals ≥ 0.5× normal token throughput', measured: `${refusalRate.toFixed(0)}/s vs peak ${peak.toFixed(0)} req/s (${(refusalRate / peak).toFixed(2)}×)`, pass: refusalRate >= 0.5 * peak },
        { target: 'store full: /healthz p99 within 2× of normal', measured: `${ms(fullHealth)} ms vs ${ms(normalHealth)} ms`, pass: fullHealth <= 2 * normalHealth },
        { target: 'store full: re-presented token p99 within 2× of normal', measured: `${ms(fullRepeated)} ms vs ${ms(normalRepeated)} ms`, pass: fullRepeated <= 2 * normalRepeated },
      );
    }

    // ---- 3. SIGTERM during a burst ----
    // A burst above capacity measures overload (the backlog overflows with or without SIGTERM), not shutdown.
    const burstRate = memoryPeak ? Math.min(BURST_RATE, Math.round(memoryPeak.rps * 0.8)) : BURST_RATE;
    log(`\n[SIGTERM during a ${burstRate} req/s burst${burstRate < BURST_RATE ? ` (capped at 80 % of this machine's peak; asked ${BURST_RATE})` : ''} (memory store; 50 % keep-alive; the client follows /readyz like a load balancer)]`);
    {
      const { s } = await broker('sigterm', 'memory', 100_000);
      const burst = startBurst(s.url, () => ({ path: repeated.path, headers: { authorization: repeated.authorization } }), {
        rate: burstRate,
        keepAliveShare: 0.5,
        connections: CONNECTIONS,
        followReadiness: { pollMs: 100, reactionMs: 200 },
      });
      await sleep(3_000);
      const t = performance.now();
      await s.stop(); // SIGTERM; resolves when the process has exited
      const exitMs = performance.now() - t;
      servers.delete(s);
      const r = await burst.stop();
      log(`  sent ${r.sent}, answered ${r.answered} (${JSON.stringify(r.byStatus)}), rerouted ${r.rerouted}, refused after close ${r.refused}, reset ${r.reset} ${JSON.stringify(r.resetBy)}, other ${JSON.stringify(r.otherErrors)}; told to close ${r.connectionClose}`);
      log(`  exit ${exitMs.toFixed(0)} ms after SIGTERM (bound ${SHUTDOWN_TIMEOUT_SEC} s, drain delay 1 s)`);
      targets.push(
        { target: `SIGTERM burst at ${burstRate} req/s: zero requests without an answer`, measured: `${r.reset} resets, ${Object.values(r.otherErrors).reduce((a, b) => a + b, 0)} other errors of ${r.sent}`, pass: r.reset === 0 && Object.keys(r.otherErrors).length === 0 },
        { target: `SIGTERM burst: exit within ${SHUTDOWN_TIMEOUT_SEC} s`, measured: `${(exitMs / 1000).toFixed(2)} s`, pass: exitMs < SHUTDOWN_TIMEOUT_SEC * 1000 },
      );
    }

    log('\n== targets ==');
    log(`machine: ${machine()}; load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    log(formatTargets(targets));
    log(`\nfiles (configs, logs): ${work}`);
  } finally {
    await cleanup();
  }
}

await main();
