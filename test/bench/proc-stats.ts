/**
 * Resource use of a server process and its descendants (cluster workers) from /proc: resident
 * memory and CPU time. Linux only; elsewhere the figures are reported as unavailable (NaN).
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on every Linux ABI Node supports

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** `root` and every descendant still alive. */
export function processTree(root: number): number[] {
  let all: ProcStat[];
  try {
    all = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map((d) => readStat(Number(d)))
      .filter((s): s is ProcStat => s !== undefined);
  } catch {
    return [root];
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) for (const s of all) if (s.ppid === tree[i]) tree.push(s.pid);
  return tree;
}

export interface TreeUsage {
  rssBytes: number;
  cpuSeconds: number;
}

export function treeUsage(pids: readonly number[]): TreeUsage {
  let rss = 0;
  let cpu = 0;
  for (const pid of pids) {
    rss += rssBytes(pid);
    cpu += readStat(pid)?.cpuSeconds ?? 0;
  }
  return { rssBytes: rss, cpuSeconds: cpu };
}

/** Samples a process tree's RSS every `intervalMs` until stopped; returns peak RSS and CPU used. */
export function sampleTree(root: number, intervalMs = 200): { stop(): { peakRssBytes: number; cpuSeconds: number } } {
  // Found once: scanning all of /proc on every sample would stall the load generator's event loop.
  const pids = processTree(root);
  const start = treeUsage(pids);
  let peak = start.rssBytes;
  let last = start;
  const timer = setInterval(() => {
    last = treeUsage(pids);
    peak = Math.max(peak, last.rssBytes);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const end = treeUsage(pids);
      const final = end.cpuSeconds > 0 ? end : last;
      return { peakRssBytes: Math.max(peak, final.rssBytes), cpuSeconds: final.cpuSeconds - start.cpuSeconds };
    },
  };
}
