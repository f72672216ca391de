/**
 * Garbage-collection figures of a server under the bench, per answered HTTP request:
 *
 *   BENCH_GC_STATS=/tmp/gc.txt NODE_OPTIONS="--import ./test/bench/gc-stats.mjs" BENCH_QUICK=1 npm run bench
 *
 * Preloaded into every node process the bench starts (the servers inherit NODE_OPTIONS); only
 * processes that answer HTTP requests write a line, when they exit: bytes allocated per request
 * (the young generation's growth between collections, from v8.GCProfiler), collections, their
 * time per request, and what the last young-generation collections kept and promoted. A
 * diagnostic for where the broker's extra CPU and memory go, not a target: it adds a listener
 * per request and one record per collection.
 */
import { subscribe } from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import process from 'node:process';
import { GCProfiler } from 'node:v8';

const out = process.env.BENCH_GC_STATS;
if (out) {
  let requests = 0;
  subscribe('http.server.request.start', () => {
    requests += 1;
  });
  const profiler = new GCProfiler();
  profiler.start();
  process.once('exit', () => {
    const { statistics } = profiler.stop();
    if (requests === 0) return;
    const used = (s) => s.heapStatistics.usedHeapSize;
    const space = (s, name) => s.heapSpaceStatistics.find((x) => x.spaceName === name)?.spaceUsedSize ?? 0;
    let allocated = 0;
    let gcMicros = 0;
    let previous;
    const young = [];
    for (const s of statistics) {
      if (previous !== undefined) allocated += Math.max(0, used(s.beforeGC) - used(previous.afterGC));
      previous = s;
      gcMicros += s.cost;
      if (s.gcType === 'Scavenge') {
        young.push({ kept: space(s.afterGC, 'new_space'), promoted: space(s.afterGC, 'old_space') - space(s.beforeGC, 'old_space'), micros: s.cost });
      }
    }
    const last = young.slice(-50);
    const mean = (key) => (last.length === 0 ? 0 : last.reduce((a, x) => a + x[key], 0) / last.length);
    const name = (process.argv[1] ?? '').split('/').slice(-2).join('/');
    appendFileSync(
      out,
      `${name} pid ${process.pid}: ${requests} requests; ${(allocated / requests / 1024).toFixed(1)} KB allocated per request; ` +
        `${statistics.length} collections (${young.length} young), ${(gcMicros / requests).toFixed(1)} µs of collection per request; ` +
        `last young collections: ${(mean('micros') / 1000).toFixed(2)} ms each, kept ${(mean('kept') / 1024).toFixed(0)} KB, promoted ${(mean('promoted') / 1024).toFixed(0)} KB\n`,
    );
  });
}
