/**
 * Server processes under test, each a child process so its CPU and memory are measured apart
 * from the load generator: the broker (`portcullis serve`, optionally clustered, pinned or
 * profiled) and the baseline handler. Both run as plain JavaScript, as in production: the broker
 * from `dist/` (`npm run build`), the baseline transpiled by esbuild (tsx's own transpiler). A
 * TypeScript loader would add its transpiler thread and memory to the measured process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { freePort } from '../helpers/ports.js';
import { findBinary } from '../helpers/processes.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly label: string;
  /** performance.now() when the process was spawned (≈ the start of its CPU profile). */
  readonly spawnedAt: number;
  /** SIGTERM, SIGKILL after 10 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Last stderr output, for failure messages. */
  stderr(): string;
}

export interface SpawnOptions {
  /** CPU list for taskset, e.g. "0" or "0,1"; ignored when taskset is absent. */
  cpus?: string;
  /** Write a V8 CPU profile into this directory on exit. */
  cpuProfDir?: string;
  /** stdout (the JSON log) goes to this file; /dev/null when absent. */
  logFile?: string;
}

export const taskset = findBinary('taskset');
const BROKER_MAIN = join(ROOT, 'dist/cli/main.js');
// Inside the project so the baseline's imports (koa, ioredis, raw-body) resolve from node_modules.
const BASELINE_JS = join(ROOT, 'node_modules/.cache/portcullis-bench/baseline-server.mjs');

/** Builds the broker (`npm run build`) and transpiles the baseline server. */
export function prepareServers(): void {
  if (!builtIsCurrent()) execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const source = readFileSync(join(ROOT, 'test/bench/baseline-server.ts'), 'utf8');
  const { code } = transformSync(source, { loader: 'ts', format: 'esm', target: 'node20' });
  mkdirSync(join(BASELINE_JS, '..'), { recursive: true });
  writeFileSync(BASELINE_JS, code);
}

/** dist/ is newer than every file under src/ (a build takes ~10 s of a two-minute quick run). */
function builtIsCurrent(): boolean {
  let built: number;
  try {
    built = statSync(BROKER_MAIN).mtimeMs;
  } catch {
    return false;
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);
  return newest(join(ROOT, 'src')) < built;
}

function nodeCommand(script: string, scriptArgs: string[], o: SpawnOptions): { command: string; args: string[] } {
  const nodeArgs = [
    ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []),
    script,
    ...scriptArgs,
  ];
  if (o.cpus !== undefined && taskset) return { command: taskset, args: ['-c', o.cpus, process.execPath, ...nodeArgs] };
  return { command: process.execPath, args: nodeArgs };
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited during start-up:\n${stderr()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready after ${READY_TIMEOUT_MS} ms:\n${stderr()}`);
}

async function start(label: string, port: number, script: string, args: string[], o: SpawnOptions): Promise<ServerProcess> {
  const { command, args: argv } = nodeCommand(script, args, o);
  const spawnedAt = performance.now();
  const out = openSync(o.logFile ?? '/dev/null', 'w');
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', out, 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  closeSync(out);
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString('utf8')).slice(-8192);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    url,
    pid: child.pid ?? -1,
    label,
    spawnedAt,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitReady(url, child, server.stderr);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return server;
}

/** `portcullis serve -c <config>`; `configFor(port)` writes the configuration for that port. */
export async function startBroker(
  configFor: (port: number) => Promise<string>,
  o: SpawnOptions & { workers?: number; settleMs?: number } = {},
): Promise<ServerProcess> {
  const workers = o.workers ?? 1;
  const port = await freePort();
  const configFile = await configFor(port);
  const args = ['serve', '-c', configFile, ...(workers > 1 ? ['--workers', String(workers)] : [])];
  const server = await start(workers > 1 ? `broker ×${workers}` : 'broker', port, BROKER_MAIN, args, o);
  // /healthz answers as soon as one worker listens; give the others time to warm their JWKS too.
  if (workers > 1) await new Promise((r) => setTimeout(r, o.settleMs ?? 3_000));
  return server;
}

export async function startBaseline(jwksFile: string, store: { redisUrl?: string }, o: SpawnOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const args = ['--port', String(port), '--jwks', jwksFile, ...(store.redisUrl ? ['--store', 'redis', '--redis-url', store.redisUrl] : [])];
  return start('baseline', port, BASELINE_JS, args, o);
}
