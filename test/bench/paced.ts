/**
 * An open-loop, evenly paced load generator for the fixed-rate targets. autocannon's
 * `overallRate` sends each connection's whole per-second quota back to back at the top of every
 * second and then idles, so its latencies measure that burst's queue, not the server at a steady
 * rate. Here request k is due at k/rate seconds and its latency counts from that due time, so a
 * stalled server is not hidden either (no coordinated omission).
 */
import { Agent, request } from 'node:http';
import type { BenchRequest } from './fixtures.js';
import type { LoadResult } from './load.js';
import { sampleTree } from './proc-stats.js';

export async function runPaced(
  url: string,
  serverPid: number,
  next: () => BenchRequest,
  o: { rate: number; seconds: number; connections: number; onResponse?: (status: number, ms: number) => void },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const { hostname, port } = new URL(url);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  const total = Math.round(o.rate * o.seconds);
  const sampler = sampleTree(serverPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  const fire = (due: number): void => {
    const r = next();
    inFlight += 1;
    const req = request({ agent, hostname, port, path: r.path, headers: { authorization: r.authorization } }, (res) => {
      res.resume();
      res.on('end', () => {
        inFlight -= 1;
        o.onResponse?.(res.statusCode ?? 0, performance.now() - due);
        if (res.statusCode === 200) latencies.push(performance.now() - due);
        else non2xx += 1;
      });
    });
    req.on('error', () => {
      inFlight -= 1;
      errors += 1;
    });
    req.end();
  };

  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const dueCount = Math.min(total, Math.floor(((now - t0) / 1000) * o.rate));
      while (sent < dueCount) fire(t0 + (sent++ * 1000) / o.rate);
      if (sent >= total) {
        clearInterval(tick);
        const drain = setInterval(() => {
          if (inFlight === 0 || performance.now() - now > 10_000) {
            clearInterval(drain);
            resolve();
          }
        }, 5);
      }
    }, 1);
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const usage = sampler.stop();
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  return {
    startedAt: t0,
    ok: latencies.length,
    non2xx,
    errors,
    seconds: wall,
    rps: latencies.length / wall,
    p50: pct(50),
    p99: pct(99),
    peakRss: usage.peakRssBytes,
    serverCores: usage.cpuSeconds / wall,
    loadgenCores: (cpu.user + cpu.system) / 1e6 / wall,
  };
}
