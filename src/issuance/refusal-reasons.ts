import type { IdentityErrorCode } from '../identity/index.js';

/**
 * What an unauthenticated caller learns when its ID token is refused: a stable
 * reason code from this bounded set and a fixed sentence. The verifier's own message
 * (accepted audiences, issuer ids, algorithms, key-fetch errors) goes to the audit
 * record only; telling strangers the accepted audiences or which issuers are
 * configured helps them aim, and helps no legitimate client fix anything the reason
 * code does not already say.
 */
export const TOKEN_REFUSAL_REASONS: Readonly<Record<Exclude<IdentityErrorCode, 'jwks_unavailable'> | 'invalid_token', string>> = {
  malformed: 'the credential is not a well-formed ID token',
  untrusted_issuer: 'the token was issued by an issuer this broker does not trust',
  unsupported_alg: 'the token is signed with an algorithm this broker does not accept',
  unknown_key: 'the token is signed with a key its issuer does not publish',
  bad_signature: 'the token signature does not verify',
  expired: 'the token has expired',
  not_yet_valid: 'the token is not valid yet',
  too_old: 'the token was issued too long ago',
  issued_in_future: 'the token was issued in the future; check the clocks',
  wrong_audience: 'the token is not meant for this broker (audience)',
  missing_claim: 'the token lacks a required claim',
  wrong_type: 'the token is not an ID token (typ)',
  wrong_authorized_party: 'the token was issued to another party (azp)',
  lifetime_too_long: 'the token lifetime (exp - iat) is longer than this broker accepts',
  exchange_only: 'tokens of this issuer are accepted only through the token exchange',
  invalid_token: 'the token was refused',
};

export type TokenRefusalReason = keyof typeof TOKEN_REFUSAL_REASONS;

/** The one 503 reason: the issuer's keys could not be fetched. */
export const KEYS_UNAVAILABLE = { reason: 'keys_unavailable', message: "the issuer's signing keys cannot be fetched now; retry shortly" } as const;

/**
 * Maps a verifier error code to its public reason. The table is typed over every
 * verifier code, so a new one does not compile without its sentence; anything else
 * reaching here falls back to `invalid_token`.
 */
export function publicReason(code: string): TokenRefusalReason {
  return Object.hasOwn(TOKEN_REFUSAL_REASONS, code) ? (code as TokenRefusalReason) : 'invalid_token';
}
