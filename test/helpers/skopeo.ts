import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireBinary, runProcess } from './processes.js';
import type { RunResult } from './processes.js';
import { assertExitOk, passwordStdinLoginArgs, sandboxEnv, writeContainersConfig, type Creds } from './containers.js';

export type { Creds } from './containers.js';

export interface SkopeoOptions {
  /**
   * auth.json to read (and, for `login`, write). Default: an empty one in a
   * throwaway directory, so no credentials of the machine's user leak in.
   */
  authFile?: string;
  /** Kill skopeo after this long. Default 60 s. */
  timeoutMs?: number;
  /** Extra environment on top of the isolated one. */
  env?: Record<string, string>;
  /** stdin content (e.g. for `login --password-stdin`). */
  input?: string;
}

export type SkopeoResult = RunResult;

/**
 * Run the real skopeo binary in a sandbox: HOME, XDG dirs, policy and
 * registries.conf all point into a fresh temp dir, and REGISTRY_AUTH_FILE is
 * the given (or an empty) auth file. The process never outlives timeoutMs.
 */
export async function skopeo(args: readonly string[], opts: SkopeoOptions = {}): Promise<SkopeoResult> {
  const binary = requireBinary('skopeo');
  const sandbox = await mkdtemp(join(tmpdir(), 'portcullis-skopeo-'));
  try {
    const tmp = join(sandbox, 'tmp');
    await mkdir(tmp);
    const { policy, registriesConf } = await writeContainersConfig(sandbox);
    const env: NodeJS.ProcessEnv = {
      ...sandboxEnv({
        home: sandbox,
        runtimeDir: sandbox,
        configHome: join(sandbox, 'config'),
        tmpDir: tmp,
        registriesConf,
        authFile: opts.authFile ?? join(sandbox, 'auth.json'),
      }),
      ...opts.env,
    };
    return await runProcess(binary, ['--policy', policy, '--tmpdir', tmp, ...args], {
      env,
      timeoutMs: opts.timeoutMs ?? 60_000,
      input: opts.input,
    });
  } finally {
    await rm(sandbox, { recursive: true, force: true });
  }
}

function credFlags(prefix: '' | 'src-' | 'dest-', creds: Creds | undefined): string[] {
  // Separate flags rather than `--creds user:pass`, which would split a user name containing ':'.
  return creds === undefined ? [] : [`--${prefix}username`, creds.username, `--${prefix}password`, creds.password];
}

/** Loopback registries speak plain HTTP, so docker:// refs need TLS verification off; other transports ignore it. */
function tlsFlag(prefix: '' | 'src-' | 'dest-', ref: string): string[] {
  return ref.startsWith('docker://') ? [`--${prefix}tls-verify=false`] : [];
}

export function dockerRef(registryHost: string, repo: string, tag: string): string {
  return `docker://${registryHost}/${repo}:${tag}`;
}

/**
 * Write an auth.json for one registry, with either Basic credentials or an
 * identity (refresh) token. containers/image ignores an entry whose `auth` does
 * not decode to `user:password`, so the token entry carries `auth` =
 * base64("<username>:") like the Docker CLI writes after a refresh-token login.
 */
export async function writeAuthFile(
  path: string,
  registryHost: string,
  entry: Creds | { identityToken: string; username?: string },
): Promise<void> {
  const value =
    'identityToken' in entry
      ? { auth: Buffer.from(`${entry.username ?? '<token>'}:`, 'utf8').toString('base64'), identitytoken: entry.identityToken }
      : { auth: Buffer.from(`${entry.username}:${entry.password}`, 'utf8').toString('base64') };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify({ auths: { [registryHost]: value } }), { mode: 0o600 });
}

/** `skopeo login` against a plain-HTTP registry; the password goes through stdin. */
export function login(registryHost: string, creds: Creds, opts: SkopeoOptions = {}): Promise<SkopeoResult> {
  return skopeo(passwordStdinLoginArgs(registryHost, creds), {
    ...opts,
    input: creds.password,
  });
}

export interface CopyResult extends SkopeoResult {
  /** Manifest digest reported by `--digestfile`, when the copy succeeded. */
  digest?: string;
}

/** Copy any skopeo source ref to `docker://<registryHost>/<repo>:<tag>`. Without creds, the auth file is used. */
export async function copyToRegistry(
  src: string,
  registryHost: string,
  repo: string,
  tag: string,
  creds?: Creds,
  opts: SkopeoOptions = {},
): Promise<CopyResult> {
  const dest = dockerRef(registryHost, repo, tag);
  const digestDir = await mkdtemp(join(tmpdir(), 'portcullis-digest-'));
  try {
    const digestFile = join(digestDir, 'digest');
    const result = await skopeo(
      ['copy', '--digestfile', digestFile, ...tlsFlag('src-', src), ...tlsFlag('dest-', dest), ...credFlags('dest-', creds), src, dest],
      opts,
    );
    if (result.code !== 0) return result;
    return { ...result, digest: (await readFile(digestFile, 'utf8')).trim() };
  } finally {
    await rm(digestDir, { recursive: true, force: true });
  }
}

/** Copy `docker://<registryHost>/<repo>:<tag>` into the OCI layout `oci:<destDir>:<destTag>`. */
export function copyFromRegistry(
  registryHost: string,
  repo: string,
  tag: string,
  destDir: string,
  destTag: string = tag,
  creds?: Creds,
  opts: SkopeoOptions = {},
): Promise<SkopeoResult> {
  const src = dockerRef(registryHost, repo, tag);
  return skopeo(['copy', ...tlsFlag('src-', src), ...credFlags('src-', creds), src, `oci:${destDir}:${destTag}`], opts);
}

/** Manifest digest of `ref` (docker:// or oci:) via `skopeo inspect`; throws with skopeo's output on failure. */
export async function inspectDigest(ref: string, creds?: Creds, opts: SkopeoOptions = {}): Promise<string> {
  const result = assertExitOk(
    'skopeo',
    await skopeo(['inspect', ...tlsFlag('', ref), ...credFlags('', creds), '--format', '{{.Digest}}', ref], opts),
    `inspect ${ref}`,
  );
  const digest = result.stdout.trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`skopeo inspect ${ref}: unexpected digest output ${JSON.stringify(result.stdout)}`);
  return digest;
}

/** `skopeo delete` (needs `storage.delete.enabled` and a token with `delete` or `*`). */
export function deleteImage(ref: string, creds?: Creds, opts: SkopeoOptions = {}): Promise<SkopeoResult> {
  return skopeo(['delete', ...tlsFlag('', ref), ...credFlags('', creds), ref], opts);
}
