import {
  RegistryError,
  randomId,
  badRequest,
  buildClaims,
  formatScope,
  parseScopes,
  tokenResponse,
  unauthorized,
  type TokenResponse,
} from '../registry/index.js';
import { IdentityError, type Identity, type IdentityVerifier } from '../identity/types.js';
import type { Decision, Policy } from '../policy/engine/types.js';
import type { TokenSigner } from '../keys/types.js';
import type { TokenRequest } from './request.js';
import { sha256 } from '../observability/hash.js';
import type { SessionService } from '../sessions/index.js';
import { toRegistryError } from './session-errors.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Subject token types accepted for an exchange: an OIDC ID token is both. */
export const SUBJECT_TOKEN_TYPES: readonly string[] = ['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt'];
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const REQUESTED_TOKEN_TYPES: readonly string[] = [ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:refresh_token'];

/** How the caller proved who it is. */
type Source = 'id_token' | 'refresh' | 'exchange' | 'anonymous';

export type IssuedBody = TokenResponse & { issued_token_type?: string };

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
  /**
   * Refresh tokens, token exchange, single use and rate limits. Without it the
   * service issues from directly presented ID tokens only (grant_type=password).
   */
  sessions?: SessionService;
  /** Is this configured issuer id still trusted? Sessions from removed issuers stop refreshing. */
  issuerTrusted?: (issuerId: string) => boolean;
}

/** What happened, for the audit log. Never holds a credential. */
export interface AuditRecord {
  decision: string;
  outcome: 'issued' | 'refused';
  service?: string;
  issuer?: string;
  /** Id of the configured issuer entry that accepted the token (a bounded set, for metrics). */
  issuerId?: string;
  subject?: string;
  tokenHash?: string;
  requested?: string[];
  granted?: string[];
  denied?: string[];
  rules?: readonly string[];
  policyVersion?: string;
  reason?: string;
  clientIp?: string;
  /** GET, password, refresh_token or token-exchange. */
  grant?: string;
  /** Session id (never the refresh token) when one was used or opened. */
  session?: string;
  sessionOpened?: boolean;
}

