import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, runProcess, type RunResult } from './processes.js';
import { assertExitOk, passwordStdinLoginArgs, sandboxEnv, writeContainersConfig, type Creds } from './containers.js';

/** The two daemonless clients from containers/ (Debian packages `podman` and `buildah`). */
export type EngineName = 'podman' | 'buildah';

export interface EngineOptions {
  /**
   * auth.json the client reads and `login` writes. Default: a fresh `{}` file in
   * the sandbox, so no credentials of the machine's user leak in.
   */
  authFile?: string;
  /** Extra environment on top of the isolated one (e.g. a PATH holding a credential helper). */
  env?: Record<string, string>;
}

export interface RunEngineOptions {
  /** stdin content, e.g. the password for `login --password-stdin`. */
  input?: string;
  /** Kill the client after this long. Default 60 s. */
  timeoutMs?: number;
}

/** No journald or systemd here: plain cgroupfs and no event log. */
const CONTAINERS_CONF = '[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n';

/**
 * A podman or buildah client in a sandbox of its own: image storage (vfs, the
 * driver that works as root without a daemon or kernel overlay support),
 * registries.conf, policy.json, HOME, XDG dirs and the auth file all live in
 * one temp dir, deleted by close(). Loopback registries speak plain HTTP, so
 * every registry operation passes --tls-verify=false.
 */
export class ContainerEngine {
  private constructor(
    readonly name: EngineName,
    readonly binary: string,
    /** The sandbox directory. */
    readonly dir: string,
    /** The auth.json in use (the given one, or the sandbox's own). */
    readonly authFile: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly policyPath: string,
  ) {}

  /** Throws (naming the Debian package) when the binary is missing: e2e tests fail, never skip. */
  static async create(name: EngineName, opts: EngineOptions = {}): Promise<ContainerEngine> {
    const binary = requireBinary(name);
    // Lower case only: buildah names an image pulled from `oci:<dir>` after the path, and
    // image names must be lower case (mkdtemp's suffix is not).
    const dir = join(tmpdir(), `portcullis-${name}-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    const tmp = join(dir, 'tmp');
    const runtime = join(dir, 'xdg-runtime');
    await mkdir(tmp);
    await mkdir(runtime, { mode: 0o700 });
    const { policy, registriesConf } = await writeContainersConfig(dir);
    const files = { storage: join(dir, 'storage.conf'), containers: join(dir, 'containers.conf') };
    await writeFile(
      files.storage,
      `[storage]\ndriver = "vfs"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n`,
    );
    await writeFile(files.containers, CONTAINERS_CONF);
    const authFile = opts.authFile ?? join(dir, 'auth.json');
    // podman and buildah refuse to start when REGISTRY_AUTH_FILE names a missing file.
    if (opts.authFile === undefined) await writeFile(authFile, '{}\n', { mode: 0o600 });
    const env: NodeJS.ProcessEnv = {
      ...sandboxEnv({ home: dir, runtimeDir: runtime, configHome: join(dir, 'config'), tmpDir: tmp, registriesConf, authFile }),
      XDG_DATA_HOME: join(dir, 'data'),
      CONTAINERS_STORAGE_CONF: files.storage,
      CONTAINERS_CONF: files.containers,
      ...opts.env,
    };
    return new ContainerEngine(name, binary, dir, authFile, env, policy);
  }

  /** The sandbox's environment, for running other programs (a login script, skopeo) against the same auth file and storage. */
  environment(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  /** Runs the client with `args` in the sandbox; never throws on a non-zero exit. */
  run(args: readonly string[], opts: RunEngineOptions = {}): Promise<RunResult> {
    return runProcess(this.binary, args, { env: this.env, cwd: this.dir, timeoutMs: opts.timeoutMs ?? 60_000, input: opts.input });
  }

  /** `login --password-stdin`: the ID token never appears in argv (`ps`). */
  login(registryHost: string, creds: Creds): Promise<RunResult> {
    return this.run(passwordStdinLoginArgs(registryHost, creds), { input: creds.password });
  }

  logout(registryHost: string): Promise<RunResult> {
    return this.run(['logout', registryHost]);
  }

  /**
   * Copies an image into local storage from any containers-transport reference,
   * e.g. `oci:<layout dir>:<tag>` from test/helpers/oci.ts, tagged as `localName`.
   */
  async importImage(sourceRef: string, localName: string): Promise<RunResult> {
    let ref = sourceRef;
    const layout = /^oci:([^:]+)(:.*)?$/.exec(sourceRef);
    if (layout?.[1] !== undefined) {
      // See create(): give the layout a lower-case path inside the sandbox.
      const link = join(this.dir, `import-${randomBytes(4).toString('hex')}`);
      await symlink(layout[1], link);
      ref = `oci:${link}${layout[2] ?? ''}`;
    }
    const pulled = await this.pull(ref);
    if (pulled.code !== 0) return pulled;
    return this.run(['tag', pulled.stdout.trim().split('\n').pop() ?? '', localName]);
  }

  /**
   * Pushes a local image to `docker://<registryHost>/<repo>:<tag>`. Without
   * creds the auth file (from `login`) is used. `digest` is the manifest digest
   * the registry stored (from --digestfile) when the push succeeded.
   */
  async push(localName: string, registryHost: string, repo: string, tag: string, creds?: Creds): Promise<RunResult & { digest?: string }> {
    const digestFile = join(this.dir, `digest-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    const result = await this.run([
      'push',
      '--signature-policy',
      this.policyPath,
      '--tls-verify=false',
      '--digestfile',
      digestFile,
      ...credsFlag(creds),
      localName,
      `docker://${registryHost}/${repo}:${tag}`,
    ]);
    if (result.code !== 0) return result;
    return { ...result, digest: (await readFile(digestFile, 'utf8')).trim() };
  }

  /** Pulls `ref` (`host/repo:tag`, or any transport such as `oci:dir:tag`); stdout ends with the image id. */
  pull(ref: string, creds?: Creds): Promise<RunResult> {
    const tls = ref.startsWith('oci:') || ref.startsWith('dir:') ? [] : ['--tls-verify=false'];
    return this.run(['pull', '--signature-policy', this.policyPath, ...tls, ...credsFlag(creds), ref]);
  }

  /** Manifest digest(s) a local image was pulled by, as `sha256:…`. */
  async digestsOf(localName: string): Promise<string[]> {
    const args =
      this.name === 'podman'
        ? ['image', 'inspect', '--format', '{{range .RepoDigests}}{{println .}}{{end}}', localName]
        : ['inspect', '--type', 'image', '--format', '{{.FromImageDigest}}', localName];
    const result = await this.run(args);
    if (result.code !== 0) throw new Error(`${this.name} inspect ${localName} failed (exit ${result.code}): ${result.stderr}`);
    return [...result.stdout.matchAll(/sha256:[0-9a-f]{64}/g)].map((m) => m[0]);
  }

  /** Deletes the sandbox, image storage included. Idempotent. */
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** `--creds user:password` splits at the first ':', so a user name must not contain one. */
function credsFlag(creds: Creds | undefined): string[] {
  if (creds === undefined) return [];
  if (creds.username.includes(':')) throw new Error('podman/buildah --creds cannot carry a user name containing ":"');
  return ['--creds', `${creds.username}:${creds.password}`];
}

/** Throw a descriptive error unless the client exited 0. Returns the result for chaining. */
export function assertEngineOk<T extends RunResult>(engine: ContainerEngine, result: T, what: string): T {
  return assertExitOk(engine.name, result, what);
}
