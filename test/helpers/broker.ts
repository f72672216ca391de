import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { buildBroker, type Broker } from '../../src/broker/build.js';
import { createLogger } from '../../src/observability/logger.js';
import { freePort } from './ports.js';

/** The `iss` of every registry token a test broker signs (and a registry in front of it expects). */
export const TEST_TOKEN_ISSUER = 'portcullis-test';

export interface TestBrokerOptions {
  /** `issuers:` entries of the configuration. */
  issuers?: Record<string, unknown>[];
  /** Policy document (YAML text or an object). */
  policy: string | Record<string, unknown>;
  kidMode?: 'libtrust' | 'thumbprint' | 'x5c';
  services?: string[];
  /** Merged into the generated `server:` section (host and port stay the helper's). */
  server?: Record<string, unknown>;
  /** Merged over the generated configuration (top-level keys). */
  extra?: Record<string, unknown>;
  logLevel?: string;
  /** Listen on this port (e.g. one already registered as a redirect URI); default a free one. */
  port?: number;
}

export interface TestBroker {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly configPath: string;
  readonly broker: Broker;
  /** Every log line the broker wrote (JSON strings). */
  readonly logs: string[];
  stop(): Promise<void>;
}

/** A real broker on a free loopback port, configured through a real YAML file. */
export async function startBroker(options: TestBrokerOptions): Promise<TestBroker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-broker-'));
  const port = options.port ?? (await freePort());
  const policyPath = path.join(dir, 'policy.yaml');
  await writeFile(policyPath, typeof options.policy === 'string' ? options.policy : stringify(options.policy));
  const config = {
    server: { ...options.server, host: '127.0.0.1', port },
    token: { issuer: TEST_TOKEN_ISSUER, services: options.services ?? ['test-registry'], lifetime: 300 },
    keys: { kidMode: options.kidMode ?? 'libtrust' },
    dataDir: path.join(dir, 'data'),
    issuers: options.issuers ?? [],
    policy: { file: policyPath, watch: false },
    log: { level: options.logLevel ?? 'info' },
    ...options.extra,
  };
  const configPath = path.join(dir, 'portcullis.yaml');
  await writeFile(configPath, stringify(config));

  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const loaded = await loadConfig(configPath);
  const broker = await buildBroker(loaded, { logger: createLogger(loaded.config.log.level, sink) });
  await broker.listen();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    configPath,
    broker,
    logs,
    async stop() {
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Decodes a compact JWS without verifying it (tests only). */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: Buffer } {
  const [h, p, s] = jwt.split('.');
  if (h === undefined || p === undefined || s === undefined) throw new Error('not a compact JWS');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>,
    signature: Buffer.from(s, 'base64url'),
  };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** RFC 8693 grant type and subject token type for trading an OIDC ID token. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** POST /token with an RFC 8693 exchange of `idToken` for a registry token on `service` with `scope`. */
export function exchangeIdToken(brokerUrl: string, service: string, idToken: string, scope: string): Promise<Response> {
  const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, service, subject_token: idToken, subject_token_type: ID_TOKEN_TYPE, scope });
  return fetch(`${brokerUrl}/token`, { method: 'POST', body: form });
}
