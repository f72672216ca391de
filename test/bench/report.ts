/** The benchmark's printed output: the results table and the PASS/MISS lines. */
import { cpus, release, totalmem } from 'node:os';
import type { LoadResult } from './load.js';

export interface Row {
  scenario: string;
  server: string;
  result?: LoadResult;
  skipped?: string;
  /** Broker req/s over the baseline's for the same scenario. */
  ratio?: number;
  note?: string;
}

export interface TargetLine {
  target: string;
  measured: string;
  pass: boolean;
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');

/** A Markdown table, readable as plain text and pasteable into docs/performance.md. */
export function formatTable(rows: readonly Row[]): string {
  const head = ['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'RSS MB', 'server CPU', 'loadgen CPU', 'non-2xx', 'broker/baseline'];
  const lines = rows.map((r) => {
    if (!r.result) return [r.scenario, r.server, `skipped: ${r.skipped ?? '?'}`, '', '', '', '', '', '', ''];
    const x = r.result;
    return [
      r.scenario,
      r.server,
      x.rps.toFixed(0),
      ms(x.p50),
      ms(x.p99),
      mb(x.peakRss),
      `${x.serverCores.toFixed(2)} cores`,
      `${x.loadgenCores.toFixed(2)} cores`,
      String(x.non2xx + x.errors),
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '',
    ];
  });
  const all = [head, ...lines];
  const width = head.map((_, i) => Math.max(...all.map((l) => (l[i] ?? '').length)));
  const fmt = (l: string[]): string => `| ${l.map((c, i) => c.padEnd(width[i] ?? 0)).join(' | ')} |`;
  return [fmt(head), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

export function formatTargets(targets: readonly TargetLine[]): string {
  return targets.map((t) => `${t.pass ? 'PASS' : 'MISS'}  ${t.target}: ${t.measured}`).join('\n');
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}`;
}
