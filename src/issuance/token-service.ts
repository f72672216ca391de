import { buildClaims, formatScope, missingActions, parseScopes, tokenResponse, type TokenResponse } from '../registry/index.js';
import { isPortcullisError, randomId, type PortcullisError } from '../lib/index.js';
import { IdentityError, hashToken, type Identity, type IdentityVerifier, type Presentation } from '../identity/index.js';
import type { Decision, Policy } from '../policy/engine/types.js';
import type { TokenSigner } from '../keys/types.js';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, type Credential, type PasswordCredential, type TokenRequest } from './request.js';
import type { SessionService } from '../sessions/index.js';
import { IssuanceError } from './errors.js';
import { KEYS_UNAVAILABLE, TOKEN_REFUSAL_REASONS, publicReason } from './refusal-reasons.js';
import { DecisionCache } from './decision-cache.js';

/** How the caller proved who it is (`code`: a person's one-time code from the sign-in result page). */
type Source = 'id_token' | 'code' | 'refresh' | 'exchange' | 'anonymous';

/** One-time codes of people's browser sign-in start with this (sessions/ ONE_TIME_CODE_PREFIX); ID tokens are JWTs. */
const LOGIN_CODE_PREFIX = 'pco_';

/** People's sign-in: the person behind a one-time code, or why the code is refused. */
export type LoginCodeRedemption = { readonly identity: Identity } | { readonly refused: string };

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
  /** People's sign-in: redeems a one-time code presented as the password, once. */
  redeemLoginCode?: (code: string, service: string) => Promise<LoginCodeRedemption>;
  /** Policy answers for re-presented ID tokens; on by default, `false` turns it off. */
  decisionCache?: DecisionCache | false;
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
  granted?: readonly string[];
  denied?: readonly string[];
  rules?: readonly string[];
  policyVersion?: string;
  reason?: string;
  clientIp?: string;
  /** GET, password, refresh_token or token-exchange. */
  grant?: string;
  /** Session id (never the refresh token) when one was used or opened. */
  session?: string;
  sessionOpened?: boolean;
  /** Why a session that was asked for was not opened. */
  sessionSkipped?: string;
}

/** Every request ends in an outcome with its audit record; only bugs throw. */
export type TokenOutcome =
  | { readonly ok: true; readonly body: IssuedBody; readonly audit: AuditRecord }
  | { readonly ok: false; readonly error: PortcullisError; readonly audit: AuditRecord };

/**
 * One token request from credential to signed token:
 * service → scopes → identity → policy → claims → signature.
 * Refusals are PortcullisErrors with stable codes, returned in the outcome with
 * the audit record; src/http/ decides their HTTP status.
 */
export class TokenService {
  private readonly services: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly decisions: DecisionCache | undefined;

  constructor(private readonly options: TokenServiceOptions) {
    this.services = new Set(options.services);
    this.now = options.now ?? Date.now;
    this.decisions = options.decisionCache === false ? undefined : (options.decisionCache ?? new DecisionCache());
  }

  async issue(request: TokenRequest): Promise<TokenOutcome> {
    const audit: AuditRecord = { decision: randomId(9), outcome: 'refused' };
    if (request.clientIp !== undefined) audit.clientIp = request.clientIp;
    try {
      return { ok: true, audit, body: await this.issueInner(request, audit) };
    } catch (err) {
      if (!isPortcullisError(err)) throw err;
      audit.reason ??= err.message;
      return { ok: false, error: err, audit };
    }
  }

