import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { requireBinary, runProcess, spawnDaemon } from './processes.js';
import type { Daemon } from './processes.js';

/**
 * Real redis-server processes on 127.0.0.1 for integration tests: no persistence,
 * free ports, killed when the test process exits. A missing binary is an error,
 * never a skip, so a green run always exercised real Redis.
 */

export interface RedisUser {
  readonly name: string;
  readonly password: string;
}

export interface StartRedisOptions {
  /** Extra ACL users with full access (`~* &* +@all`). */
  readonly users?: readonly RedisUser[];
  /** Turn the passwordless `default` user off, so only `users` can log in. */
  readonly disableDefaultUser?: boolean;
  /** More redis-server arguments, e.g. ['--maxmemory', '10mb']. */
  readonly extraArgs?: readonly string[];
  /** Serve TLS only (no plain port); clients need not present certificates. */
  readonly tls?: TestCertificates;
}

/** PEM files and contents from makeTestCertificates. */
export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM of the CA that signed the server certificate. */
  readonly caPem: string;
}

/**
 * A throw-away CA and a server certificate for `localhost` and 127.0.0.1, made with
 * the openssl CLI. Remove `dir` when done.
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const openssl = requireBinary('openssl');
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-redis-tls-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await writeFile(file('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const steps: string[][] = [
    ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=portcullis test CA'],
    ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost'],
    ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file('server.crt'), '-days', '2', '-extfile', file('san.ext')],
  ];
  for (const args of steps) {
    const res = await runProcess(openssl, args, { timeoutMs: 20_000 });
    if (res.code !== 0) throw new Error(`openssl ${args[0]} failed:\n${res.stderr}`);
  }
  return {
    dir,
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    caPem: await readFile(file('ca.crt'), 'utf8'),
  };
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:port, or rediss:// with TLS (no credentials). */
  readonly url: string;
  /** SIGTERM; resolves when the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL, like a crash; resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers, like a hung server. */
  pause(): void;
  /** SIGCONT after pause. */
  resume(): void;
  /** Start again on the same port with the same arguments (after stop or kill). */
  restart(): Promise<void>;
  /** Output so far, for failure messages. */
  logs(): string;
  /** Process id while running (benchmarks pin it to a core). */
  pid(): number | undefined;
}

const READY_TIMEOUT_MS = 10_000;
const running = new Set<Daemon>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave servers behind holding ports.
  process.once('exit', () => {
    for (const daemon of running) daemon.child.kill('SIGKILL');
  });
}

/** Resolves when something on `port` answers PING with any RESP reply (NOAUTH counts: it is up). */
function answersPing(port: number, tls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    // Readiness only: the certificate is checked by the tests themselves.
    const socket = tls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => done(/^[+-]/.test(chunk.toString('utf8'))));
  });
}

