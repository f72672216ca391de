/**
 * Summarises V8 .cpuprofile files (node --cpu-prof): self time per function and per area
 * (a package under node_modules, a src/ folder, Node internals, GC). Usable alone:
 *   npx tsx test/bench/cpu-profile.ts <file.cpuprofile>...
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  functions: SelfTime[];
  areas: SelfTime[];
}

function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  const src = /\/(?:src|dist)\/([^/]+)\//.exec(url);
  if (src) return `src/${src[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|src|dist)\//, '$1/').replace(/^file:\/\//, '');
}

/**
 * Adds up self time over one or more profiles (cluster workers write one each), leaving out the
 * first `skipMs` of each (start-up: module loading, policy compile, warm-up).
 */
export async function summariseProfiles(files: readonly string[], top = 15, skipMs = 0): Promise<ProfileSummary> {
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    let elapsedUs = 0;
    profile.samples.forEach((id, i) => {
      const node = nodes.get(id);
      const us = profile.timeDeltas[i] ?? 0;
      elapsedUs += us;
      if (!node || us <= 0 || elapsedUs < skipMs * 1000) return;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)') return;
      total += us;
      const name = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
      byFn.set(name, (byFn.get(name) ?? 0) + us);
      const a = area(url, functionName);
      byArea.set(a, (byArea.get(a) ?? 0) + us);
    });
  }
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: total ? us / total : 0 }));
  return { totalMs: total / 1000, functions: rank(byFn), areas: rank(byArea) };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)} %`;
  return [
    `busy (non-idle) CPU time sampled: ${s.totalMs.toFixed(0)} ms`,
    'self time by area:',
    ...s.areas.map((a) => `  ${pct(a.share)}  ${a.name}`),
    'top functions by self time:',
    ...s.functions.map((f) => `  ${pct(f.share)}  ${f.name}`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write('usage: tsx test/bench/cpu-profile.ts <file.cpuprofile>...\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(await summariseProfiles(files, 25))}\n`);
}
