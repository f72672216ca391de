/** A token request after edge validation, before any check of meaning. Transport-neutral. */

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Subject token types accepted for an exchange: an OIDC ID token is both. */
export const SUBJECT_TOKEN_TYPES = ['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt'] as const;
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const REQUESTED_TOKEN_TYPES = [ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:refresh_token'] as const;

export type SubjectTokenType = (typeof SUBJECT_TOKEN_TYPES)[number];
export type RequestedTokenType = (typeof REQUESTED_TOKEN_TYPES)[number];
export type GrantType = 'password' | 'refresh_token' | typeof TOKEN_EXCHANGE;

/** HTTP Basic (GET) or the OAuth2 password grant (POST): the password is an ID token. */
export interface PasswordCredential {
  readonly kind: 'password';
  readonly username: string;
  readonly password: string;
}
export type Credential = { readonly kind: 'none' } | PasswordCredential;

interface RequestCommon {
  readonly service: string | undefined;
  /** Raw `scope` values; each may hold several space-separated scopes. */
  readonly scopes: readonly string[];
  readonly account?: string;
  readonly clientId?: string;
  readonly clientIp?: string;
}

/** The docker token protocol: GET with optional Basic credentials. */
export interface GetTokenRequest extends RequestCommon {
  readonly method: 'GET';
  /** offline_token=true: a refresh token is wanted as well. */
  readonly offline: boolean;
  readonly credential: Credential;
}

/** OAuth2 password grant: the ID token as the password. */
export interface PasswordGrantRequest extends RequestCommon {
  readonly method: 'POST';
  readonly grantType: 'password';
  /** access_type=offline. */
  readonly offline: boolean;
  readonly credential: PasswordCredential;
}

export interface RefreshGrantRequest extends RequestCommon {
  readonly method: 'POST';
  readonly grantType: 'refresh_token';
  readonly refreshToken: string;
}

/** RFC 8693: an ID token exchanged once for a refresh token. */
export interface ExchangeGrantRequest extends RequestCommon {
  readonly method: 'POST';
  readonly grantType: typeof TOKEN_EXCHANGE;
  readonly subjectToken: string;
  readonly subjectTokenType: SubjectTokenType;
  readonly requestedTokenType?: RequestedTokenType;
}

export type TokenRequest = GetTokenRequest | PasswordGrantRequest | RefreshGrantRequest | ExchangeGrantRequest;
