/**
 * Closed-loop load with Debian's `wrk`, pinned to its own core: a C generator with a Lua script
 * costs a few microseconds per request, where a Node generator costs about as much as the server
 * it measures. The Lua scripts cycle through pre-minted requests (one per line of a file) or
 * carry refresh-token chains, and print one JSON line that `runWrk` reads back.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findBinary } from '../helpers/processes.js';
import type { LoadResult } from './load.js';
import { sampleTree } from './proc-stats.js';
import { taskset } from './servers.js';

export const wrkBinary = findBinary('wrk');

const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nWRK-JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

/**
 * Pre-formatted requests, one per line of a file, sent in order and wrapping round. `parse`
 * is the Lua body that turns `line` into a request: a GET from `path<TAB>authorization`, or
 * POST /token with a form body (refresh grants without rotation, the default: docker and
 * skopeo keep the first refresh token).
 */
const cycle = (parse: string): string => `
local reqs, n, i = {}, 0, 0
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
init = function(args)
  for line in io.lines(args[1]) do
    n = n + 1
    ${parse}
  end
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
${REPORT}`;

const GET = cycle(`local path, auth = line:match("^([^\\t]*)\\t(.*)$")
    reqs[n] = wrk.format("GET", path, { ["Authorization"] = auth })`);
const POST = cycle(`reqs[n] = wrk.format("POST", "/token", form, line)`);

export interface WrkScripts {
  /** GET: args = [file of path<TAB>authorization lines]. */
  get: string;
  /** POST form: args = [file of form bodies]. */
  post: string;
}

export async function writeWrkScripts(dir: string): Promise<WrkScripts> {
  const get = join(dir, 'get.lua');
  const post = join(dir, 'post.lua');
  await writeFile(get, GET);
  await writeFile(post, POST);
  return { get, post };
}

export interface WrkOptions {
  script: string;
  /** Arguments the Lua init() receives. */
  args: readonly string[];
  connections: number;
  seconds: number;
  /** CPU list wrk is pinned to (taskset), e.g. "1". */
  cpus?: string;
}

interface WrkJson {
  requests: number;
  duration_us: number;
  non2xx: number;
  socket_errors: number;
  p50_us: number;
  p99_us: number;
}

/** One wrk run against `url`; CPU and peak RSS of the server tree `serverPid` from /proc. */
export async function runWrk(url: string, serverPid: number, o: WrkOptions): Promise<LoadResult> {
  if (!wrkBinary) throw new Error('wrk not found: apt-get install wrk');
  // wrk takes whole seconds only.
  const argv = ['-t1', `-c${o.connections}`, `-d${Math.max(1, Math.round(o.seconds))}s`, '--latency', '--timeout', '10s', '-s', o.script, url, '--', ...o.args];
  const [command, args] = o.cpus !== undefined && taskset ? [taskset, ['-c', o.cpus, wrkBinary, ...argv]] : [wrkBinary, argv];
  const sampler = sampleTree(serverPid);
  const startedAt = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    execFile(command, args, { maxBuffer: 1 << 20, timeout: (o.seconds + 60) * 1000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  const usage = sampler.stop();
  const line = /WRK-JSON (\{.*\})/.exec(out)?.[1];
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const r = JSON.parse(line) as WrkJson;
  const seconds = r.duration_us / 1e6;
  const ok = r.requests - r.non2xx;
  return {
    startedAt,
    ok,
    non2xx: r.non2xx,
    errors: r.socket_errors,
    seconds,
    rps: ok / seconds,
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    peakRss: usage.peakRssBytes,
    serverCores: usage.cpuSeconds / seconds,
    loadgenCores: Number.NaN,
  };
}
