/**
 * What the benchmark runs against: several issuers on one TestIssuer (path-prefixed), a
 * generated multi-tenant policy of several hundred rules, broker configuration files, and a pool
 * of distinct pre-minted RS256 ID tokens with the request each one goes with.
 */
import { randomUUID, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TestAlg, TestIssuer } from '../helpers/issuer.js';
import { githubActionsClaims } from '../helpers/issuer.js';

export const ISSUER_COUNT = 6;
export const OWNERS_PER_ISSUER = 100;
export const SERVICE = 'registry.bench.test';
export const AUDIENCE = 'portcullis';
const UNLIMITED = { points: 1_000_000_000, durationSec: 60 };

export interface BenchRequest {
  /** Request path with query, e.g. /token?service=…&scope=… */
  readonly path: string;
  /** The full `Authorization: Basic …` value. */
  readonly authorization: string;
  /** The raw ID token (for POST bodies such as the token exchange). */
  readonly idToken: string;
  readonly scope: string;
}

export function tenantPath(t: number): string {
  return `/tenant-${t}`;
}

/** 6 issuers × 100 owners: one allow rule per (issuer, owner), one deny rule every fifth owner. */
export function generatePolicy(issuer: TestIssuer): { version: 1; rules: object[] } {
  const rules: object[] = [];
  for (let t = 0; t < ISSUER_COUNT; t += 1) {
    const iss = issuer.issuerAt(tenantPath(t));
    for (let o = 0; o < OWNERS_PER_ISSUER; o += 1) {
      rules.push({
        id: `t${t}-org${o}-ci`,
        effect: 'allow',
        issuer: iss,
        when: {
          repository_owner_id: String(1000 + o),
          ref: { glob: 'refs/heads/*' },
          event_name: { oneOf: ['push', 'workflow_dispatch'] },
        },
        grants: [
          { repository: `org-${o}/\${repository_id}/**`, actions: ['pull', 'push'] },
          { repository: `org-${o}/\${repository_id}`, actions: ['pull', 'push'] },
          { repository: `org-${o}/shared/*`, actions: ['pull'] },
        ],
        tokenLifetime: 300,
      });
      if (o % 5 === 0) {
        rules.push({
          id: `t${t}-org${o}-no-delete`,
          effect: 'deny',
          issuer: iss,
          grants: [{ repository: `org-${o}/**`, actions: ['delete'] }],
        });
      }
    }
  }
  return { version: 1, rules };
}

export interface BrokerConfigOptions {
  port: number;
  dataDir: string;
  policyFile: string;
  logLevel: 'debug' | 'info' | 'warn';
  redisUrl?: string;
  /** Every directly presented ID token may be used once (sessions.idTokens.singleUse). */
  singleUse?: boolean;
  /** Rate limits on, set high enough never to refuse (their store round-trips are the cost). */
  rateLimits?: boolean;
}

export function brokerConfig(issuer: TestIssuer, o: BrokerConfigOptions): object {
  return {
    server: { host: '127.0.0.1', port: o.port },
    token: { issuer: 'portcullis-bench', services: [SERVICE], lifetime: 300 },
    dataDir: o.dataDir,
    issuers: Array.from({ length: ISSUER_COUNT }, (_, t) => ({
      id: `tenant-${t}`,
      issuer: issuer.issuerAt(tenantPath(t)),
      audiences: [AUDIENCE],
      algorithms: ['RS256'],
    })),
    policy: { file: o.policyFile, watch: false },
    store: o.redisUrl ? { type: 'redis', url: o.redisUrl } : { type: 'memory' },
    sessions: {
      // Refresh tokens default to off with the memory store; the bench measures both stores.
      refreshTokens: { enabled: true },
      idTokens: { singleUse: o.singleUse === true },
      // Every request comes from one IP: when on, limits are high enough never to refuse.
      rateLimits: o.rateLimits ? { enabled: true, perIdentity: UNLIMITED, perIp: UNLIMITED, perIssuer: UNLIMITED } : { enabled: false },
    },
    log: { level: o.logLevel },
  };
}

/** Writes a configuration as JSON (a YAML subset, which loadConfig reads). */
export async function writeConfig(dir: string, name: string, config: object): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

export async function writePolicy(dir: string, issuer: TestIssuer): Promise<{ file: string; rules: number }> {
  const policy = generatePolicy(issuer);
  const file = join(dir, 'policy.yaml');
  await writeFile(file, stringify(policy));
  return { file, rules: policy.rules.length };
}

function basic(token: string): string {
  return `Basic ${Buffer.from(`ci:${token}`).toString('base64')}`;
}

export interface MintOptions {
  /** Signing algorithm (default RS256). */
  alg?: TestAlg;
  /** Default one hour: a whole benchmark run fits in it. */
  lifetimeSeconds?: number;
  /** Spread the tokens over the first `tenants` issuers only (default all). */
  tenants?: number;
  /** Sign synchronously with node:crypto instead of jose (same token shape, several times faster). */
  fast?: boolean;
}

/** An RS256/ES256 JWT signed with node:crypto, headers and claims as TestIssuer.mint writes them. */
function mintFast(signer: ReturnType<TestIssuer['signingKey']>, claims: Record<string, unknown>, iss: string, lifetimeSeconds: number): string {
  const { kid, key, alg } = signer;
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss, sub: 'test:subject', aud: AUDIENCE, iat: now, nbf: now, exp: now + lifetimeSeconds, jti: randomUUID(), ...claims };
  const input = `${Buffer.from(JSON.stringify({ typ: 'JWT', kid, alg })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * `count` distinct ID tokens spread over the issuers and owners, each with the scope its
 * rule grants in full.
 */
export async function mintPool(issuer: TestIssuer, count: number, offset = 0, mint: MintOptions = {}): Promise<BenchRequest[]> {
  const batch = 500;
  const out: BenchRequest[] = [];
  const fastKey = mint.fast ? issuer.signingKey(mint.alg) : undefined;
  for (let start = 0; start < count; start += batch) {
    const jobs: Promise<BenchRequest>[] = [];
    for (let i = start; i < Math.min(count, start + batch); i += 1) {
      const n = i + offset;
      const t = n % (mint.tenants ?? ISSUER_COUNT);
      const o = (n * 7) % OWNERS_PER_ISSUER;
      const repoId = String(100_000 + n);
      const claims = githubActionsClaims({
        sub: `repo:org-${o}/app-${n}:ref:refs/heads/main`,
        repository: `org-${o}/app-${n}`,
        repository_id: repoId,
        repository_owner: `org-${o}`,
        repository_owner_id: String(1000 + o),
        run_id: String(5_000_000 + n),
      });
      const scope = `repository:org-${o}/${repoId}:pull,push`;
      const request = (idToken: string): BenchRequest => ({
        idToken,
        authorization: basic(idToken),
        scope,
        path: `/token?service=${encodeURIComponent(SERVICE)}&scope=${encodeURIComponent(scope)}`,
      });
      if (mint.fast) {
        out.push(request(mintFast(fastKey ?? issuer.signingKey(mint.alg), claims, issuer.issuerAt(tenantPath(t)), mint.lifetimeSeconds ?? 3600)));
        continue;
      }
      jobs.push(
        issuer
          .mint(claims, { issuer: issuer.issuerAt(tenantPath(t)), audience: AUDIENCE, lifetimeSeconds: mint.lifetimeSeconds ?? 3600, alg: mint.alg ?? 'RS256' })
          .then(request),
      );
    }
    out.push(...(await Promise.all(jobs)));
  }
  return out;
}
