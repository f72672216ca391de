/**
 * A small real OIDC issuer on 127.0.0.1 for tests: discovery and JWKS over node:http, tokens
 * minted with jose. Every issuer path prefix works (`<base>/org/abc` serves its own discovery),
 * so wildcard issuer patterns can be exercised against one server.
 */
import { KeyObject, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type TestAlg = 'RS256' | 'RS384' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

interface SigningKey {
  readonly alg: TestAlg;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface TestIssuerOptions {
  /** Algorithms to hold a key for from the start; default RS256 and ES256. */
  algs?: TestAlg[];
  /** Path prefix of the default issuer, e.g. '/tenant'; default none. */
  path?: string;
}

export interface MintOptions {
  /** Default RS256. */
  alg?: TestAlg;
  /** Header kid; default the current key's kid. */
  kid?: string;
  /** Extra or overriding protected-header parameters (alg stays the key's). */
  header?: Record<string, unknown>;
  /** `iss`; default the issuer's URL. */
  issuer?: string;
  /** Default 'portcullis'. */
  audience?: string | string[];
  /** Default 'test:subject'. */
  subject?: string;
  /** Seconds from iat to exp; default 300 (GitHub Actions' lifetime). */
  lifetimeSeconds?: number;
  /** Clock for iat/nbf/exp, seconds since the epoch; default now. */
  now?: number;
}

const WELL_KNOWN = '/.well-known/openid-configuration';

async function newKey(alg: TestAlg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export class TestIssuer {
  /** Requests seen, by path. */
  readonly requests = new Map<string, number>();
  /** When set, discovery documents announce this `issuer` instead of the real one. */
  discoveryIssuerOverride: string | undefined;
  /** When set, JWKS requests answer with this HTTP status and no keys. */
  jwksFailureStatus: number | undefined;
  /** When true, requests are counted but never answered (timeout tests). */
  stallRequests = false;
  /** Extra keys (JWKs) published in the JWKS, e.g. foreign or broken ones. */
  extraJwks: JWK[] = [];

  private keys = new Map<TestAlg, SigningKey>();
  private retired: SigningKey[] = [];

  private constructor(
    private readonly server: Server,
    /** e.g. http://127.0.0.1:43121 */
    readonly origin: string,
    /** The default issuer URL: origin plus the optional path prefix. */
    readonly issuer: string,
    private readonly algs: TestAlg[],
  ) {}

  static async start(options: TestIssuerOptions = {}): Promise<TestIssuer> {
    const algs = options.algs ?? ['RS256', 'ES256'];
    const ready: { issuer?: TestIssuer } = {};
    const server = createServer((req, res) => {
      if (ready.issuer) ready.issuer.handle(req, res);
      else res.writeHead(503).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, resolve);
    });
    const { port } = server.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    const issuer = new TestIssuer(server, origin, `${origin}${options.path ?? ''}`, algs);
    await issuer.rotate();
    ready.issuer = issuer;
    return issuer;
  }

  /** The issuer URL for a path under this server, e.g. issuerAt('/org/abc'). */
  issuerAt(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Requests to `path`, or to every path when omitted. */
  count(path?: string): number {
    if (path !== undefined) return this.requests.get(path) ?? 0;
    let total = 0;
    for (const n of this.requests.values()) total += n;
    return total;
  }

  resetCounts(): void {
    this.requests.clear();
  }

  /** The current key id for an algorithm. */
  kid(alg: TestAlg = 'RS256'): string {
    return this.key(alg).kid;
  }

  /** Public JWK of the current key for an algorithm. */
  publicJwk(alg: TestAlg = 'RS256'): JWK {
    return this.key(alg).publicJwk;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values(), ...this.retired].map((key) => key.publicJwk).concat(this.extraJwks) };
  }

  /** Replace every key with a new one (new kid); `keepOld` keeps publishing the previous keys. */
  async rotate(options: { keepOld?: boolean } = {}): Promise<void> {
    const previous = [...this.keys.values()];
    const next = new Map<TestAlg, SigningKey>();
    for (const alg of this.algs) next.set(alg, await newKey(alg));
    this.keys = next;
    this.retired = options.keepOld ? [...this.retired, ...previous] : [];
  }

  /**
   * The current key as a node:crypto KeyObject, for minting in bulk: a synchronous RSA sign is
   * several times faster than jose's WebCrypto path (benchmarks mint hundreds of thousands).
   */
  signingKey(alg: TestAlg = 'RS256'): { kid: string; alg: TestAlg; key: KeyObject } {
    const k = this.key(alg);
    return { kid: k.kid, alg: k.alg, key: KeyObject.from(k.privateKey) };
  }

  async mint(claims: Record<string, unknown> = {}, opts: MintOptions = {}): Promise<string> {
    const key = this.key(opts.alg ?? 'RS256');
    const now = opts.now ?? Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: opts.issuer ?? this.issuer,
      sub: opts.subject ?? 'test:subject',
      aud: opts.audience ?? 'portcullis',
      iat: now,
      nbf: now,
      exp: now + (opts.lifetimeSeconds ?? 300),
      jti: randomUUID(),
      ...claims,
    };
    return new SignJWT(payload)
      .setProtectedHeader({ typ: 'JWT', kid: opts.kid ?? key.kid, ...opts.header, alg: key.alg })
      .sign(key.privateKey);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.closeAllConnections();
      this.server.close((err) => (err ? reject(err) : resolve()));
    });
  }

  private key(alg: TestAlg): SigningKey {
    const key = this.keys.get(alg);
    if (!key) throw new Error(`TestIssuer holds no ${alg} key (start it with algs including ${alg})`);
    return key;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.stallRequests) return;
    if (req.method !== 'GET') return json(405, { error: 'method not allowed' });
    if (path.endsWith(WELL_KNOWN)) {
      const issuer = `${this.origin}${path.slice(0, -WELL_KNOWN.length)}`;
      return json(200, {
        issuer: this.discoveryIssuerOverride ?? issuer,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: this.algs,
      });
    }
    if (path.endsWith('/jwks')) {
      if (this.jwksFailureStatus !== undefined) return json(this.jwksFailureStatus, { error: 'unavailable' });
      return json(200, this.jwks());
    }
    return json(404, { error: 'not found' });
  }
}

