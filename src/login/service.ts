import * as oidc from 'openid-client';
import { IdentityError, type Identity, type IdentityVerifier } from '../identity/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { sha256 } from '../sessions/index.js';
import { SessionError, type BrowserSession, type SessionService, type SessionSummary } from '../sessions/index.js';
import { LoginError } from './errors.js';
import { PendingFlows } from './flows.js';
import { DeviceGrants } from './device.js';
import { summarizeGrants, type GrantSummary } from './grants.js';
import { checkClientState, checkCodeChallenge, checkLoopbackRedirect, loopbackResult, verifierMatches } from './handoff.js';
import { displayName, groupsOf, restoreIdentity, storeIdentity } from './person.js';
import { ProviderClient, ProviderError } from './provider-client.js';
import type { DeviceRecord, FlowPurpose, HandoffPayload, LoginSettings, LoginTokenBody, PeopleProvider, RegistryCodePayload, StoredIdentity } from './types.js';
import { normalizeUserCode } from './user-code.js';

/** One-time code purposes (OneTimeCodes keys them apart: a hand-off code is no registry password). */
const HANDOFF = 'cli-handoff';
const REGISTRY = 'registry-login';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface LoginServiceDeps {
  settings: LoginSettings;
  sessions: SessionService;
  verifier: IdentityVerifier;
  policy: () => CompiledPolicy;
  now?: () => number;
  /** Provider clients by id; built from settings when absent (tests may inject). */
  clients?: ReadonlyMap<string, ProviderClient>;
}

/** Where the browser goes after the provider's callback. */
export type CallbackOutcome =
  | { readonly kind: 'redirect'; readonly location: string; readonly browserCookie?: string }
  | { readonly kind: 'refused'; readonly message: string };

export interface ResultView {
  readonly session: BrowserSession;
  readonly providerName: string;
  readonly service: string;
  readonly code: string;
  readonly codeLifetimeSec: number;
  readonly sessionLifetimeSec: number;
  readonly grants: GrantSummary;
  readonly groups: readonly string[];
  readonly email?: string;
  readonly registry: string;
}

export interface SessionRow extends SessionSummary {
  readonly lastUsedAt?: number;
}

/**
 * People's sign-in, independent of HTTP: browser sign-in at the company's provider,
 * the loopback hand-off to the CLI, the device grant, the result page's one-time
 * code, and the person's own sessions. Everything stateful lives in the Store.
 */
export class LoginService {
  readonly settings: LoginSettings;
  private readonly clients: ReadonlyMap<string, ProviderClient>;
  private readonly flows: PendingFlows;
  readonly device: DeviceGrants;
  private readonly now: () => number;

  constructor(private readonly deps: LoginServiceDeps) {
    this.settings = deps.settings;
    this.now = deps.now ?? Date.now;
    this.clients = deps.clients ?? new Map(deps.settings.providers.map((p) => [p.id, new ProviderClient(p)]));
    this.flows = new PendingFlows(deps.sessions.store, deps.settings.flowLifetimeSec);
    this.device = new DeviceGrants(deps.sessions.store, deps.settings.device, this.now);
  }

  get callbackUrl(): string {
    return `${this.settings.publicUrl}/login/callback`;
  }

  provider(id: string | undefined): PeopleProvider {
    const providers = this.settings.providers;
    if (id === undefined || id === '') {
      if (providers.length === 1) return providers[0] as PeopleProvider;
      throw new LoginError('invalid_request', `"provider" is required: one of ${providers.map((p) => p.id).join(', ')}`);
    }
    const found = providers.find((p) => p.id === id);
    if (!found) throw new LoginError('invalid_request', `unknown provider ${JSON.stringify(id.slice(0, 64))}`);
    return found;
  }

  /** The `service` parameter, or the only configured one. `fallbackFirst`: the browser pages default to the first. */
  service(value: string | undefined, fallbackFirst = false): string {
    const services = this.settings.services;
    if (value === undefined || value === '') {
      if (services.length === 1 || fallbackFirst) return services[0] as string;
      throw new LoginError('invalid_request', `"service" is required: one of ${services.join(', ')}`);
    }
    if (!services.includes(value)) throw new LoginError('invalid_request', `unknown service ${JSON.stringify(value.slice(0, 100))}`);
    return value;
  }

