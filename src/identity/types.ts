import { PortcullisError } from '../lib/index.js';

/** A verified caller. Only identity/ creates these, after every check passed. */
export interface Identity {
  /** The verified `iss`, exactly as in the token. */
  readonly issuer: string;
  /** The verified `sub`. */
  readonly subject: string;
  /** The whole verified payload (claims are data; policy decides what they mean). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Name of the configured issuer entry that accepted the token. */
  readonly issuerId: string;
  /** SHA-256 of the raw token, base64url: for audit, caches and replay checks; never log the token. */
  readonly tokenHash: string;
  /** `exp` of the ID token, seconds since the epoch. */
  readonly expiresAt: number;
  /**
   * The last second the verifier accepts the token, before clock skew: `exp`, or `iat` plus the
   * issuer's maxTokenAge when that comes first. Absent on identities rebuilt from a session.
   */
  readonly validUntil?: number;
  /** `jti` when the token has one. */
  readonly tokenId?: string;
}

/** Stable reasons a credential was refused; messages for people, codes for tests and metrics. */
export type IdentityErrorCode =
  | 'malformed'
  | 'untrusted_issuer'
  | 'unsupported_alg'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'issued_in_future'
  | 'wrong_audience'
  | 'missing_claim'
  | 'wrong_type'
  | 'wrong_authorized_party'
  | 'lifetime_too_long'
  | 'exchange_only'
  | 'jwks_unavailable';

export class IdentityError extends PortcullisError<IdentityErrorCode> {
  override readonly name = 'IdentityError';
}

/** How a token reached the broker: presented directly (Basic auth, password grant) or through an RFC 8693 exchange. */
export type Presentation = 'direct' | 'exchange';

export interface VerifyOptions {
  /** base64url SHA-256 of the token, when the caller already has it (saves hashing twice). */
  readonly tokenHash?: string;
  /** Default `direct`: issuers configured `exchangeOnly` refuse it. */
  readonly presentation?: Presentation;
  /**
   * Who is asking (client IP or another stable caller key). Bounds how many new issuers one
   * caller may make a wildcard entry discover; without it only the entry-wide bound applies.
   */
  readonly client?: string;
}

export interface IdentityVerifier {
  /**
   * Resolves to a verified Identity or rejects with IdentityError.
   * A string second argument is the token hash (the older form of `options.tokenHash`).
   */
  verify(token: string, options?: string | VerifyOptions): Promise<Identity>;
}
