/**
 * What an unauthenticated caller learns when its ID token is refused: a stable
 * reason code from this bounded set and a fixed sentence. The verifier's own message
 * (accepted audiences, issuer ids, algorithms, key-fetch errors) goes to the audit
 * record only; telling strangers the accepted audiences or which issuers are
 * configured helps them aim, and helps no legitimate client fix anything the reason
 * code does not already say.
 */
export const TOKEN_REFUSAL_REASONS = {
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
  invalid_token: 'the token was refused',
} as const;

export type TokenRefusalReason = keyof typeof TOKEN_REFUSAL_REASONS;

/** The one 503 reason: the issuer's keys could not be fetched. */
export const KEYS_UNAVAILABLE = { reason: 'keys_unavailable', message: "the issuer's signing keys cannot be fetched now; retry shortly" } as const;

/** Maps a verifier error code to its public reason; codes not listed (added later) fall back to `invalid_token`. */
export function publicReason(code: string): TokenRefusalReason {
  return Object.hasOwn(TOKEN_REFUSAL_REASONS, code) ? (code as TokenRefusalReason) : 'invalid_token';
}