async function waitForPing(port: number, daemon: Daemon, tls: boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (daemon.hasExited()) {
      throw new Error(`redis-server on port ${port} exited during startup:\n${daemon.logs()}`);
    }
    if (await answersPing(port, tls)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on port ${port} not ready after ${READY_TIMEOUT_MS} ms:\n${daemon.logs()}`);
}

function baseArgs(port: number, dir: string, tls?: TestCertificates): string[] {
  const listen =
    tls === undefined
      ? ['--port', String(port)]
      : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile,
          '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no'];
  return [
    ...listen,
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
  ];
}

function aclArgs(options: StartRedisOptions): string[] {
  const args: string[] = [];
  for (const user of options.users ?? []) {
    args.push('--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all');
  }
  if (options.disableDefaultUser === true) args.push('--user', 'default', 'off');
  return args;
}

interface Managed {
  daemon: Daemon | undefined;
  logs(): string;
  start(): Promise<void>;
  stopWith(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

function manage(binary: string, port: number, args: readonly string[], tls = false): Managed {
  const managed: Managed = {
    daemon: undefined,
    logs: () => managed.daemon?.logs() ?? '',
    async start() {
      if (managed.daemon !== undefined && !managed.daemon.hasExited()) {
        throw new Error(`redis-server on port ${port} is still running`);
      }
      const daemon = spawnDaemon(binary, args);
      managed.daemon = daemon;
      running.add(daemon);
      void daemon.exited.then(() => running.delete(daemon));
      try {
        await waitForPing(port, daemon, tls);
      } catch (err) {
        daemon.child.kill('SIGKILL');
        throw err;
      }
    },
    async stopWith(signal) {
      const daemon = managed.daemon;
      if (daemon === undefined || daemon.hasExited()) return;
      // A paused (SIGSTOPped) server would sit on SIGTERM until the grace period ends.
      daemon.child.kill('SIGCONT');
      if (signal === 'SIGKILL') {
        daemon.child.kill('SIGKILL');
        await daemon.exited;
      } else {
        await daemon.stop(3_000);
      }
    },
  };
  return managed;
}

/** Start one standalone redis-server on a free 127.0.0.1 port. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = requireBinary('redis-server');
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-redis-'));
  const port = await freePort();
  const args = [...baseArgs(port, dir, options.tls), ...aclArgs(options), ...(options.extraArgs ?? [])];
  const managed = manage(binary, port, args, options.tls !== undefined);
  await managed.start();
  return {
    port,
    url: `${options.tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    async stop() {
      await managed.stopWith('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    kill: () => managed.stopWith('SIGKILL'),
    pause: () => void managed.daemon?.child.kill('SIGSTOP'),
    resume: () => void managed.daemon?.child.kill('SIGCONT'),
    restart: () => managed.start(),
    logs: () => managed.logs(),
    pid: () => managed.daemon?.child.pid,
  };
}

export interface RedisClusterHandle {
  readonly nodes: readonly { host: string; port: number }[];
  /** SIGKILL one master (by position in `nodes`), like a crash. */
  killNode(index: number): Promise<void>;
  stop(): Promise<void>;
  logs(): string;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

async function clusterStateOk(port: number): Promise<boolean> {
  const res = await runProcess(requireBinary('redis-cli'), ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info'], {
    timeoutMs: 5_000,
  });
  return res.code === 0 && /^cluster_state:ok\r?$/m.test(res.stdout);
}

/** Start `size` (≥ 3) cluster masters with no replicas and wait until every node reports cluster_state:ok. */
export async function startRedisCluster(size = 3): Promise<RedisClusterHandle> {
  if (size < 3) throw new Error('redis cluster needs at least 3 masters');
  const binary = requireBinary('redis-server');
  const cli = requireBinary('redis-cli');
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-redis-cluster-'));
  const taken = new Set<number>();
  const members: { port: number; managed: Managed }[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.managed.stopWith('SIGTERM')));
    await rm(dir, { recursive: true, force: true });
  };
  const logs = (): string => members.map((m) => `--- node ${m.port}\n${m.managed.logs()}`).join('\n');
  try {
    for (let i = 0; i < size; i += 1) {
      const port = await freeClusterPort(taken);
      const args = [
        ...baseArgs(port, dir),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', '2000',
      ];
      const managed = manage(binary, port, args);
      members.push({ port, managed });
      await managed.start();
    }
    const create = await runProcess(
      cli,
      ['--cluster', 'create', ...members.map((m) => `127.0.0.1:${m.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeoutMs: 30_000 },
    );
    if (create.code !== 0) {
      throw new Error(`redis-cli --cluster create failed (${create.code}):\n${create.stdout}\n${create.stderr}`);
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(members.map((m) => clusterStateOk(m.port)));
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`redis cluster never reached cluster_state:ok:\n${logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    nodes: members.map((m) => ({ host: '127.0.0.1', port: m.port })),
    async killNode(index) {
      const member = members[index];
      if (member === undefined) throw new Error(`no cluster node ${index}`);
      await member.managed.stopWith('SIGKILL');
    },
    stop: stopAll,
    logs,
  };
}

export interface RedisSentinelHandle {
  readonly port: number;
  /** The master group name the sentinel monitors. */
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * One redis-sentinel (quorum 1) monitoring the master on `masterPort`; `settings` are extra
 * per-group directives, e.g. `down-after-milliseconds 1000` (written as `sentinel <setting>`
 * with the group name inserted).
 */
export async function startRedisSentinel(masterPort: number, name = 'portcullis', settings: readonly string[] = []): Promise<RedisSentinelHandle> {
  const binary = requireBinary('redis-server');
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-redis-sentinel-'));
  const port = await freePort();
  // Sentinel insists on a writable config file of its own.
  const conf = join(dir, 'sentinel.conf');
  const extra = settings.map((line) => {
    const [directive, ...rest] = line.split(' ');
    return `sentinel ${directive} ${name} ${rest.join(' ')}\n`;
  });
  await writeFile(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${name} 127.0.0.1 ${masterPort} 1\n${extra.join('')}`);
  const managed = manage(binary, port, [conf, '--sentinel']);
  await managed.start();
  return {
    port,
    name,
    async stop() {
      await managed.stopWith('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
