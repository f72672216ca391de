/**
 * What every containers/ client in the tests (skopeo, podman, buildah) shares: a signature policy
 * and registries.conf that ignore the machine's /etc, an environment that points HOME, XDG dirs,
 * TMPDIR and the auth file into a sandbox, the `login --password-stdin` arguments, and a check
 * that names the tool when it fails.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from './processes.js';

export interface Creds {
  username: string;
  password: string;
}

/** Accept any image: signature policy is not what these tests are about. */
const ACCEPT_ANYTHING_POLICY = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] });
/** No search registries, no mirrors, no credential helpers from /etc. */
const NO_SEARCH_REGISTRIES = 'unqualified-search-registries = []\n';

/** Writes policy.json and registries.conf into `dir`; returns their paths. */
export async function writeContainersConfig(dir: string): Promise<{ policy: string; registriesConf: string }> {
  const policy = join(dir, 'policy.json');
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(policy, ACCEPT_ANYTHING_POLICY);
  await writeFile(registriesConf, NO_SEARCH_REGISTRIES);
  return { policy, registriesConf };
}

export interface SandboxDirs {
  home: string;
  runtimeDir: string;
  configHome: string;
  tmpDir: string;
  registriesConf: string;
  authFile: string;
  /** Prepended to the inherited PATH (e.g. a directory holding a credential helper). */
  binDir?: string;
}

/** The isolated environment: nothing of the machine's user (HOME, auth, registries) leaks in. */
export function sandboxEnv(dirs: SandboxDirs): Record<string, string> {
  const inherited = process.env.PATH ?? '/usr/bin:/bin';
  return {
    PATH: dirs.binDir === undefined ? inherited : `${dirs.binDir}:${inherited}`,
    LANG: 'C',
    HOME: dirs.home,
    XDG_RUNTIME_DIR: dirs.runtimeDir,
    XDG_CONFIG_HOME: dirs.configHome,
    TMPDIR: dirs.tmpDir,
    CONTAINERS_REGISTRIES_CONF: dirs.registriesConf,
    REGISTRY_AUTH_FILE: dirs.authFile,
  };
}

/** `login` against a plain-HTTP loopback registry; the password goes through stdin, never argv (`ps`). */
export function passwordStdinLoginArgs(registryHost: string, creds: Creds): string[] {
  return ['login', '--tls-verify=false', '--username', creds.username, '--password-stdin', registryHost];
}

/** Throw a descriptive error unless `tool` exited 0. Returns the result for chaining. */
export function assertExitOk<T extends RunResult>(tool: string, result: T, what: string): T {
  if (result.code !== 0) {
    throw new Error(`${tool} ${what} failed (exit ${result.code})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
  return result;
}