  /** /.well-known/portcullis */
  discovery(): Record<string, unknown> {
    const base = this.settings.publicUrl;
    return {
      broker: base,
      token_endpoint: `${base}/token`,
      services: [...this.settings.services],
      registries: [...this.settings.registries],
      ...(this.settings.providers.length > 0
        ? {
            login: {
              authorization_endpoint: `${base}/login/cli`,
              device_authorization_endpoint: `${base}/login/device/code`,
              token_endpoint: `${base}/login/token`,
              revocation_endpoint: `${base}/login/revoke`,
              providers: this.settings.providers.map((p) => ({ id: p.id, name: p.name })),
            },
          }
        : {}),
    };
  }

  /** Validates the CLI's /login/cli request; throws LoginError (shown as a page, never a redirect). */
  cliPurpose(q: URLSearchParams): FlowPurpose {
    const redirectUri = checkLoopbackRedirect(q.get('redirect_uri') ?? undefined);
    return {
      kind: 'cli',
      redirectUri,
      clientState: checkClientState(q.get('state') ?? undefined),
      codeChallenge: checkCodeChallenge(q.get('code_challenge') ?? undefined, q.get('code_challenge_method') ?? undefined),
    };
  }

  /**
   * Starts a sign-in at the provider: PKCE S256, state and nonce, remembered in the Store
   * and bound to this browser by `flowCookie` (a callback arriving in another browser is refused).
   */
  async begin(purpose: FlowPurpose, options: { provider?: string; service?: string; flowCookie: string }): Promise<string> {
    const provider = this.provider(options.provider);
    const service = this.service(options.service, purpose.kind !== 'cli');
    const client = this.clients.get(provider.id) as ProviderClient;
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    await this.flows.save(state, {
      v: 1,
      provider: provider.id,
      service,
      codeVerifier,
      nonce,
      browserBinding: sha256(options.flowCookie),
      purpose,
      createdAt: this.now(),
    });
    let url: URL;
    try {
      url = await client.authorizationUrl({ redirectUri: this.callbackUrl, state, nonce, codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier) });
    } catch (err) {
      throw new LoginError('unavailable', `cannot reach ${provider.name} right now: ${(err as Error).message}`);
    }
    return url.href;
  }

  /** The provider sent the browser back: check state, binding, code, ID token; then continue by purpose. */
  async complete(query: URLSearchParams, flowCookie: string | undefined, sessionCookie?: string): Promise<CallbackOutcome> {
    const state = query.get('state');
    if (state === null || state === '') return { kind: 'refused', message: 'The answer from the sign-in provider has no "state": it was not started here. Start again.' };
    const flow = await this.flows.take(state);
    if (flow === null) {
      return { kind: 'refused', message: 'This sign-in is unknown, expired or was already completed (the "state" does not match any sign-in in progress). Start again.' };
    }
    const fail = (message: string): CallbackOutcome =>
      flow.purpose.kind === 'cli'
        ? { kind: 'redirect', location: loopbackResult(flow.purpose.redirectUri, { error: 'access_denied', error_description: message, state: flow.purpose.clientState }) }
        : { kind: 'refused', message };
    if (flowCookie === undefined || sha256(flowCookie) !== flow.browserBinding) {
      // Someone else's callback URL opened in this browser (login CSRF), or cookies are blocked.
      return { kind: 'refused', message: 'This sign-in was started in another browser (or cookies are blocked). Start again from this browser.' };
    }
    const providerError = query.get('error');
    if (providerError !== null) {
      const description = query.get('error_description');
      return fail(`The sign-in provider refused: ${providerError}${description ? ` (${description.slice(0, 300)})` : ''}`);
    }
    const provider = this.provider(flow.provider);
    let identity: Identity;
    try {
      const idToken = await (this.clients.get(provider.id) as ProviderClient).exchange(query, {
        state,
        nonce: flow.nonce,
        codeVerifier: flow.codeVerifier,
        redirectUri: this.callbackUrl,
      });
      // The broker's own verifier: the same trust checks (issuer, audience = client id, keys, times) as every token.
      identity = await this.deps.verifier.verify(idToken);
    } catch (err) {
      if (err instanceof ProviderError) return fail(`${provider.name} did not accept the sign-in: ${err.message}`);
      if (err instanceof IdentityError) return fail(`The ID token from ${provider.name} was refused: ${err.message}`);
      throw err;
    }
    if (identity.issuerId !== provider.id) return fail(`The ID token was not issued by ${provider.name}.`);
    if (identity.claims.nonce !== flow.nonce) return fail('The ID token does not carry this sign-in\'s nonce.');

    // Signed in already as the same person (e.g. a second `portcullis login`): keep that browser session.
    const current = await this.deps.sessions.browser.get(sessionCookie);
    const reuse = current !== null && current.issuer === identity.issuer && current.subject === identity.subject;
    const opened = reuse
      ? { cookie: undefined }
      : await this.deps.sessions.browser.create(
      {
        issuer: identity.issuer,
        issuerId: identity.issuerId,
        subject: identity.subject,
        claims: identity.claims,
        tokenHash: identity.tokenHash,
        idTokenExpiresAt: identity.expiresAt,
        ...(identity.tokenId !== undefined ? { tokenId: identity.tokenId } : {}),
        name: displayName(provider, identity.claims, identity.subject),
      },
          this.settings.browserSessionLifetimeSec,
        );
    const cookie = opened.cookie === undefined ? {} : { browserCookie: opened.cookie };
    const purpose = flow.purpose;
    switch (purpose.kind) {
      case 'cli': {
        const payload: HandoffPayload = { identity: storeIdentity(identity), service: flow.service, redirectUri: purpose.redirectUri, codeChallenge: purpose.codeChallenge };
        const code = await this.deps.sessions.codes.create(HANDOFF, JSON.stringify(payload), this.settings.handoffCodeLifetimeSec);
        return { kind: 'redirect', location: loopbackResult(purpose.redirectUri, { code, state: purpose.clientState }), ...cookie };
      }
      case 'device':
        return { kind: 'redirect', location: purpose.userCode ? `/device?user_code=${purpose.userCode}` : '/device', ...cookie };
      case 'sessions':
        return { kind: 'redirect', location: '/login/sessions', ...cookie };
      default:
        return { kind: 'redirect', location: `/login/result?service=${encodeURIComponent(flow.service)}`, ...cookie };
    }
  }

  browserSession(cookie: string | undefined): Promise<BrowserSession | null> {
    return this.deps.sessions.browser.get(cookie);
  }

  logout(cookie: string | undefined): Promise<void> {
    return this.deps.sessions.browser.end(cookie);
  }

  private identityOf(session: BrowserSession): Identity {
    return {
      issuer: session.issuer,
      issuerId: session.issuerId,
      subject: session.subject,
      claims: session.claims,
      tokenHash: session.tokenHash,
      expiresAt: session.idTokenExpiresAt,
      ...(session.tokenId !== undefined ? { tokenId: session.tokenId } : {}),
    };
  }

  grantsFor(session: BrowserSession, service: string): GrantSummary {
    return summarizeGrants(this.deps.policy(), this.identityOf(session), service);
  }

  /** The result page: what the policy grants, and a fresh one-time code for `docker login`. */
  async result(session: BrowserSession, serviceParam: string | undefined): Promise<ResultView> {
    const service = this.service(serviceParam, true);
    const identity = this.identityOf(session);
    const payload: RegistryCodePayload = { identity: storeIdentity(identity), service };
    const code = await this.deps.sessions.codes.create(REGISTRY, JSON.stringify(payload), this.settings.resultCodeLifetimeSec);
    const provider = this.settings.providers.find((p) => p.id === session.issuerId);
    const email = typeof session.claims.email === 'string' ? session.claims.email : undefined;
    return {
      session,
      providerName: provider?.name ?? session.issuerId,
      service,
      code,
      codeLifetimeSec: this.settings.resultCodeLifetimeSec,
      sessionLifetimeSec: this.deps.sessions.lifetimeOf(identity),
      grants: this.grantsFor(session, service),
      groups: groupsOf(provider, session.claims),
      ...(email !== undefined ? { email } : {}),
      registry: this.settings.registries[0] ?? '<registry>',
    };
  }

  /** /token with a `pco_` password: the person of the result page, once (or why not). */
  async redeemRegistryCode(code: string, service: string): Promise<{ identity: Identity } | { refused: string }> {
    const raw = await this.deps.sessions.codes.consume(REGISTRY, code);
    const again = `sign in again at ${this.settings.publicUrl}/login for a new code`;
    if (raw === null) return { refused: `this one-time code is unknown, expired or was already used; ${again}` };
    const payload = JSON.parse(raw) as RegistryCodePayload;
    if (payload.service !== service) {
      return { refused: `this one-time code was issued for service ${JSON.stringify(payload.service)}, not ${JSON.stringify(service)}; ${again}` };
    }
    return { identity: restoreIdentity(payload.identity) };
  }

  /** The per-IP request limit of /token applies to the login API too (a 429 in OAuth shape). */
  private async limitIp(ip: string): Promise<void> {
    try {
      await this.deps.sessions.limits.checkIp(ip, true);
    } catch (err) {
      if (err instanceof SessionError && err.code === 'rate_limited') throw new LoginError('rate_limited', err.message, err.retryAfterSec);
      throw err;
    }
  }

  /** POST /login/token: the CLI redeems a hand-off code or polls a device code. */
  async token(form: URLSearchParams, meta: { userAgent?: string; ip?: string }): Promise<LoginTokenBody> {
    if (meta.ip !== undefined) await this.limitIp(meta.ip);
    const grant = form.get('grant_type');
    if (grant === 'authorization_code') return this.redeemHandoff(form, meta);
    if (grant === DEVICE_GRANT) return this.pollDevice(form);
    throw new LoginError('unsupported_grant_type', `grant_type must be authorization_code or ${DEVICE_GRANT}`);
  }

  private async redeemHandoff(form: URLSearchParams, meta: { userAgent?: string }): Promise<LoginTokenBody> {
    const code = form.get('code') ?? '';
    if (code === '') throw new LoginError('invalid_request', '"code" is required');
    // Consumed first: a code is spent by any attempt, right or wrong (RFC 6749 §4.1.2).
    const raw = await this.deps.sessions.codes.consume(HANDOFF, code);
    if (raw === null) throw new LoginError('invalid_grant', 'the code is unknown, expired or was already used; run the login again');
    const payload = JSON.parse(raw) as HandoffPayload;
    if (!verifierMatches(form.get('code_verifier') ?? undefined, payload.codeChallenge)) {
      throw new LoginError('invalid_grant', 'code_verifier does not match the code_challenge of this login (PKCE); the code is spent, run the login again');
    }
    // Compared in the normalised form the login started with (http://127.0.0.1:1 and http://127.0.0.1:1/ are one URI).
    const redirect = form.get('redirect_uri') ?? '';
    if ((URL.canParse(redirect) ? new URL(redirect).href : redirect) !== payload.redirectUri) {
      throw new LoginError('invalid_grant', 'redirect_uri differs from the one the login started with; the code is spent, run the login again');
    }
    const device = `browser sign-in${meta.userAgent ? ` (${meta.userAgent.slice(0, 80)})` : ''}`;
    return this.openSession(payload.identity, payload.service, 'browser', form.get('client_id') ?? 'portcullis-cli', device);
  }

  private async pollDevice(form: URLSearchParams): Promise<LoginTokenBody> {
    const deviceCode = form.get('device_code') ?? '';
    const clientId = form.get('client_id') ?? '';
    if (deviceCode === '' || clientId === '') throw new LoginError('invalid_request', '"device_code" and "client_id" are required');
    const polled = await this.device.poll(deviceCode, clientId);
    if (polled.status === 'error') throw polled.error;
    const r = polled.record;
    return this.openSession(r.identity, r.service, 'device', r.clientId, `device sign-in from ${r.requestedFrom}`);
  }

  /** A refresh session for a person: the policy must grant them something on `service`. */
  private async openSession(stored: StoredIdentity, service: string, origin: 'browser' | 'device', clientId: string, device: string): Promise<LoginTokenBody> {
    const sessions = this.deps.sessions;
    if (!sessions.refreshEnabled) {
      throw new LoginError('unsupported_grant_type', 'refresh tokens are turned off on this broker (sessions.refreshTokens.enabled)');
    }
    const identity = restoreIdentity(stored);
    const decision = this.deps.policy().evaluate({ identity, scopes: [], service });
    const rules = decision.applyingRules ?? [];
    const provider = this.settings.providers.find((p) => p.id === identity.issuerId);
    const name = displayName(provider, identity.claims, identity.subject);
    if (rules.length === 0) throw new LoginError('access_denied', `the trust policy grants ${name} nothing on ${service}; ask the platform team`);
    const opened = await sessions.start({
      identity,
      service,
      origin,
      rules,
      ...(decision.refreshLifetime !== undefined ? { lifetimeCap: decision.refreshLifetime } : {}),
      clientId: clientId.slice(0, 100),
      device,
    });
    return {
      refresh_token: opened.token,
      token_type: 'refresh',
      expires_in: Math.round((opened.session.expiresAt - this.now()) / 1000),
      subject: identity.subject,
      issuer: identity.issuer,
      service,
      name,
    };
  }

  /** RFC 7009: always "ok"; the session of the token is gone afterwards. */
  async revoke(token: string): Promise<void> {
    if (token === '') return;
    await this.deps.sessions.revoke({ token });
  }

  /** POST /login/device/code */
  async deviceStart(form: URLSearchParams, requestedFrom: string): Promise<Record<string, unknown>> {
    await this.limitIp(requestedFrom);
    const clientId = form.get('client_id') ?? '';
    if (!/^[\x21-\x7e]{1,100}$/.test(clientId)) throw new LoginError('invalid_client', '"client_id" is required (e.g. portcullis-cli)');
    const provider = this.provider(form.get('provider') ?? undefined);
    const service = this.service(form.get('service') ?? undefined);
    const started = await this.device.start({ clientId, service, provider: provider.id, requestedFrom });
    const verification = `${this.settings.publicUrl}/device`;
    return {
      device_code: started.deviceCode,
      user_code: started.userCode,
      verification_uri: verification,
      verification_uri_complete: `${verification}?user_code=${started.userCode}`,
      expires_in: started.expiresIn,
      interval: started.interval,
    };
  }

  /** The device request behind a code the signed-in person typed (guesses counted). */
  deviceLookup(session: BrowserSession, userCode: string, ip: string): Promise<{ record: DeviceRecord; userCode: string }> {
    return this.device.lookup(userCode, { subject: `${session.issuer}\n${session.subject}`, ip });
  }

  /** Approve or deny; the same guess accounting applies to the code. */
  async deviceDecide(session: BrowserSession, userCode: string, approve: boolean, ip: string): Promise<DeviceRecord> {
    const found = await this.deviceLookup(session, userCode, ip);
    return this.device.decide(found.userCode, approve, storeIdentity(this.identityOf(session)));
  }

  /** The flow purpose for /device when not signed in yet: keeps a well-formed user code for after the sign-in. */
  devicePurpose(userCode: string | undefined): FlowPurpose {
    const normalized = userCode === undefined ? null : normalizeUserCode(userCode);
    return normalized === null ? { kind: 'device' } : { kind: 'device', userCode: normalized };
  }

  /** The person's own refresh sessions (this issuer and subject), newest first. */
  async ownSessions(session: BrowserSession): Promise<SessionRow[]> {
    const list = await this.deps.sessions.list({ subject: session.subject, issuer: session.issuer });
    const used = await this.deps.sessions.lastUsed(list.map((s) => s.id));
    return list
      .map((s) => ({ ...s, ...(used.has(s.id) ? { lastUsedAt: used.get(s.id) as number } : {}) }))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Ends one of the person's own sessions; another person's id ends nothing. */
  async revokeOwn(session: BrowserSession, id: string): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return false;
    return (await this.deps.sessions.revoke({ id, subject: session.subject, issuer: session.issuer })) > 0;
  }
}
