/**
 * The person's machine in a box: a throwaway HOME with its own XDG dirs, docker and containers config,
 * `docker-credential-portcullis` on PATH (a shim running the helper from source), and runners for
 * `portcullis login/logout`, podman and buildah (vfs storage, no daemon) inside it.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_MAIN, ROOT, TSX_LOADER } from './cli.js';
import { requireBinary, runProcess, type RunResult } from './processes.js';
import { sandboxEnv, writeContainersConfig } from './containers.js';

export const HELPER_MAIN = path.join(ROOT, 'src/cli/credential-helper.ts');

export interface Machine {
  readonly home: string;
  /** Environment of every process on this machine. */
  readonly env: Record<string, string>;
  /** $XDG_CONFIG_HOME/portcullis/logins.json */
  readonly loginsFile: string;
  /** The containers auth.json ($REGISTRY_AUTH_FILE). */
  readonly authFile: string;
  /** ~/.docker/config.json */
  readonly dockerConfig: string;
  /** A signature policy accepting anything, for --signature-policy / skopeo --policy. */
  readonly policy: string;
  /** `portcullis <args>` from source. */
  portcullis(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** `docker-credential-portcullis <action>` through the PATH shim, as docker and podman run it. */
  helper(action: string, input: string, env?: Record<string, string>): Promise<RunResult>;
  podman(args: string[], env?: Record<string, string>): Promise<RunResult>;
  skopeo(args: string[], env?: Record<string, string>): Promise<RunResult>;
  buildah(args: string[], env?: Record<string, string>): Promise<RunResult>;
  cleanup(): Promise<void>;
}

export async function newMachine(extraEnv: Record<string, string> = {}): Promise<Machine> {
  const home = await mkdtemp(path.join(tmpdir(), 'portcullis-machine-'));
  const bin = path.join(home, 'bin');
  const runtime = path.join(home, 'run');
  await mkdir(bin);
  await mkdir(runtime, { mode: 0o700 });
  await mkdir(path.join(home, 'tmp'));
  const shim = path.join(bin, 'docker-credential-portcullis');
  // What `npm install -g` would put on PATH, running the TypeScript source instead of dist/.
  await writeFile(shim, `#!/bin/sh\nexec '${process.execPath}' --import '${TSX_LOADER}' '${HELPER_MAIN}' "$@"\n`);
  await chmod(shim, 0o755);
  const { policy, registriesConf } = await writeContainersConfig(home);

  const env: Record<string, string> = {
    ...sandboxEnv({
      home,
      runtimeDir: runtime,
      configHome: path.join(home, '.config'),
      tmpDir: path.join(home, 'tmp'),
      registriesConf,
      authFile: path.join(home, 'auth.json'),
      binDir: bin,
    }),
    ...extraEnv,
  };
  const storage = ['--root', path.join(home, 'storage'), '--runroot', path.join(runtime, 'storage'), '--storage-driver', 'vfs'];
  const run = (cmd: string, args: string[], more: Record<string, string> = {}, input = '', timeoutMs = 120_000): Promise<RunResult> =>
    runProcess(cmd, args, { env: { ...env, ...more }, cwd: home, input, timeoutMs });

  return {
    home,
    env,
    loginsFile: path.join(home, '.config', 'portcullis', 'logins.json'),
    authFile: env.REGISTRY_AUTH_FILE as string,
    dockerConfig: path.join(home, '.docker', 'config.json'),
    policy,
    portcullis: (args, opts = {}) =>
      run(process.execPath, ['--import', TSX_LOADER, CLI_MAIN, ...args], opts.env, '', opts.timeoutMs ?? 60_000),
    helper: (action, input, more) => run(shim, [action], more, input, 30_000),
    podman: (args, more) =>
      run(requireBinary('podman'), [...storage, '--events-backend', 'none', '--cgroup-manager', 'cgroupfs', ...args], more),
    skopeo: (args, more) => run(requireBinary('skopeo'), ['--policy', policy, ...args], more),
    buildah: (args, more) => run(requireBinary('buildah'), [...storage, ...args], more),
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

export interface Running {
  /** Resolves with the first stderr line matching `pattern` (the CLI's instructions to the person). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly done: Promise<RunResult>;
}

/** Start `portcullis <args>` on the machine and follow its stderr while it waits for the person. */
export function startPortcullis(machine: Machine, args: string[], extraEnv: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_MAIN, ...args], {
    env: { ...machine.env, ...extraEnv },
    cwd: machine.home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = (): void => {
    for (const w of [...watchers]) {
      const m = stderr.match(w.pattern);
      if (m) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    check();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<RunResult>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? 137, stdout, stderr, timedOut: false });
    });
  });
  return {
    done,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr so far:\n${stderr}`)), timeoutMs);
        watchers.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        check();
        void done.then((r) => reject(new Error(`portcullis exited (${r.code}) before printing ${pattern}:\n${r.stderr}`)));
      });
    },
  };
}