export interface IssueResult {
  body: IssuedBody;
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
    const audit: AuditRecord = { decision: randomId(9), outcome: 'refused' };
    if (request.clientIp !== undefined) audit.clientIp = request.clientIp;
    try {
      return await this.issueInner(request, audit);
    } catch (thrown) {
      const err = toRegistryError(thrown);
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
    const grant = request.method === 'POST' ? (request.grantType ?? '') : 'GET';
    audit.grant = grant === TOKEN_EXCHANGE ? 'token-exchange' : grant;
    const sessions = this.options.sessions;
    this.checkGrantShape(request, grant);

    const scopes = parseScopes(request.scopes);
    audit.requested = scopes.map(formatScope);

    // Known up front: these requests fail without the store, so its failure is a 503 at the first store call.
    const needsStore =
      grant === 'refresh_token' || grant === TOKEN_EXCHANGE || (request.offline && sessions?.refreshEnabled === true);
    // Cheapest limit first: before any signature check or store read for the caller.
    if (sessions && request.clientIp !== undefined) await sessions.limits.checkIp(request.clientIp, needsStore);

    let identity: Identity | null;
    let source: Source;
    let refreshToken: string | undefined;
    if (grant === 'refresh_token') {
      const refreshed = await (sessions as SessionService).refresh(request.refreshToken as string, service);
      if (this.options.issuerTrusted && !this.options.issuerTrusted(refreshed.identity.issuerId)) {
        throw unauthorized('the issuer of this session is no longer trusted; log in again');
      }
      identity = refreshed.identity;
      source = 'refresh';
      refreshToken = refreshed.token;
      audit.session = refreshed.session.id;
    } else if (grant === TOKEN_EXCHANGE) {
      identity = await this.verifyIdToken(request.subjectToken as string, audit);
      source = 'exchange';
    } else {
      identity = await this.authenticate(request, audit);
      source = identity ? 'id_token' : 'anonymous';
    }
    if (identity) {
      audit.issuer = identity.issuer;
      audit.issuerId = identity.issuerId;
      audit.subject = identity.subject;
      audit.tokenHash = identity.tokenHash.slice(0, 16);
      if (sessions) await sessions.limits.checkIdentity(identity.issuer, identity.subject, needsStore);
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

    if (identity && sessions) {
      // Single use is checked after every cheaper refusal, so a bad request does not burn the token.
      const once =
        source === 'exchange' || (source === 'id_token' && sessions.singleUseRequired(identity, decision.matchedRules));
      if (once && !(await sessions.consumeIdToken(identity, source === 'exchange' ? 'exchange' : 'direct'))) {
        throw unauthorized('this ID token was already used; present a fresh one', { reason: 'replayed' });
      }
      // P15: a refresh token only when asked for (offline) or as the point of an exchange.
      const wantsSession = source === 'exchange' || (source === 'id_token' && request.offline);
      if (wantsSession && sessions.refreshEnabled) {
        const opened = await sessions.start({
          identity,
          service,
          origin: source === 'exchange' ? 'exchange' : request.method === 'GET' ? 'login' : 'password',
          // The rules this identity falls under (a login asks for no scope, so none "granted" anything).
          rules: decision.applyingRules ?? decision.matchedRules,
          ...(decision.refreshLifetime !== undefined ? { lifetimeCap: decision.refreshLifetime } : {}),
          ...(request.clientId !== undefined ? { clientId: request.clientId.slice(0, 100) } : {}),
        });
        refreshToken = opened.token;
        audit.session = opened.session.id;
        audit.sessionOpened = true;
      }
    }

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
    const body: IssuedBody = tokenResponse(jwt, claims, {
      oauth: request.method === 'POST',
      ...(refreshToken !== undefined ? { refreshToken } : {}),
    });
    if (source === 'exchange') body.issued_token_type = ACCESS_TOKEN_TYPE;
    return { body, audit };
  }

  /** Per-grant required fields, before any work. */
  private checkGrantShape(request: TokenRequest, grant: string): void {
    if (grant === 'GET') return;
    const sessions = this.options.sessions;
    if (grant === 'password') {
      if (request.credential.kind !== 'password') throw badRequest('grant_type=password needs "username" and "password"');
      return;
    }
    if (!sessions || (grant === 'refresh_token' && !sessions.refreshEnabled)) {
      throw new RegistryError(400, 'UNSUPPORTED', `grant_type ${JSON.stringify(grant.slice(0, 100))} is not enabled on this server`);
    }
    if (grant === 'refresh_token') {
      if (!request.refreshToken) throw badRequest('grant_type=refresh_token needs "refresh_token"');
      return;
    }
    if (grant === TOKEN_EXCHANGE) {
      if (!request.subjectToken) throw badRequest('token exchange needs "subject_token"');
      if (request.subjectTokenType === undefined || !SUBJECT_TOKEN_TYPES.includes(request.subjectTokenType)) {
        throw badRequest(`"subject_token_type" must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
      }
      if (request.requestedTokenType !== undefined && !REQUESTED_TOKEN_TYPES.includes(request.requestedTokenType)) {
        throw badRequest(`"requested_token_type" must be one of ${REQUESTED_TOKEN_TYPES.join(', ')}`);
      }
      return;
    }
    throw new RegistryError(400, 'UNSUPPORTED', `grant_type ${JSON.stringify(grant.slice(0, 100))} is not supported`);
  }

  private async authenticate(request: TokenRequest, audit: AuditRecord): Promise<Identity | null> {
    const credential = request.credential;
    if (credential.kind === 'none') return null;
    // c/image sends `account` without credentials; with credentials the two must agree (P23).
    if (request.account !== undefined && request.account !== '' && request.account !== credential.username) {
      throw badRequest('"account" does not match the Basic auth user name');
    }
    if (credential.password === '') throw unauthorized('empty password: send the OIDC ID token as the password');
    return this.verifyIdToken(credential.password, audit);
  }

  private async verifyIdToken(token: string, audit: AuditRecord): Promise<Identity> {
    const hash = sha256(token);
    audit.tokenHash = hash.slice(0, 16);
    try {
      return await this.options.verifier.verify(token, hash);
    } catch (err) {
      if (err instanceof IdentityError) {
        if (err.code === 'jwks_unavailable') {
          throw new RegistryError(503, 'UNAVAILABLE', `cannot verify the token now: ${err.message}`, { reason: err.code }, 5);
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
