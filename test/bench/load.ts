/**
 * The load generator: autocannon's programmatic API, with latencies kept at full precision
 * (autocannon's own histogram rounds to whole milliseconds, too coarse for sub-millisecond p50s).
 */
import autocannon, { type Client, type Request } from 'autocannon';
import { sampleTree } from './proc-stats.js';

export interface LoadShape {
  /** Either fixed requests or a per-client setup (e.g. a refresh-token chain). */
  requests?: Request[];
  setupClient?: (client: Client) => void;
}

export interface LoadOptions {
  connections: number;
  seconds: number;
  /** Fixed total request rate (req/s) instead of as fast as possible. */
  overallRate?: number;
  /** Sees every response (status, latency in ms), e.g. to count refusals apart. */
  onResponse?: (status: number, ms: number) => void;
}

export interface LoadResult {
  /** performance.now() when the phase started. */
  startedAt: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Peak RSS of the server process tree, bytes. */
  peakRss: number;
  /** CPU seconds the server tree used during the run, per wall second. */
  serverCores: number;
  /** CPU the load generator (this process) used, per wall second. */
  loadgenCores: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Runs one load phase against `url`, sampling the server process tree rooted at `serverPid`. */
export async function runLoad(url: string, serverPid: number, shape: LoadShape, o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  const sampler = sampleTree(serverPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let finish: (r: autocannon.Result) => void = () => undefined;
  let fail: (e: unknown) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
    url,
    connections: o.connections,
    duration: o.seconds,
    ...(o.overallRate !== undefined ? { overallRate: o.overallRate } : {}),
    ...(shape.requests ? { requests: shape.requests } : {}),
    ...(shape.setupClient ? { setupClient: shape.setupClient } : {}),
    timeout: 10,
    },
    (err, res) => (err ? fail(err) : finish(res)),
  );
  instance.on('response', (_client: Client, statusCode: number, _bytes: number, responseTime: number) => {
    o.onResponse?.(statusCode, responseTime);
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    else non2xx += 1;
  });
  const result = await done;
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const usage = sampler.stop();
  const sorted = Float64Array.from(latencies).sort();
  return {
    startedAt: t0,
    ok: latencies.length,
    non2xx,
    errors: result.errors + result.timeouts,
    seconds: wall,
    rps: latencies.length / wall,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    peakRss: usage.peakRssBytes,
    serverCores: usage.cpuSeconds / wall,
    loadgenCores: (cpu.user + cpu.system) / 1e6 / wall,
  };
}
