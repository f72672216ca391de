import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian packages that provide the external binaries the e2e tests drive. */
const PACKAGE_OF: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  chromium: 'chromium',
  podman: 'podman',
  buildah: 'buildah',
};

/**
 * Children still running. If the test worker exits without its afterAll hooks
 * (crash, timeout), kill them so no registry keeps a port or a temp dir busy.
 */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function track(child: ChildProcess): void {
  live.add(child);
  child.once('close', () => live.delete(child));
  child.once('error', () => live.delete(child));
}

/** Absolute path of `name` on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/**
 * Like findBinary, but throws: e2e tests must fail (not skip) when a tool is
 * missing, so CI can never go green without exercising the real components.
 */
export function requireBinary(name: string): string {
  const path = findBinary(name);
  if (path === undefined) {
    const pkg = PACKAGE_OF[name] ?? name;
    throw new Error(
      `required binary "${name}" not found on PATH; install it with ` +
        `"apt-get install -y --no-install-recommends ${pkg}" or run "bash .ci/test-deps.sh"`,
    );
  }
  return path;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed. Without it stdin is empty. */
  input?: string;
  /** Hard limit; the process is SIGKILLed when it is reached. Default 60 s. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the process was killed because it ran past timeoutMs. */
  timedOut: boolean;
}

/** Run a command to completion, capturing output; never hangs past timeoutMs. */
export function runProcess(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        // A signal death has no exit code; report it as the shell would (128+n is
        // overkill here, any non-zero value keeps callers' success checks honest).
        code: code ?? (signal === null ? 0 : 137),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: timedOut ? `${stderr}\n[killed after ${timeoutMs} ms timeout]` : stderr,
        timedOut,
      });
    });
    child.stdin.on('error', () => {
      // The child may exit before reading stdin (EPIPE); its exit status tells the story.
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface Daemon {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far, interleaved. */
  logs(): string;
  /** Resolves when the process has exited (for any reason). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Start a long-running process whose output is kept for diagnostics. */
export function spawnDaemon(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Daemon {
  const child = spawn(command, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      chunks.push(Buffer.from(`\n[spawn error: ${e.message}]\n`));
      done = true;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return {
    child,
    exited,
    logs: () => Buffer.concat(chunks).toString('utf8'),
    hasExited: () => done,
    async stop(graceMs = 3_000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
