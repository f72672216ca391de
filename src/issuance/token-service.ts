import { randomBytes } from 'node:crypto';
import {
  RegistryError,
  badRequest,
  buildClaims,
  formatScope,
  parseScopes,
  tokenResponse,
  unauthorized,
  type TokenResponse,
} from '../registry/index.js';
import { IdentityError, type Identity, type IdentityVerifier } from '../identity/types.js';
import type { Decision, Policy } from '../policy/types.js';
import type { TokenSigner } from '../keys/types.js';
import type { TokenRequest } from './request.js';
import { logHash } from '../observability/hash.js';

export interface TokenServiceOptions {
  /** The registry's auth.token.issuer. */
  issuer: string;
  /** Accepted `service` values (token audiences). */
  services: readonly string[];
  /** Default bearer token lifetime, seconds. */
  lifetime: number;
  verifier: IdentityVerifier;
  /** Read on every request so a policy reload takes effect at once. */
  policy: () => Policy;
  signer: () => TokenSigner;
  now?: () => number;
}

/** What happened, for the audit log. Never holds a credential. */
export interface AuditRecord {
  decision: string;
  outcome: 'issued' | 'refused';
  service?: string;
  issuer?: string;
  subject?: string;
  tokenHash?: string;
  requested?: string[];
  granted?: string[];
  denied?: string[];
  rules?: readonly string[];
  policyVersion?: string;
  reason?: string;
  clientIp?: string;
}

export interface IssueResult {
  body: TokenResponse;
  audit: AuditRecord;
}

/**
 * One token request from credential to signed token:
 * service → scopes → identity → policy → claims → signature.
 * Errors are RegistryErrors carrying their HTTP status; the audit record for a
 * refusal is attached to the error so the HTTP layer can log it.
 */
export class TokenService {
  private readonly services: ReadonlySet<string>;
  private readonly now: () => number;

  constructor(private readonly options: TokenServiceOptions) {
    this.services = new Set(options.services);
    this.now = options.now ?? Date.now;
  }

  async issue(request: TokenRequest): Promise<IssueResult> {
    const audit: AuditRecord = { decision: randomBytes(9).toString('base64url'), outcome: 'refused' };
    if (request.clientIp !== undefined) audit.clientIp = request.clientIp;
    try {
      return await this.issueInner(request, audit);
    } catch (err) {
      if (err instanceof RegistryError) {
        audit.reason = err.message;
        throw Object.assign(err, { audit });
      }
      throw err;
    }
  }

  private async issueInner(request: TokenRequest, audit: AuditRecord): Promise<IssueResult> {
    const service = request.service;
    if (service === undefined || service === '') throw badRequest('the "service" parameter is required');
    if (!this.services.has(service)) {
      throw new RegistryError(400, 'UNKNOWN_SERVICE', `unknown service ${JSON.stringify(service.slice(0, 100))}`, { service: service.slice(0, 100) });
    }
    audit.service = service;

    if (request.method === 'POST') {
      if (request.grantType !== 'password') {
        throw new RegistryError(400, 'UNSUPPORTED', `grant_type ${JSON.stringify(request.grantType ?? '')} is not supported`);
      }
      if (request.credential.kind !== 'password') throw badRequest('grant_type=password needs "username" and "password"');
    }

    const scopes = parseScopes(request.scopes);
    audit.requested = scopes.map(formatScope);

    const identity = await this.authenticate(request, audit);
    if (identity) {
      audit.issuer = identity.issuer;
      audit.subject = identity.subject;
      audit.tokenHash = identity.tokenHash.slice(0, 16);
    }

    const policy = this.options.policy();
    const decision: Decision = policy.evaluate({
      identity,
      scopes,
      service,
      ...(request.clientIp !== undefined ? { clientIp: request.clientIp } : {}),
    });
    audit.policyVersion = policy.version;
    audit.rules = decision.matchedRules;

    const lifetime = Math.min(this.options.lifetime, decision.tokenLifetime ?? Infinity);
    const claims = buildClaims({
      issuer: this.options.issuer,
      subject: identity?.subject ?? '',
      service,
      access: decision.access,
      lifetime,
      now: this.now(),
    });
    const jwt = this.options.signer().sign(claims);

    audit.outcome = 'issued';
    audit.granted = decision.access.filter((a) => a.actions.length > 0).map(formatScope);
    const denied = deniedScopes(scopes, decision);
    if (denied.length) audit.denied = denied;
    return { body: tokenResponse(jwt, claims, { oauth: request.method === 'POST' }), audit };
  }

  private async authenticate(request: TokenRequest, audit: AuditRecord): Promise<Identity | null> {
    const credential = request.credential;
    if (credential.kind === 'none') return null;
    // c/image sends `account` without credentials; with credentials the two must agree (P23).
    if (request.account !== undefined && request.account !== '' && request.account !== credential.username) {
      throw badRequest('"account" does not match the Basic auth user name');
    }
    if (credential.password === '') throw unauthorized('empty password: send the OIDC ID token as the password');
    audit.tokenHash = logHash(credential.password);
    try {
      return await this.options.verifier.verify(credential.password);
    } catch (err) {
      if (err instanceof IdentityError) {
        if (err.code === 'jwks_unavailable') {
          throw new RegistryError(503, 'UNAVAILABLE', `cannot verify the token now: ${err.message}`, undefined, 5);
        }
        throw unauthorized(`invalid credentials: ${err.message}`, { reason: err.code, token: audit.tokenHash });
      }
      throw err;
    }
  }
}

function deniedScopes(requested: ReturnType<typeof parseScopes>, decision: Decision): string[] {
  const out: string[] = [];
  for (const s of requested) {
    const entry = decision.access.find((a) => a.type === s.type && a.name === s.name);
    const got = new Set(entry?.actions ?? []);
    if (got.has('*')) continue;
    const missing = s.actions.filter((a) => !got.has(a) && a !== '*');
    if (s.actions.includes('*') && !got.has('*') && got.size === 0) missing.push('*');
    if (missing.length) out.push(`${s.type}:${s.name}:${missing.join(',')}`);
  }
  return out;
}