/** Claims shaped like a GitHub Actions ID token (push to main), minus iss/aud/iat/nbf/exp/jti. */
export function githubActionsClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
    repository: 'octo-org/octo-repo',
    repository_id: '74',
    repository_owner: 'octo-org',
    repository_owner_id: '65',
    repository_visibility: 'private',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    ref_protected: 'true',
    sha: 'example-sha',
    event_name: 'push',
    head_ref: '',
    base_ref: '',
    workflow: 'example-workflow',
    workflow_ref: 'octo-org/octo-repo/.github/workflows/build.yml@refs/heads/main',
    workflow_sha: 'example-sha',
    job_workflow_ref: 'octo-org/octo-repo/.github/workflows/build.yml@refs/heads/main',
    job_workflow_sha: 'example-sha',
    actor: 'octocat',
    actor_id: '12',
    run_id: '3514930413',
    run_number: '10',
    run_attempt: '2',
    runner_environment: 'github-hosted',
    ...overrides,
  };
}

/** An ID token of a GitHub Actions job (push to main of octo-org/octo-repo) whose repository owner is `ownerId`. */
export function githubActionsIdToken(issuer: TestIssuer, ownerId: string, audience: string): Promise<string> {
  return issuer.mint(githubActionsClaims({ repository_owner_id: ownerId }), {
    audience,
    subject: 'repo:octo-org/octo-repo:ref:refs/heads/main',
  });
}

/** The registry login such a job uses: user `oidc`, its ID token as the password. */
export async function githubActionsLogin(issuer: TestIssuer, ownerId: string, audience: string): Promise<{ username: string; password: string }> {
  return { username: 'oidc', password: await githubActionsIdToken(issuer, ownerId, audience) };
}

/** Claims shaped like a GitLab CI `id_tokens` token (branch pipeline), minus iss/aud/iat/nbf/exp/jti. */
export function gitlabCiClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'project_path:my-group/my-project:ref_type:branch:ref:main',
    namespace_id: '72',
    namespace_path: 'my-group',
    project_id: '20',
    project_path: 'my-group/my-project',
    user_id: '1',
    user_login: 'root',
    pipeline_id: '574',
    pipeline_source: 'push',
    job_id: '302',
    ref: 'main',
    ref_type: 'branch',
    ref_path: 'refs/heads/main',
    ref_protected: 'true',
    runner_id: 1,
    runner_environment: 'gitlab-hosted',
    sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    project_visibility: 'private',
    ci_config_ref_uri: 'gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main',
    ci_config_sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    ...overrides,
  };
}
