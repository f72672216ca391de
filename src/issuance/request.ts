/** A token request after HTTP parsing, before any check. Transport-neutral. */
export type Credential =
  | { readonly kind: 'none' }
  /** HTTP Basic (GET) or the OAuth2 password grant (POST): the password is an ID token. */
  | { readonly kind: 'password'; readonly username: string; readonly password: string };

export type GrantType = 'password' | 'refresh_token' | 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface TokenRequest {
  /** GET (docker token protocol) or POST (OAuth2 form). */
  readonly method: 'GET' | 'POST';
  readonly service: string | undefined;
  /** Raw `scope` values; each may hold several space-separated scopes. */
  readonly scopes: readonly string[];
  readonly account?: string;
  readonly clientId?: string;
  /** GET offline_token=true or POST access_type=offline. */
  readonly offline: boolean;
  readonly credential: Credential;
  /** POST only. */
  readonly grantType?: GrantType;
  readonly refreshToken?: string;
  /** Token exchange (RFC 8693): the ID token being exchanged and its declared type. */
  readonly subjectToken?: string;
  readonly subjectTokenType?: string;
  readonly requestedTokenType?: string;
  readonly clientIp?: string;
}
