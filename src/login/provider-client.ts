/**
 * One company OpenID provider as seen by the sign-in flow, through openid-client:
 * discovery once (cached; retried after a failure), authorization URLs with
 * PKCE S256 + state + nonce, and the code exchange. The ID token that comes back
 * is verified again by the broker's own verifier (see LoginService).
 */
import * as oidc from 'openid-client';
import { isLoopbackHost } from '../identity/index.js';
import type { PeopleProvider } from './types.js';

export interface AuthorizationRequest {
  readonly redirectUri: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeChallenge: string;
}

export interface ExchangeChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

export class ProviderClient {
  private configuration: Promise<oidc.Configuration> | null = null;

  constructor(
    readonly provider: PeopleProvider,
    private readonly options: { timeoutSec?: number } = {},
  ) {}

  get id(): string {
    return this.provider.id;
  }

  /** Discovery, cached for the life of the process; a failure is not cached, so the next sign-in retries. */
  private config(): Promise<oidc.Configuration> {
    if (this.configuration) return this.configuration;
    const p = this.provider;
    const issuerUrl = new URL(p.issuer);
    const insecure = issuerUrl.protocol === 'http:';
    if (insecure && !isLoopbackHost(issuerUrl.hostname)) {
      return Promise.reject(new ProviderError(`provider ${p.id}: plain http is allowed only for loopback issuers`));
    }
    const auth = p.clientSecret === undefined ? oidc.None() : oidc.ClientSecretPost(p.clientSecret);
    const pending = oidc
      .discovery(issuerUrl, p.clientId, undefined, auth, {
        timeout: this.options.timeoutSec ?? 5,
        execute: insecure ? [oidc.allowInsecureRequests] : [],
      })
      .then((configuration) => {
        // Tokens must carry the configured issuer byte for byte: the verifier and the policy match on it.
        if (configuration.serverMetadata().issuer !== p.issuer) {
          throw new ProviderError(`provider ${p.id}: discovery says issuer ${configuration.serverMetadata().issuer}, configured ${p.issuer}`);
        }
        return configuration;
      });
    this.configuration = pending;
    pending.catch(() => {
      if (this.configuration === pending) this.configuration = null;
    });
    return pending;
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    const configuration = await this.config().catch((err: unknown) => {
      throw new ProviderError(`provider ${this.provider.id} is unreachable: ${(err as Error).message}`);
    });
    return oidc.buildAuthorizationUrl(configuration, {
      ...this.provider.authorizationParams,
      redirect_uri: request.redirectUri,
      scope: this.provider.scopes.join(' '),
      response_type: 'code',
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    });
  }

  /**
   * Redeems the authorization code in the callback's query; returns the raw ID token.
   * Throws ProviderError with the provider's reason.
   */
  async exchange(callbackQuery: URLSearchParams, checks: ExchangeChecks): Promise<string> {
    const configuration = await this.config();
    // openid-client derives the redirect_uri it sends from this URL: the public one the provider knows.
    const currentUrl = new URL(checks.redirectUri);
    for (const [k, v] of callbackQuery) currentUrl.searchParams.append(k, v);
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw new ProviderError(describeOidcError(err));
    }
    if (typeof tokens.id_token !== 'string') throw new ProviderError('the provider returned no ID token');
    return tokens.id_token;
  }
}

/** openid-client errors carry the provider's `error` / `error_description`; keep them, drop stacks. */
function describeOidcError(err: unknown): string {
  const e = err as { error?: unknown; error_description?: unknown; message?: unknown; cause?: { error?: unknown; error_description?: unknown } };
  const code = e.error ?? e.cause?.error;
  const description = e.error_description ?? e.cause?.error_description;
  if (typeof code === 'string') return `${code}${typeof description === 'string' ? `: ${description}` : ''}`;
  return typeof e.message === 'string' ? e.message : String(err);
}