  private async issueInner(request: TokenRequest, audit: AuditRecord): Promise<IssuedBody> {
    const service = request.service;
    if (service === undefined || service === '') throw new IssuanceError('invalid_request', 'the "service" parameter is required');
    if (!this.services.has(service)) {
      throw new IssuanceError('unknown_service', `unknown service ${JSON.stringify(service.slice(0, 100))}`, { detail: { service: service.slice(0, 100) } });
    }
    audit.service = service;
    const grant = request.method === 'POST' ? request.grantType : 'GET';
    audit.grant = grant === TOKEN_EXCHANGE ? 'token-exchange' : grant;
    const sessions = this.options.sessions;
    if (request.method === 'POST' && request.grantType !== 'password') {
      if (!sessions || (request.grantType === 'refresh_token' && !sessions.refreshEnabled)) {
        throw new IssuanceError('unsupported_grant', `grant_type ${JSON.stringify(request.grantType)} is not enabled on this server`);
      }
    }

    const scopes = parseScopes(request.scopes);
    audit.requested = scopes.map(formatScope);

    // Known up front: these requests fail without the store, so its failure is a 503 at the first store call.
    const offline = request.method === 'GET' || request.grantType === 'password' ? request.offline : false;
    const needsStore = grant === 'refresh_token' || grant === TOKEN_EXCHANGE || (offline && sessions?.refreshEnabled === true);
    // Cheapest limit first: before any signature check or store read for the caller.
    if (sessions && request.clientIp !== undefined) await sessions.limits.checkIp(request.clientIp, needsStore);

    let identity: Identity | null;
    let source: Source;
    let refreshToken: string | undefined;
    if (request.method === 'POST' && request.grantType === 'refresh_token') {
      const refreshed = await (sessions as SessionService).refresh(request.refreshToken, service);
      if (this.options.issuerTrusted && !this.options.issuerTrusted(refreshed.identity.issuerId)) {
        throw new IssuanceError('issuer_untrusted', 'the issuer of this session is no longer trusted; log in again');
      }
      identity = refreshed.identity;
      source = 'refresh';
      refreshToken = refreshed.token;
      audit.session = refreshed.session.id;
    } else if (request.method === 'POST' && request.grantType === TOKEN_EXCHANGE) {
      identity = await this.verifyIdToken(request.subjectToken, audit, 'exchange', request.clientIp);
      source = 'exchange';
    } else if (this.isLoginCode(request.credential, request.account)) {
      identity = await this.redeemLoginCode(request.credential.password, service);
      source = 'code';
    } else {
      identity = await this.authenticate(request.credential, request.account, audit, request.clientIp);
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
    // What comes back: a directly presented ID token (its hash fixes the claims) and a session's
    // refresh token (its claims never change); codes and exchanges are used once.
    const cacheKey = identity && this.decisions ? decisionKey(source, identity, audit.session, service, request.scopes, request.clientIp) : undefined;
    let cached = cacheKey === undefined ? undefined : this.decisions?.get(policy, cacheKey);
    if (cached === undefined) {
      const decision: Decision = policy.evaluate({
        identity,
        scopes,
        service,
        ...(request.clientIp !== undefined ? { clientIp: request.clientIp } : {}),
      });
      cached = { decision, granted: decision.access.filter((a) => a.actions.length > 0).map(formatScope), denied: deniedScopes(scopes, decision) };
      if (cacheKey !== undefined) this.decisions?.set(policy, cacheKey, cached);
    }
    const decision = cached.decision;
    audit.policyVersion = policy.version;
    audit.rules = decision.matchedRules;
    // Does any allow rule apply to this identity? Strangers a shared issuer signs for get
    // neither a share of the issuer's rate limit nor anything kept in the store.
    const applies = (decision.applyingRules ?? decision.matchedRules).length > 0;
    if (identity && sessions && applies) await sessions.limits.checkIssuer(identity.issuer, needsStore);
    if (identity && sessions && !applies && (source === 'exchange' || (source === 'id_token' && offline))) audit.sessionSkipped = 'no allow rule applies to this identity';

    if (identity && sessions && applies) {
      // Single use is checked after every cheaper refusal, so a bad request does not burn the token.
      const once =
        source === 'exchange' || (source === 'id_token' && sessions.singleUseRequired(identity, decision.matchedRules));
      if (once && !(await sessions.consumeIdToken(identity, source === 'exchange' ? 'exchange' : 'direct'))) {
        throw new IssuanceError('replayed', 'this ID token was already used; present a fresh one', { detail: { reason: 'replayed' } });
      }
      // A refresh token only when asked for (offline) or as the point of an exchange: the
      // memory store loses sessions on restart, so nobody should get one by surprise.
      const wantsSession = source === 'exchange' || ((source === 'id_token' || source === 'code') && offline);
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
    audit.granted = cached.granted;
    if (cached.denied.length) audit.denied = cached.denied;
    const body: IssuedBody = tokenResponse(jwt, claims, {
      oauth: request.method === 'POST',
      ...(refreshToken !== undefined ? { refreshToken } : {}),
    });
    if (source === 'exchange') body.issued_token_type = ACCESS_TOKEN_TYPE;
    return body;
  }

  /** A one-time code of the people's sign-in as the password: a prefix test, nothing more on the hot path. */
  private isLoginCode(credential: Credential, account: string | undefined): credential is PasswordCredential {
    if (credential.kind !== 'password' || this.options.redeemLoginCode === undefined || !credential.password.startsWith(LOGIN_CODE_PREFIX)) return false;
    if (account !== undefined && account !== '' && account !== credential.username) {
      throw new IssuanceError('invalid_request', '"account" does not match the Basic auth user name');
    }
    return true;
  }

  private async redeemLoginCode(code: string, service: string): Promise<Identity> {
    const redeemed = await (this.options.redeemLoginCode as NonNullable<TokenServiceOptions['redeemLoginCode']>)(code, service);
    if ('refused' in redeemed) throw new IssuanceError('bad_credentials', redeemed.refused, { detail: { reason: 'one_time_code' } });
    return redeemed.identity;
  }

  private async authenticate(credential: Credential, account: string | undefined, audit: AuditRecord, clientIp: string | undefined): Promise<Identity | null> {
    if (credential.kind === 'none') return null;
    // containers/image sends `account` without credentials; with credentials the two must agree.
    if (account !== undefined && account !== '' && account !== credential.username) {
      throw new IssuanceError('invalid_request', '"account" does not match the Basic auth user name');
    }
    if (credential.password === '') throw new IssuanceError('bad_credentials', 'empty password: send the OIDC ID token as the password');
    return this.verifyIdToken(credential.password, audit, 'direct', clientIp);
  }

  /** `presentation` lets issuers configured exchangeOnly refuse direct use; `client` bounds wildcard discovery per caller. */
  private async verifyIdToken(token: string, audit: AuditRecord, presentation: Presentation, client: string | undefined): Promise<Identity> {
    const hash = hashToken(token);
    audit.tokenHash = hash.slice(0, 16);
    try {
      return await this.options.verifier.verify(token, { tokenHash: hash, presentation, ...(client !== undefined ? { client } : {}) });
    } catch (err) {
      if (err instanceof IdentityError) {
        // The detail is for the audit record; the caller gets a reason code and a fixed sentence.
        audit.reason = `${err.code}: ${err.message}`;
        if (err.code === 'jwks_unavailable') {
          throw new IssuanceError('verification_unavailable', KEYS_UNAVAILABLE.message, { cause: err, detail: { reason: KEYS_UNAVAILABLE.reason } });
        }
        const reason = publicReason(err.code);
        throw new IssuanceError('bad_credentials', `invalid credentials: ${TOKEN_REFUSAL_REASONS[reason]}`, { cause: err, detail: { reason } });
      }
      throw err;
    }
  }
}

function decisionKey(source: Source, identity: Identity, session: string | undefined, service: string, scopes: readonly string[], clientIp: string | undefined): string | undefined {
  if (source === 'id_token') return DecisionCache.key(identity.tokenHash, service, scopes, clientIp);
  // The prefix keeps a session id from ever reading as a token hash.
  if (source === 'refresh' && session !== undefined) return DecisionCache.key(`session:${session}`, service, scopes, clientIp);
  return undefined;
}

function deniedScopes(requested: ReturnType<typeof parseScopes>, decision: Decision): string[] {
  const out: string[] = [];
  for (const s of requested) {
    const entry = decision.access.find((a) => a.type === s.type && a.name === s.name);
    const missing = missingActions(s.actions, entry?.actions ?? []);
    if (missing.length) out.push(`${s.type}:${s.name}:${missing.join(',')}`);
  }
  return out;
}
