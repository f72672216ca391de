import type { AccessEntry } from './access.js';
import { formatScope } from './scope.js';
import { randomId } from '../lib/index.js';

/** Claims of a registry bearer token, shaped exactly as distribution decodes them. */
export interface RegistryClaims {
  iss: string;
  /** The identity's name; "" for anonymous. */
  sub: string;
  /** A string, never an array: distribution 2.8 rejects an array as malformed. */
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: AccessEntry[];
}

export const MIN_EXPIRES_IN = 60;

export interface ClaimsInput {
  issuer: string;
  subject: string;
  service: string;
  access: AccessEntry[];
  /** Seconds; raised to the clients' minimum of 60. */
  lifetime: number;
  /** Milliseconds since the epoch. */
  now: number;
}

/** Integer times only: fractional `exp` is a malformed token to distribution. */
export function buildClaims(input: ClaimsInput): RegistryClaims {
  const iat = Math.floor(input.now / 1000);
  const expiresIn = Math.max(MIN_EXPIRES_IN, Math.floor(input.lifetime));
  return {
    iss: input.issuer,
    sub: input.subject,
    aud: input.service,
    exp: iat + expiresIn,
    nbf: iat,
    iat,
    jti: randomId(16),
    access: input.access,
  };
}

export interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
  /** POST responses only: the granted scopes, space-separated. */
  scope?: string;
  token_type?: 'Bearer';
}

/** RFC 3339 for `iat` (whole seconds); the text of the current second is formatted once. */
let lastIssuedAt = { iat: -1, text: '' };
function issuedAt(iat: number): string {
  if (iat !== lastIssuedAt.iat) lastIssuedAt = { iat, text: new Date(iat * 1000).toISOString().replace('.000Z', 'Z') };
  return lastIssuedAt.text;
}

/**
 * Both `token` and `access_token` carry the JWT: docker's GET prefers
 * `access_token`, its POST reads only `access_token`, c/image prefers `token`.
 * `issued_at` is RFC 3339 and equals `iat`, so client caches expire with the JWT.
 */
export function tokenResponse(
  jwt: string,
  claims: RegistryClaims,
  options: { oauth?: boolean; refreshToken?: string } = {},
): TokenResponse {
  const body: TokenResponse = {
    token: jwt,
    access_token: jwt,
    expires_in: claims.exp - claims.iat,
    issued_at: issuedAt(claims.iat),
  };
  if (options.oauth) {
    body.token_type = 'Bearer';
    body.scope = claims.access.filter((a) => a.actions.length > 0).map(formatScope).join(' ');
  }
  if (options.refreshToken !== undefined) body.refresh_token = options.refreshToken;
  return body;
}
