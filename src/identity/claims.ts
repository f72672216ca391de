/**
 * Registered-claim checks on a payload whose signature already verified.
 * Times are seconds since the epoch; the issuer's clock skew widens every window equally.
 */
import type { TrustedIssuer } from './issuer-registry.js';
import { IdentityError } from './types.js';

export interface CheckedClaims {
  readonly subject: string;
  readonly expiresAt: number;
  readonly tokenId: string | undefined;
  /** The last second at which this token may be treated as valid (exp, or iat + maxTokenAge). */
  readonly validUntil: number;
}

const MAX_LISTED = 5;

/** Quote a claim value for an operator-facing message, bounded so a hostile token cannot flood logs. */
export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function listAudiences(audiences: ReadonlySet<string>): string {
  return [...audiences].map((aud) => JSON.stringify(aud)).join(', ');
}

function numericDate(payload: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new IdentityError('malformed', `claim ${name} is not a number of seconds`);
  }
  return value;
}

export function checkClaims(payload: Readonly<Record<string, unknown>>, issuer: TrustedIssuer, nowSeconds: number): CheckedClaims {
  const skew = issuer.clockSkew;

  const exp = numericDate(payload, 'exp');
  if (exp === undefined) throw new IdentityError('missing_claim', 'token has no exp claim');
  if (nowSeconds - skew >= exp) {
    throw new IdentityError('expired', `token expired ${Math.round(nowSeconds - exp)} s ago (clock skew allowed: ${skew} s)`);
  }

  const nbf = numericDate(payload, 'nbf');
  if (nbf !== undefined && nbf > nowSeconds + skew) {
    throw new IdentityError('not_yet_valid', `token is not valid for another ${Math.round(nbf - nowSeconds)} s (nbf; clock skew allowed: ${skew} s)`);
  }

  // Required (OIDC Core §2): without it neither the token's lifetime nor its age can be bounded.
  const iat = numericDate(payload, 'iat');
  if (iat === undefined) throw new IdentityError('missing_claim', 'token has no iat claim');
  if (iat > nowSeconds + skew) {
    throw new IdentityError('issued_in_future', `token was issued ${Math.round(iat - nowSeconds)} s in the future (clock skew allowed: ${skew} s); check the clocks`);
  }
  // A lifetime no issuer we know uses: a mis-minted token, or times written in milliseconds.
  if (exp - iat > issuer.maxTokenLifetime) {
    throw new IdentityError(
      'lifetime_too_long',
      `token lifetime (exp - iat) is ${Math.round(exp - iat)} s; issuer ${JSON.stringify(issuer.id)} accepts at most ${issuer.maxTokenLifetime} s`,
    );
  }
  let validUntil = exp;
  if (issuer.maxTokenAge !== undefined) {
    if (nowSeconds - iat > issuer.maxTokenAge + skew) {
      throw new IdentityError('too_old', `token was issued ${Math.round(nowSeconds - iat)} s ago; issuer ${JSON.stringify(issuer.id)} accepts at most ${issuer.maxTokenAge} s`);
    }
    validUntil = Math.min(exp, iat + issuer.maxTokenAge);
  }

  const aud = payload.aud;
  if (aud === undefined) {
    throw new IdentityError('missing_claim', `token has no aud claim; issuer ${JSON.stringify(issuer.id)} expects one of ${listAudiences(issuer.audiences)}`);
  }
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(audiences) || !audiences.every((value) => typeof value === 'string')) {
    throw new IdentityError('malformed', 'claim aud is neither a string nor an array of strings');
  }
  if (!audiences.some((value: string) => issuer.audiences.has(value))) {
    const got = audiences.slice(0, MAX_LISTED).map(quote).join(', ');
    throw new IdentityError(
      'wrong_audience',
      `token audience ${got || '(empty)'} is not accepted for issuer ${JSON.stringify(issuer.id)}; expected one of ${listAudiences(issuer.audiences)}`,
    );
  }

  checkAuthorizedParty(payload.azp, audiences, issuer);

  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new IdentityError('missing_claim', 'token has no sub claim (a non-empty string)');

  const jti = payload.jti;
  if (jti !== undefined && typeof jti !== 'string') throw new IdentityError('malformed', 'claim jti is not a string');

  return { subject: sub, expiresAt: exp, tokenId: jti, validUntil };
}

/**
 * OIDC Core 3.1.3.7: a token that also names other audiences was issued to whoever `azp`
 * says, so `azp` must be there and be a party we accept; any `azp` present must be one.
 */
function checkAuthorizedParty(azp: unknown, audiences: readonly string[], issuer: TrustedIssuer): void {
  const foreign = audiences.some((value) => !issuer.audiences.has(value));
  if (azp === undefined) {
    if (!foreign) return;
    throw new IdentityError(
      'wrong_authorized_party',
      `token names audiences besides ours but no azp; issuer ${JSON.stringify(issuer.id)} needs azp to be one of ${listAudiences(issuer.authorizedParties)}`,
    );
  }
  if (typeof azp !== 'string') throw new IdentityError('malformed', 'claim azp is not a string');
  if (!issuer.authorizedParties.has(azp)) {
    throw new IdentityError(
      'wrong_authorized_party',
      `token azp ${quote(azp)} is not accepted for issuer ${JSON.stringify(issuer.id)}; expected one of ${listAudiences(issuer.authorizedParties)}`,
    );
  }
}
