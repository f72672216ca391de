import { PortcullisError } from '../lib/index.js';

/** Why a token request was refused by the issuance pipeline itself. */
export type IssuanceErrorCode =
  /** A required parameter is missing or two disagree. */
  | 'invalid_request'
  /** `service` is not one this broker signs for. */
  | 'unknown_service'
  /** The grant type exists but is not enabled here. */
  | 'unsupported_grant'
  /** The presented credential did not verify; `detail.reason` says why. */
  | 'bad_credentials'
  /** The issuer's keys cannot be fetched right now: retry. */
  | 'verification_unavailable'
  /** A session whose issuer was removed from the configuration. */
  | 'issuer_untrusted'
  /** A single-use ID token came back. */
  | 'replayed';

export class IssuanceError extends PortcullisError<IssuanceErrorCode> {
  override readonly name = 'IssuanceError';
}
