import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { TEST_TOKEN_ISSUER, type TestBroker } from './broker.js';
import { freePort } from './ports.js';
import { requireBinary, spawnDaemon } from './processes.js';

export interface RegistryOptions {
  /** `auth.token.realm`: the token endpoint URL advertised in the challenge. */
  realm: string;
  /** `auth.token.service`: must equal the token's `aud`. */
  service: string;
  /** `auth.token.issuer`: must equal the token's `iss`. */
  issuer: string;
  /** PEM content (one or more CERTIFICATE blocks) for `auth.token.rootcertbundle`. */
  rootCertBundle: string;
  /** Upper bound for the registry to answer its first challenge. Default 15 s. */
  startTimeoutMs?: number;
  /** Listen on this port (e.g. one the broker already announces); default a free one. */
  port?: number;
}

export interface RunningRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, the form skopeo references use. */
  host: string;
  port: number;
  /** The config.yml the registry was started with (for failure messages). */
  config: string;
  /** stdout + stderr of the registry so far. */
  logs(): string;
  /** Kill the registry and delete its storage and config. Idempotent. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;

function registryConfig(opts: RegistryOptions, dir: string, port: number, bundlePath: string): string {
  return stringify({
    version: 0.1,
    log: { level: 'info', formatter: 'text', fields: { service: 'registry' } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: true },
      cache: { blobdescriptor: 'inmemory' },
      // The purge job only matters for long-lived registries; skip its startup walk.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${port}`,
      secret: randomBytes(24).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
      // No `debug` section: the debug/pprof listener stays off, so parallel registries never collide.
    },
    auth: {
      token: {
        realm: opts.realm,
        service: opts.service,
        issuer: opts.issuer,
        rootcertbundle: bundlePath,
      },
    },
    health: { storagedriver: { enabled: false } },
  });
}

/** Environment for the registry: distribution maps REGISTRY_* variables onto config keys, so pass none through. */
function registryEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, TMPDIR: dir, LANG: 'C' };
}

type Probe = { ready: true } | { ready: false; why: string };

async function probeChallenge(url: string): Promise<Probe> {
  try {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    const challenge = res.headers.get('www-authenticate') ?? '';
    if (res.status === 401 && /^Bearer realm="/.test(challenge)) return { ready: true };
    return { ready: false, why: `GET /v2/ answered ${res.status} with WWW-Authenticate ${JSON.stringify(challenge)}` };
  } catch (e) {
    return { ready: false, why: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Start Debian's `docker-registry` (distribution 2.8.2) with token auth on a free
 * loopback port, and wait until `GET /v2/` answers the Bearer challenge.
 * Throws (with the registry's own log output) if the binary is missing or the
 * registry fails to come up.
 */
export async function startRegistry(opts: RegistryOptions): Promise<RunningRegistry> {
  const binary = requireBinary('docker-registry');
  const deadlineMs = opts.startTimeoutMs ?? 15_000;
  let lastFailure = '';
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-registry-'));
    const bundlePath = join(dir, 'rootcerts.pem');
    const configPath = join(dir, 'config.yml');
    const port = opts.port ?? (await freePort());
    const config = registryConfig(opts, dir, port, bundlePath);
    await writeFile(bundlePath, opts.rootCertBundle, { mode: 0o600 });
    await writeFile(configPath, config, { mode: 0o600 });

    const daemon = spawnDaemon(binary, ['serve', configPath], { env: registryEnv(dir), cwd: dir });
    const url = `http://127.0.0.1:${port}`;
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    };

    const started = Date.now();
    let why = 'no answer yet';
    while (Date.now() - started < deadlineMs && !daemon.hasExited()) {
      const probe = await probeChallenge(url);
      if (probe.ready) {
        return { url, host: `127.0.0.1:${port}`, port, config, logs: daemon.logs, stop };
      }
      why = probe.why;
      await sleep(100);
    }

    const exited = daemon.hasExited();
    const logs = daemon.logs();
    await stop();
    lastFailure =
      (exited ? `docker-registry exited during startup` : `docker-registry did not answer within ${deadlineMs} ms`) +
      ` (last probe: ${why})\n--- config.yml ---\n${config.replace(/^(\s*secret:).*$/m, '$1 <redacted>')}` +
      `--- registry output ---\n${logs}`;
    // Only a lost race for the port is worth another try; anything else is a real failure.
    if (!/address already in use/i.test(logs)) break;
  }
  throw new Error(`startRegistry failed: ${lastFailure}`);
}

/**
 * A registry whose token server is `broker`: the realm, the expected issuer and the
 * certificate bundle it trusts all come from that broker.
 */
export function startRegistryFor(broker: TestBroker, service: string, opts: { port?: number } = {}): Promise<RunningRegistry> {
  return startRegistry({
    realm: `${broker.url}/token`,
    service,
    issuer: TEST_TOKEN_ISSUER,
    rootCertBundle: broker.broker.keyRing.certificateBundle(),
    ...opts,
  });
}
